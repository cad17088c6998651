//! Hub revisions as [`Checkpoint`]s: choosing the revisions of a `hf:` input, and opening each one by streaming,
//! from the hub cache, or by a verified download that is deleted once summarized.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use ccc_core::{Progress, StepSelection};
use ccc_summarize::local::WeightFiles;
use ccc_summarize::safetensors::SafetensorsStream;
use ccc_summarize::{Checkpoint, SummarizeError, TensorInfo, TensorSink, WeightSource};

use crate::client::HubClient;
use crate::download::{cached_snapshot, download_file, hub_error, repo_cache_dir, snapshot_dir};
use crate::error::{HubError, Result};
use crate::files::{safe_relative, CheckpointFiles, FileRole, MetaSource};
use crate::revision::{step_of, Family, RepoSpec, RevisionTemplate};
use crate::stream::{Prefetch, RemoteReader};

/// How weights reach the summarizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FetchMode {
    /// Stream single-file safetensors checkpoints; download the others.
    #[default]
    Auto,
    /// Stream when the weights are one safetensors file (others are downloaded).
    Stream,
    /// Always download to disk first.
    Download,
}

/// Which revisions of a repository to use when the input names none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RevisionSelector {
    /// Every branch that carries a step number (filtered by the step selection).
    #[default]
    All,
    /// These branch names.
    Named(Vec<String>),
}

/// Options of hub checkpoints.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Streaming or downloading.
    pub mode: FetchMode,
    /// Where downloads go (in the hub cache layout); default: the hub cache.
    pub download_dir: Option<PathBuf>,
    /// Keep downloaded files after summarizing.
    pub keep_downloads: bool,
    /// Revisions to use when the input has no `@REV`.
    pub revisions: RevisionSelector,
    /// How step numbers map to revision names, for repositories outside the known families.
    pub template: Option<RevisionTemplate>,
}

/// A step-bearing revision chosen for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenRevision {
    /// The step.
    pub step: i64,
    /// The branch name.
    pub name: String,
}

/// The step of a revision name: by the template when there is one, else by the public conventions.
fn step_for(name: &str, template: Option<&RevisionTemplate>) -> Option<i64> {
    match template {
        Some(t) => t.step(name),
        None => step_of(name),
    }
}

/// Choose the revisions of `spec`: its `@REV`, or the repository's branches that carry a step number, filtered by
/// `steps` (listed steps the hub lacks are simply absent from the result: the caller reports them). Two branches
/// with the same step are reported through `progress`, and the first name is used.
pub fn choose_revisions(
    client: &HubClient,
    spec: &RepoSpec,
    opts: &HubOptions,
    steps: &StepSelection,
    progress: &dyn Progress,
) -> Result<Vec<ChosenRevision>> {
    let template = opts.template.clone().or_else(|| Family::of(&spec.repo).and_then(Family::template));
    if let Some(rev) = &spec.revision {
        let step = step_for(rev, opts.template.as_ref()).or_else(|| step_of(rev)).ok_or_else(|| {
            HubError::Invalid(format!(
                "revision `{rev}` of `{}` carries no step number; name a step revision (`@step1000`), or use \
                 `--steps` / `--revisions all` without `@`, or `--revision-template` for another naming",
                spec.repo
            ))
        })?;
        return Ok(vec![ChosenRevision { step, name: rev.clone() }]);
    }
    let mut chosen: Vec<ChosenRevision> = match &opts.revisions {
        RevisionSelector::Named(names) => names
            .iter()
            .map(|n| {
                let step = step_for(n, opts.template.as_ref()).or_else(|| step_of(n)).ok_or_else(|| {
                    HubError::Invalid(format!("revision `{n}` carries no step number (see --revision-template)"))
                })?;
                Ok(ChosenRevision { step, name: n.clone() })
            })
            .collect::<Result<_>>()?,
        RevisionSelector::All => {
            let listed = steps.listed_steps();
            let only_listed = !listed.is_empty() && listed.iter().all(|&s| steps.contains(s)) && {
                // Only explicit steps (no ranges or filters): names follow from a template without listing.
                let probe: Vec<i64> = listed.iter().flat_map(|&s| [s - 1, s + 1]).collect();
                steps.filter(&probe).iter().all(|p| listed.contains(p))
            };
            match (&template, only_listed) {
                (Some(t), true) => listed.iter().map(|&s| ChosenRevision { step: s, name: t.name(s) }).collect(),
                _ => {
                    let branches = client.list_branches(&spec.repo)?;
                    let mut v: Vec<ChosenRevision> = branches
                        .into_iter()
                        .filter_map(|b| {
                            let step = step_for(&b.name, opts.template.as_ref())?;
                            Some(ChosenRevision { step, name: b.name })
                        })
                        .collect();
                    if v.is_empty() {
                        return Err(HubError::Invalid(format!(
                            "`{}` has no branch with a step number in its name (e.g. `step1000`); name a revision \
                             with `@REV` or give `--revision-template`",
                            spec.repo
                        )));
                    }
                    v.retain(|r| steps.contains(r.step));
                    v
                }
            }
        }
    };
    chosen.sort_by(|a, b| a.step.cmp(&b.step).then_with(|| a.name.cmp(&b.name)));
    let mut out: Vec<ChosenRevision> = Vec::with_capacity(chosen.len());
    for r in chosen {
        match out.last() {
            Some(prev) if prev.step == r.step => progress.warn(&format!(
                "hf:{}: revisions `{}` and `{}` both carry step {}; using `{}`",
                spec.repo, prev.name, r.name, r.step, prev.name
            )),
            _ => out.push(r),
        }
    }
    Ok(out)
}

