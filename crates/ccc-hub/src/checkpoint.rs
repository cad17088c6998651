//! Hub revisions as [`Checkpoint`]s: choosing the revisions of a `hf:` input, and opening each one by streaming,
//! from the hub cache, or by a verified download that is deleted once summarized.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use ccc_core::step_name::{check_series, series_spans, SkipReason};
use ccc_core::{NameFilter, Progress, StepName, StepSelection};
use ccc_summarize::local::WeightFiles;
use ccc_summarize::{Checkpoint, SafetensorsStream, SummarizeError, TensorInfo, TensorSink, WeightSource};

use crate::client::HubClient;
use crate::download::{cached_snapshot, download_file, hub_error, repo_cache_dir, snapshot_dir};
use crate::error::{HubError, Result};
use crate::files::{safe_relative, CheckpointFiles, FileRole, MetaSource};
use crate::revision::{Family, RepoSpec, RevisionTemplate};
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
    /// Every branch or tag that carries a step number (filtered by the step selection).
    #[default]
    All,
    /// These revision names (no listing needed).
    Named(Vec<String>),
    /// The step-bearing branches and tags whose names these globs match (e.g. `stage2-ingredient1-*`: one series).
    Matching(NameFilter),
}

impl RevisionSelector {
    /// The selector of a `--revisions` filter: every revision, a plain list of names, or globs.
    pub fn from_filter(filter: &NameFilter) -> Self {
        match filter.literal_names() {
            _ if filter.is_all() => RevisionSelector::All,
            Some(names) => RevisionSelector::Named(names.to_vec()),
            None => RevisionSelector::Matching(filter.clone()),
        }
    }
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
    /// The branch or tag name.
    pub name: String,
    /// What the name says: its series and stage besides the step.
    pub parsed: StepName,
}

/// A branch or tag of a listed repository that is not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRevision {
    /// The branch or tag.
    pub name: String,
    /// Why.
    pub reason: SkipReason,
}

/// The revisions chosen for an input, and the listed ones passed over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chosen {
    /// The chosen revisions, in (stage, step) order.
    pub revisions: Vec<ChosenRevision>,
    /// Branches and tags without a step number (`main`, `fp32`, `it-SFT`), when the repository was listed.
    pub skipped: Vec<SkippedRevision>,
    /// Whether the revisions came from listing the repository (rather than from `@REV`, names or a template):
    /// then one without weights is passed over, not an error.
    pub listed: bool,
}

/// What a revision name says: by the template when there is one (the template is the series), else by the
/// conventions of [`ccc_core::step_name`].
fn parse_name(name: &str, template: Option<&RevisionTemplate>) -> Option<StepName> {
    match template {
        Some(t) => t.step(name).map(|step| StepName { step, stage: 0, tokens: None, series: t.glob() }),
        None => StepName::parse(name),
    }
}

fn chosen(name: String, parsed: StepName) -> ChosenRevision {
    ChosenRevision { step: parsed.step, name, parsed }
}