/// One revision of a hub repository, summarized as a checkpoint.
pub struct HubCheckpoint {
    client: Arc<HubClient>,
    repo: String,
    revision: String,
    commit: String,
    step: i64,
    files: CheckpointFiles,
    opts: Arc<HubOptions>,
    config: OnceLock<serde_json::Value>,
    fetched: Mutex<Vec<PathBuf>>,
    /// Set by the last stream opened when its bytes failed the sha256 check.
    mismatch: Mutex<Option<Arc<AtomicBool>>>,
}

impl std::fmt::Debug for HubCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubCheckpoint").field("label", &self.label()).field("commit", &self.commit).finish()
    }
}

impl HubCheckpoint {
    /// Look up a revision's files on the hub: the listing, and for files it gives no size or sha256 (some
    /// mirrors), a `HEAD` of each one's `resolve` URL ([`HubClient::file_meta`]).
    pub fn new(client: Arc<HubClient>, repo: &str, revision: &ChosenRevision, opts: Arc<HubOptions>) -> Result<Self> {
        let info = client.revision_info(repo, &revision.name)?;
        let mut files = CheckpointFiles::choose(repo, &revision.name, &info)?;
        let bare: Vec<String> = files.lookups().map(|f| f.name.clone()).collect();
        for name in bare {
            // By commit, as the bytes will be read.
            let meta = client.file_meta(repo, &info.sha, &name)?;
            files.complete(&name, meta)?;
        }
        Ok(HubCheckpoint {
            client,
            repo: repo.to_string(),
            revision: revision.name.clone(),
            commit: info.sha,
            step: revision.step,
            files,
            opts,
            config: OnceLock::new(),
            fetched: Mutex::new(Vec::new()),
            mismatch: Mutex::new(None),
        })
    }

    /// The commit the revision points to.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The revision name.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The files the checkpoint needs.
    pub fn files(&self) -> &CheckpointFiles {
        &self.files
    }

    fn download_root(&self) -> PathBuf {
        self.opts.download_dir.clone().unwrap_or_else(|| self.client.config().cache_dir.clone())
    }

    /// A local snapshot with all the weights: the user's hub cache, or the download directory.
    pub fn local_snapshot(&self) -> Option<PathBuf> {
        let cache = &self.client.config().cache_dir;
        cached_snapshot(cache, &self.repo, &self.commit, &self.files)
            .or_else(|| cached_snapshot(&self.download_root(), &self.repo, &self.commit, &self.files))
    }

    fn err(&self, e: HubError) -> SummarizeError {
        SummarizeError::BadCheckpoint { path: PathBuf::from(self.label()), reason: e.to_string() }
    }

    fn open_stream(&self) -> std::result::Result<Box<dyn WeightSource>, SummarizeError> {
        let Some(file) = self.files.single_safetensors() else {
            return Err(self.err(HubError::Invalid("streaming needs a single safetensors file".into())));
        };
        let reader = RemoteReader::unhashed(self.client.clone(), &self.repo, &self.commit, file.expected());
        // Receive the next 2 MiB chunks while the summarizer works on the previous ones, and verify them on a
        // third thread.
        let prefetch = Prefetch::verified(reader, 2 << 20, 4, file.expected());
        if let Ok(mut m) = self.mismatch.lock() {
            *m = Some(prefetch.mismatch_flag());
        }
        let label = format!("{}/{}", self.label(), file.name);
        let inner = SafetensorsStream::new(prefetch, label.clone())?;
        Ok(Box::new(VerifiedStream { inner, label }))
    }

    fn open_download(&self) -> std::result::Result<Box<dyn WeightSource>, SummarizeError> {
        let dir = snapshot_dir(&self.download_root(), &self.repo, &self.commit);
        for f in self.files.files.iter().filter(|f| f.role != FileRole::Config) {
            let rel = safe_relative(&f.name).map_err(|e| self.err(e))?;
            let dest = dir.join(rel);
            let fetched = download_file(&self.client, &self.repo, &self.commit, f, &dest).map_err(|e| self.err(e))?;
            if fetched {
                if let Ok(mut v) = self.fetched.lock() {
                    v.push(dest);
                }
            }
        }
        WeightFiles::find(&dir)?.open()
    }
}

impl Checkpoint for HubCheckpoint {
    fn step(&self) -> i64 {
        self.step
    }

    fn label(&self) -> String {
        format!("hf:{}@{}", self.repo, self.revision)
    }

    fn config(&self) -> std::result::Result<serde_json::Value, SummarizeError> {
        if let Some(c) = self.config.get() {
            return Ok(c.clone());
        }
        let local = self.local_snapshot().map(|d| d.join("config.json")).filter(|p| p.is_file());
        let bytes = match local {
            Some(p) => std::fs::read(&p).map_err(|source| SummarizeError::Io { path: p, source })?,
            None => self.client.get_small(&self.repo, &self.commit, "config.json").map_err(|e| self.err(e))?,
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| SummarizeError::BadCheckpoint {
            path: PathBuf::from(format!("{}/config.json", self.label())),
            reason: format!("not valid JSON: {e}"),
        })?;
        Ok(self.config.get_or_init(|| value).clone())
    }

    fn size_hint(&self) -> u64 {
        self.files.weight_bytes()
    }

    fn open(&self) -> std::result::Result<Box<dyn WeightSource>, SummarizeError> {
        if let Some(dir) = self.local_snapshot() {
            return WeightFiles::find(&dir)?.open();
        }
        let stream = matches!(self.opts.mode, FetchMode::Auto | FetchMode::Stream);
        if stream && self.files.single_safetensors().is_some() {
            self.open_stream()
        } else {
            self.open_download()
        }
    }

    fn content_id(&self) -> Option<String> {
        self.files.content_id()
    }

    /// A streamed file is only checked at its end, after its rows were summarized: when the check fails, the
    /// checkpoint is streamed and summarized again, within the retry budget (as a download is fetched again).
    fn retry_after(&self, _err: &SummarizeError, attempt: u32) -> bool {
        let mismatched = self
            .mismatch
            .lock()
            .ok()
            .and_then(|mut m| m.take())
            .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::SeqCst));
        mismatched && attempt < self.client.config().retry.attempts.clamp(1, 3)
    }

    fn done(&self) -> std::result::Result<(), SummarizeError> {
        let fetched = self.fetched.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
        if self.opts.keep_downloads {
            if !fetched.is_empty() {
                // Record the revision → commit mapping as the hub cache layout does, so later runs find it.
                let refs = repo_cache_dir(&self.download_root(), &self.repo).join("refs");
                let path = refs.join(&self.revision);
                if safe_relative(&self.revision).is_ok() {
                    std::fs::create_dir_all(path.parent().unwrap_or(&refs))
                        .and_then(|_| std::fs::write(&path, &self.commit))
                        .map_err(|source| SummarizeError::Io { path: path.clone(), source })?;
                }
            }
            return Ok(());
        }
        for f in &fetched {
            std::fs::remove_file(f).map_err(|source| SummarizeError::Io { path: f.clone(), source })?;
        }
        if let Some(first) = fetched.first() {
            // Remove directories the download created, up to the repository folder, when they are empty.
            let stop = repo_cache_dir(&self.download_root(), &self.repo);
            let mut dir = first.parent();
            while let Some(d) = dir {
                if std::fs::remove_dir(d).is_err() || d == stop {
                    break;
                }
                dir = d.parent();
            }
        }
        Ok(())
    }
}