/// Choose the revisions of `spec`: its `@REV`, the names or globs of `opts.revisions`, or the repository's branches
/// and tags that carry a step number, filtered by `steps` (listed steps the hub lacks are simply absent from the
/// result: the caller reports them). Two revisions of one series with the same step are reported through
/// `progress`, and the first name is used. Revisions of several series are all returned (see
/// [`ccc_core::step_name::check_series`], which [`resolve`] applies).
pub fn choose_revisions(
    client: &HubClient,
    spec: &RepoSpec,
    opts: &HubOptions,
    steps: &StepSelection,
    progress: &dyn Progress,
) -> Result<Chosen> {
    let template = opts.template.clone().or_else(|| Family::of(&spec.repo).and_then(Family::template));
    let explicit = |n: &str| parse_name(n, opts.template.as_ref()).or_else(|| StepName::parse(n));
    if let Some(rev) = &spec.revision {
        let parsed = explicit(rev).ok_or_else(|| {
            HubError::Invalid(format!(
                "revision `{rev}` of `{}` carries no step number; name a step revision (`@step1000`), or use \
                 `--steps` / `--revisions all` without `@`, or `--revision-template` for another naming",
                spec.repo
            ))
        })?;
        return Ok(Chosen { revisions: vec![chosen(rev.clone(), parsed)], ..Chosen::default() });
    }
    let mut out = Chosen::default();
    let mut revisions: Vec<ChosenRevision> = match &opts.revisions {
        RevisionSelector::Named(names) => names
            .iter()
            .map(|n| {
                let parsed = explicit(n).ok_or_else(|| {
                    HubError::Invalid(format!("revision `{n}` carries no step number (see --revision-template)"))
                })?;
                Ok(chosen(n.clone(), parsed))
            })
            .collect::<Result<_>>()?,
        selector => {
            let listed = steps.listed_steps();
            let only_listed = !listed.is_empty() && listed.iter().all(|&s| steps.contains(s)) && {
                // Only explicit steps (no ranges or filters): names follow from a template without listing.
                let probe: Vec<i64> = listed.iter().flat_map(|&s| [s - 1, s + 1]).collect();
                steps.filter(&probe).iter().all(|p| listed.contains(p))
            };
            match (&template, only_listed, selector) {
                (Some(t), true, RevisionSelector::All) => listed
                    .iter()
                    .map(|&s| chosen(t.name(s), StepName { step: s, stage: 0, tokens: None, series: t.glob() }))
                    .collect(),
                _ => {
                    out.listed = true;
                    let mut v = Vec::new();
                    for r in client.list_refs(&spec.repo)? {
                        match parse_name(&r.name, opts.template.as_ref()) {
                            Some(parsed) => v.push(chosen(r.name, parsed)),
                            None => out.skipped.push(SkippedRevision { name: r.name, reason: SkipReason::NoStep }),
                        }
                    }
                    if v.is_empty() {
                        return Err(HubError::Invalid(format!(
                            "`{}` has no branch with a step number in its name (e.g. `step1000`); name a revision \
                             with `@REV` or give `--revision-template`",
                            spec.repo
                        )));
                    }
                    if let RevisionSelector::Matching(filter) = selector {
                        let series = series_spans(v.iter().map(|r| &r.parsed));
                        v.retain(|r| filter.matches(&r.name));
                        if v.is_empty() {
                            let list: Vec<String> = series.iter().map(|s| s.to_string()).collect();
                            return Err(HubError::Invalid(format!(
                                "no revision of `{}` matches `--revisions {filter}`; its step revisions are {}",
                                spec.repo,
                                list.join(", ")
                            )));
                        }
                    }
                    v.retain(|r| steps.contains(r.step));
                    v
                }
            }
        }
    };
    revisions.sort_by(|a, b| {
        (a.parsed.order(), &a.parsed.series, &a.name).cmp(&(b.parsed.order(), &b.parsed.series, &b.name))
    });
    for r in revisions {
        match out.revisions.last() {
            Some(prev) if prev.step == r.step && prev.parsed.series == r.parsed.series => progress.warn(&format!(
                "hf:{}: revisions `{}` and `{}` both carry step {}; using `{}`",
                spec.repo, prev.name, r.name, r.step, prev.name
            )),
            _ => out.revisions.push(r),
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
        let (commit, files) = CheckpointFiles::look_up(&client, repo, &revision.name)?;
        Ok(HubCheckpoint {
            client,
            repo: repo.to_string(),
            revision: revision.name.clone(),
            commit,
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

/// The checkpoints of an input, and the revisions passed over.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The checkpoints, in step order.
    pub checkpoints: Vec<HubCheckpoint>,
    /// Branches and tags of a listed repository that are not used: no step number in their name, or no weights.
    pub skipped: Vec<SkippedRevision>,
}

/// Look up the files of each chosen revision (one API request each, and a `HEAD` per file the listing gives no
/// size or hash, reported once through `progress`: [`listing_notice`]). A listed revision without weights is
/// passed over; one named explicitly is an error.
pub fn open_revisions(
    client: &Arc<HubClient>,
    repo: &str,
    chosen: Chosen,
    opts: &Arc<HubOptions>,
    progress: &dyn Progress,
) -> Result<Resolved> {
    progress.start(&format!("hf:{repo}"), chosen.revisions.len() as u64, "revisions");
    let mut out = Resolved { checkpoints: Vec::with_capacity(chosen.revisions.len()), skipped: chosen.skipped };
    for r in &chosen.revisions {
        let ck = HubCheckpoint::new(client.clone(), repo, r, opts.clone());
        progress.advance(1);
        match ck {
            Ok(ck) => out.checkpoints.push(ck),
            Err(HubError::NoWeights { .. }) if chosen.listed => {
                out.skipped.push(SkippedRevision { name: r.name.clone(), reason: SkipReason::NoWeights })
            }
            Err(e) => {
                progress.finish();
                return Err(e);
            }
        }
    }
    progress.finish();
    if let Some(notice) = listing_notice(repo, &out.checkpoints) {
        progress.warn(&notice);
    }
    Ok(out)
}

/// Resolve one `hf:` input into checkpoints: choose its revisions ([`choose_revisions`]), check that they do
/// not mix series whose steps repeat or restart ([`check_series`]: the error names the series and how to choose
/// one with `--revisions`), then look up each revision's files ([`open_revisions`]). Nothing is downloaded here.
pub fn resolve(
    client: &Arc<HubClient>,
    spec: &RepoSpec,
    opts: &Arc<HubOptions>,
    steps: &StepSelection,
    progress: &dyn Progress,
) -> Result<Resolved> {
    let chosen = choose_revisions(client, spec, opts, steps, progress)?;
    check_series(chosen.revisions.iter().map(|r| &r.parsed))?;
    open_revisions(client, &spec.repo, chosen, opts, progress)
}