/// A streamed safetensors file whose bytes are verified against the hub's sha256 before the stream counts as done.
struct VerifiedStream {
    inner: SafetensorsStream<Prefetch>,
    label: String,
}

impl WeightSource for VerifiedStream {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn tensors(&self) -> &[TensorInfo] {
        self.inner.tensors()
    }

    fn total_bytes(&self) -> u64 {
        self.inner.total_bytes()
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> std::result::Result<(), SummarizeError> {
        self.inner.stream(sink, chunk_bytes)?;
        // Read to the end (normally nothing is left after the last tensor): the end is where the hash is checked.
        io::copy(self.inner.get_mut(), &mut io::sink()).map_err(|e| SummarizeError::BadWeights {
            path: PathBuf::from(&self.label),
            reason: hub_error(e, Path::new(&self.label)).to_string(),
        })?;
        Ok(())
    }
}

/// The one notice for checkpoints whose listing had no sizes or hashes (see [`MetaSource::ResolveHeaders`]):
/// how many files' sizes came from the `resolve` answers, and how many of them are verified by a sha256.
/// `None` when the listing had everything.
pub fn listing_notice<'a>(repo: &str, checkpoints: impl IntoIterator<Item = &'a HubCheckpoint>) -> Option<String> {
    let looked_up: Vec<&crate::files::NeededFile> = checkpoints
        .into_iter()
        .flat_map(|c| c.files.files.iter())
        .filter(|f| f.source == MetaSource::ResolveHeaders)
        .collect();
    if looked_up.is_empty() {
        return None;
    }
    let weights = looked_up.iter().filter(|f| f.role == FileRole::Weights);
    let (hashed, unhashed) = weights.fold((0, 0), |(h, u), f| if f.sha256.is_some() { (h + 1, u) } else { (h, u + 1) });
    Some(format!(
        "hf:{repo}: the hub's file listing has no sizes or hashes (as on some mirrors and older hub-compatible \
         servers): took the sizes of {} files from their `resolve` answers; of the weight files, {hashed} verified \
         by the sha256 in `X-Linked-Etag`, {unhashed} by their size only",
        looked_up.len()
    ))
}

/// Resolve one `hf:` input into checkpoints: choose its revisions, then look up each revision's files (one API
/// request per revision, and a `HEAD` per file the listing gives no size or hash). Nothing is downloaded here. A
/// listing without sizes or hashes is reported once through `progress` ([`listing_notice`]).
pub fn resolve(
    client: &Arc<HubClient>,
    spec: &RepoSpec,
    opts: &Arc<HubOptions>,
    steps: &StepSelection,
    progress: &dyn Progress,
) -> Result<Vec<HubCheckpoint>> {
    let chosen = choose_revisions(client, spec, opts, steps, progress)?;
    progress.start(&format!("hf:{}", spec.repo), chosen.len() as u64, "revisions");
    let mut out = Vec::with_capacity(chosen.len());
    for r in &chosen {
        let ck = HubCheckpoint::new(client.clone(), &spec.repo, r, opts.clone());
        progress.advance(1);
        match ck {
            Ok(ck) => out.push(ck),
            Err(e) => {
                progress.finish();
                return Err(e);
            }
        }
    }
    progress.finish();
    if let Some(notice) = listing_notice(&spec.repo, &out) {
        progress.warn(&notice);
    }
    Ok(out)
}
