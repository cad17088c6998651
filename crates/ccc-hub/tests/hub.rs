//! The hub client against a real HTTP hub on loopback (`ccc_hub_testing::HubServer`): streamed and downloaded
//! weights equal the files on disk, every injected fault is survived or reported clearly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ccc_core::progress::RecordingProgress;
use ccc_core::step_name::SkipReason;
use ccc_core::{NoProgress, StepSelection};
use ccc_hub::{
    FetchMode, HubCheckpoint, HubClient, HubConfig, HubError, HubOptions, RepoSpec, RetryPolicy, RevisionSelector,
    Token,
};
use ccc_hub_testing::{Corrupt, Faults, HubServer, Listing, Resolve, TestRepo};
use ccc_summarize::{Checkpoint, SafetensorsFile, SummarizeError, TensorInfo, TensorSink, WeightSource};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures/tiny-neox")
}

/// Every tensor's bytes, as a source delivers them.
#[derive(Default)]
struct Collect(BTreeMap<String, Vec<u8>>);

impl TensorSink for Collect {
    fn wants(&self, _: &TensorInfo) -> bool {
        true
    }
    fn rows(&mut self, info: &TensorInfo, _first: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        self.0.entry(info.name.clone()).or_default().extend_from_slice(bytes);
        Ok(())
    }
}

fn collect(src: &mut dyn WeightSource) -> Result<BTreeMap<String, Vec<u8>>, SummarizeError> {
    let mut c = Collect::default();
    src.stream(&mut c, 4096)?;
    Ok(c.0)
}

fn local(step: i64) -> BTreeMap<String, Vec<u8>> {
    let mut f = SafetensorsFile::open(&fixtures().join(format!("step{step}/model.safetensors"))).unwrap();
    collect(&mut f).unwrap()
}

struct Setup {
    server: HubServer,
    client: Arc<HubClient>,
    tmp: tempfile::TempDir,
}

fn neox_repo(name: &str) -> TestRepo {
    let mut repo = TestRepo::from_step_dirs(name, &fixtures(), &|s| format!("step{s}")).unwrap();
    // Files a checkpoint must never download.
    let cfg = std::fs::read(fixtures().join("step1000/config.json")).unwrap();
    let weights = std::fs::read(fixtures().join("step1000/model.safetensors")).unwrap();
    repo.branch(
        "step3000",
        vec![
            ("config.json".into(), cfg),
            ("model.safetensors".into(), weights),
            ("optimizer.pt".into(), vec![7u8; 4096]),
            ("training_args.bin".into(), vec![1u8; 100]),
        ],
    );
    repo
}

fn setup(faults: Faults, token: Option<&str>) -> Setup {
    let gated = neox_repo("org/gated").gated("hf_test_secret");
    let server = HubServer::start_with(vec![neox_repo("org/tiny-neox"), gated], faults).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = HubConfig {
        endpoint: server.endpoint(),
        token: token.and_then(Token::new),
        cache_dir: tmp.path().join("hub-cache"),
        retry: RetryPolicy { timeout: Duration::from_millis(700), attempts: 4, backoff: Duration::from_millis(20) },
    };
    Setup { server, client: Arc::new(HubClient::new(config)), tmp }
}

fn opts(mode: FetchMode, s: &Setup) -> Arc<HubOptions> {
    Arc::new(HubOptions { mode, download_dir: Some(s.tmp.path().join("dl")), ..HubOptions::default() })
}

fn checkpoints(s: &Setup, spec: &str, steps: &str, o: &Arc<HubOptions>) -> Result<Vec<HubCheckpoint>, HubError> {
    let spec: RepoSpec = spec.parse().unwrap();
    ccc_hub::resolve(&s.client, &spec, o, &steps.parse::<StepSelection>().unwrap(), &NoProgress).map(|r| r.checkpoints)
}

fn content_requests(s: &Setup) -> Vec<ccc_hub_testing::RequestLog> {
    s.server.requests().into_iter().filter(|r| r.path.starts_with("/cdn/")).collect()
}

#[test]
fn streamed_and_downloaded_weights_equal_the_files() {
    let s = setup(Faults::default(), None);
    for mode in [FetchMode::Stream, FetchMode::Download] {
        let o = opts(mode, &s);
        let cks = checkpoints(&s, "hf:org/tiny-neox", "0,16,2000", &o).unwrap();
        assert_eq!(cks.iter().map(|c| c.step()).collect::<Vec<_>>(), vec![0, 16, 2000]);
        for ck in &cks {
            let disk = std::fs::metadata(fixtures().join(format!("step{}/model.safetensors", ck.step()))).unwrap();
            assert_eq!(ck.size_hint(), disk.len());
            let cfg: serde_json::Value = serde_json::from_slice(
                &std::fs::read(fixtures().join(format!("step{}/config.json", ck.step()))).unwrap(),
            )
            .unwrap();
            assert_eq!(ck.config().unwrap(), cfg);
            let mut src = ck.open().unwrap();
            assert_eq!(collect(src.as_mut()).unwrap(), local(ck.step()), "{mode:?} step {}", ck.step());
            ck.done().unwrap();
        }
        // Downloads are deleted once summarized.
        let left: Vec<_> = walk(&s.tmp.path().join("dl"));
        assert!(left.is_empty(), "{mode:?} left {left:?}");
    }
    // Content requests never carried the token's header (they go to another origin), and the resolve
    // requests were answered with redirects.
    assert!(!content_requests(&s).is_empty());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn downloads_only_config_and_weights() {
    let s = setup(Faults::default(), None);
    let o = opts(FetchMode::Download, &s);
    let cks = checkpoints(&s, "hf:org/tiny-neox@step3000", "all", &o).unwrap();
    assert_eq!(cks.len(), 1);
    let names: Vec<&str> = cks[0].files().files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["config.json", "model.safetensors"]);
    cks[0].config().unwrap();
    let mut src = cks[0].open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(1000));
    for r in s.server.requests() {
        assert!(!r.path.contains("optimizer") && !r.path.contains("training_args"), "{r:?}");
    }
}

#[test]
fn keep_downloads_then_reuse_from_the_cache() {
    let s = setup(Faults::default(), None);
    let cache = s.tmp.path().join("hub-cache");
    let o = Arc::new(HubOptions { mode: FetchMode::Download, keep_downloads: true, ..HubOptions::default() });
    let ck = checkpoints(&s, "hf:org/tiny-neox@step4", "all", &o).unwrap().remove(0);
    let mut src = ck.open().unwrap();
    collect(src.as_mut()).unwrap();
    ck.done().unwrap();
    let snap = cache.join("models--org--tiny-neox/snapshots").join(ck.commit()).join("model.safetensors");
    assert!(snap.is_file());
    assert_eq!(std::fs::read_to_string(cache.join("models--org--tiny-neox/refs/step4")).unwrap(), ck.commit());
    let before = content_requests(&s).len();
    // A second run reads the hub cache: no content request, and even streaming mode reads the local file.
    let o = Arc::new(HubOptions { mode: FetchMode::Stream, ..HubOptions::default() });
    let ck = checkpoints(&s, "hf:org/tiny-neox@step4", "all", &o).unwrap().remove(0);
    assert!(ck.local_snapshot().is_some());
    let mut src = ck.open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(4));
    ck.done().unwrap();
    assert!(snap.is_file(), "files found in the cache are never deleted");
    assert_eq!(content_requests(&s).len(), before);
}

#[test]
fn a_connection_cut_mid_file_resumes_with_range() {
    for mode in [FetchMode::Stream, FetchMode::Download] {
        let s = setup(Faults { cut_once_at: Some(100_000), ..Faults::default() }, None);
        let ck = checkpoints(&s, "hf:org/tiny-neox@step1000", "all", &opts(mode, &s)).unwrap().remove(0);
        let mut src = ck.open().unwrap();
        assert_eq!(collect(src.as_mut()).unwrap(), local(1000), "{mode:?}");
        let ranges: Vec<_> = content_requests(&s).into_iter().filter_map(|r| r.range).collect();
        assert_eq!(ranges, vec!["bytes=100000-".to_string()], "{mode:?}");
    }
}

#[test]
fn a_500_and_a_stall_are_retried() {
    let faults = Faults { error_500_once: true, stall_once: Some(Duration::from_secs(3)), ..Faults::default() };
    let s = setup(faults, None);
    let ck = checkpoints(&s, "hf:org/tiny-neox@step8", "all", &opts(FetchMode::Stream, &s)).unwrap().remove(0);
    ck.config().unwrap();
    let mut src = ck.open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(8));
    let statuses: Vec<u16> = s.server.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&500));
    assert!(content_requests(&s).len() >= 2, "the stalled request was given up and retried");
}

#[test]
fn corruption_is_retried_then_reported() {
    // Once: the download is checked, found wrong, and fetched again.
    let s = setup(Faults { corrupt: Corrupt::Once, ..Faults::default() }, None);
    let ck = checkpoints(&s, "hf:org/tiny-neox@step32", "all", &opts(FetchMode::Download, &s)).unwrap().remove(0);
    let mut src = ck.open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(32));
    assert_eq!(content_requests(&s).len(), 2);

    // Always: one clear error after the retries, no file left behind.
    let s = setup(Faults { corrupt: Corrupt::Always, ..Faults::default() }, None);
    let ck = checkpoints(&s, "hf:org/tiny-neox@step32", "all", &opts(FetchMode::Download, &s)).unwrap().remove(0);
    let err = ck.open().err().expect("corrupt download must fail").to_string();
    assert!(err.contains("sha256 mismatch") && err.contains("model.safetensors"), "{err}");
    assert!(walk(&s.tmp.path().join("dl")).is_empty());

    // Streaming cannot take bytes back: a source that found the mismatch at its end is refused with the same
    // clear error…
    let s = setup(Faults { corrupt: Corrupt::Always, ..Faults::default() }, None);
    let ck = checkpoints(&s, "hf:org/tiny-neox@step32", "all", &opts(FetchMode::Stream, &s)).unwrap().remove(0);
    // (Read-ahead may reach the end of a small file, and so the check, while the header is being read.)
    let err = match ck.open() {
        Ok(mut src) => collect(src.as_mut()).expect_err("corrupt stream must fail"),
        Err(e) => e,
    }
    .to_string();
    assert!(err.contains("sha256 mismatch") && !err.contains("truncated"), "{err}");
}

/// Summarize streamed checkpoints with the run driver into `dir`; the full tensor.
fn run_stream(s: &Setup, dir: &Path) -> Result<ccc_core::CccTensor, SummarizeError> {
    let cks = checkpoints(s, "hf:org/tiny-neox", "32,1000", &opts(FetchMode::Stream, s)).unwrap();
    let cks: Vec<Box<dyn Checkpoint>> = cks.into_iter().map(|c| Box::new(c) as Box<dyn Checkpoint>).collect();
    let out = dir.join("x.full.safetensors");
    let o = ccc_summarize::Output { mode: ccc_core::Mode::Full, path: out.clone() };
    let mut ro = ccc_summarize::RunOptions::new(vec![o], "tiny-neox");
    ro.jobs = std::num::NonZeroUsize::new(1);
    ccc_summarize::run(&cks, &ro, &NoProgress)?;
    Ok(ccc_core::file::read(&out).unwrap())
}

#[test]
fn a_corrupt_stream_is_summarized_again_then_reported() {
    // Once: the first stream's column is discarded, the checkpoint streamed again; the result is the clean one.
    let clean = setup(Faults::default(), None);
    let want = run_stream(&clean, clean.tmp.path()).unwrap();
    let s = setup(Faults { corrupt: Corrupt::Once, ..Faults::default() }, None);
    let got = run_stream(&s, s.tmp.path()).unwrap();
    assert_eq!(got.mags, want.mags);
    assert_eq!(got.filled, vec![true, true]);
    assert_eq!(content_requests(&s).len(), 3, "two checkpoints, one of them streamed twice");

    // Always: a clear error after 3 attempts, and no output file left behind.
    let s = setup(Faults { corrupt: Corrupt::Always, ..Faults::default() }, None);
    let err = run_stream(&s, s.tmp.path()).unwrap_err().to_string();
    assert!(err.contains("sha256 mismatch") && err.contains("model.safetensors"), "{err}");
    assert_eq!(content_requests(&s).len(), 3);
    assert!(!s.tmp.path().join("x.full.safetensors").exists());
}

#[test]
fn gated_repositories_need_the_token_and_it_stays_on_the_hub() {
    let s = setup(Faults::default(), None);
    let ck = checkpoints(&s, "hf:org/gated@step0", "all", &opts(FetchMode::Stream, &s)).unwrap().remove(0);
    let err = ck.config().unwrap_err().to_string();
    assert!(err.contains("HF_TOKEN") && err.contains("huggingface-cli login"), "{err}");

    let s = setup(Faults::default(), Some("hf_wrong"));
    let ck = checkpoints(&s, "hf:org/gated@step0", "all", &opts(FetchMode::Stream, &s)).unwrap().remove(0);
    let err = ck.config().unwrap_err().to_string();
    assert!(err.contains("refused the token") && !err.contains("hf_wrong"), "{err}");

    let s = setup(Faults::default(), Some("hf_test_secret"));
    let ck = checkpoints(&s, "hf:org/gated@step0", "all", &opts(FetchMode::Stream, &s)).unwrap().remove(0);
    ck.config().unwrap();
    let mut src = ck.open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(0));
    let reqs = s.server.requests();
    assert!(reqs.iter().filter(|r| r.path.contains("/resolve/")).all(|r| r.authorized));
    let cdn: Vec<_> = reqs.iter().filter(|r| r.path.starts_with("/cdn/")).collect();
    assert!(!cdn.is_empty() && cdn.iter().all(|r| !r.authorized), "the token must not follow the redirect");
}

#[test]
fn missing_revisions_and_repositories_are_clear() {
    let s = setup(Faults::default(), None);
    let err = checkpoints(&s, "hf:org/tiny-neox@step1100", "all", &opts(FetchMode::Stream, &s)).unwrap_err();
    match &err {
        HubError::RevisionNotFound { near, .. } => assert_eq!(near[..2], ["step1000".to_string(), "step1500".into()]),
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains("step1000"));
    let err = checkpoints(&s, "hf:org/nope", "all", &opts(FetchMode::Stream, &s)).unwrap_err();
    assert!(matches!(err, HubError::NeedsToken { .. }), "{err}");
    // Steps asked for but absent are left out (the caller reports them); the others are used.
    let spec: RepoSpec = "hf:org/tiny-neox".parse().unwrap();
    let o = opts(FetchMode::Stream, &s);
    let sel: StepSelection = "0,5,2000..".parse().unwrap();
    let cks = ccc_hub::resolve(&s.client, &spec, &o, &sel, &NoProgress).unwrap().checkpoints;
    assert_eq!(cks.iter().map(|c| c.step()).collect::<Vec<_>>(), vec![0, 2000, 3000]);
}

#[test]
fn duplicates_are_known_before_download() {
    let s = setup(Faults::default(), None);
    let cks = checkpoints(&s, "hf:org/tiny-neox", "%1000==0", &opts(FetchMode::Stream, &s)).unwrap();
    let ids: BTreeMap<i64, Option<String>> = cks.iter().map(|c| (c.step(), c.content_id())).collect();
    assert_eq!(ids.keys().copied().collect::<Vec<_>>(), vec![0, 1000, 2000, 3000]);
    assert_eq!(ids[&1000], ids[&3000], "step3000 serves step1000's weights");
    assert_ne!(ids[&1000], ids[&2000]);
    assert!(ids.values().all(Option::is_some));
    assert!(content_requests(&s).is_empty(), "nothing downloaded to find duplicates");
}

#[test]
fn revision_templates_name_other_series() {
    let mut repo = TestRepo::new("org/megatron");
    for step in [0i64, 500, 1000] {
        let d = fixtures().join(format!("step{}", [0, 512, 1000][(step / 500) as usize]));
        repo.branch(
            &format!("iter_{step:07}"),
            vec![
                ("config.json".into(), std::fs::read(d.join("config.json")).unwrap()),
                ("model.safetensors".into(), std::fs::read(d.join("model.safetensors")).unwrap()),
            ],
        );
    }
    let server = HubServer::start(vec![repo]).unwrap();
    let env = |k: &str| (k == "HF_ENDPOINT").then(|| server.endpoint());
    let client = Arc::new(HubClient::new(HubConfig::from_env(&env, None).unwrap()));
    let spec: RepoSpec = "hf:org/megatron".parse().unwrap();
    let o = Arc::new(HubOptions { template: Some("iter_{step:07}".parse().unwrap()), ..HubOptions::default() });
    // Explicit steps: names from the template, no listing.
    let cks = ccc_hub::resolve(&client, &spec, &o, &"500,1000".parse().unwrap(), &NoProgress).unwrap().checkpoints;
    assert_eq!(cks.iter().map(|c| c.revision().to_string()).collect::<Vec<_>>(), ["iter_0000500", "iter_0001000"]);
    // A filter: listed, then matched by the template.
    let cks = ccc_hub::resolve(&client, &spec, &o, &"%1000".parse().unwrap(), &NoProgress).unwrap().checkpoints;
    assert_eq!(cks.iter().map(|c| c.step()).collect::<Vec<_>>(), [0, 1000]);
}

#[test]
fn a_partial_download_from_an_earlier_run_is_continued() {
    let s = setup(Faults::default(), None);
    let o = opts(FetchMode::Download, &s);
    let ck = checkpoints(&s, "hf:org/tiny-neox@step64", "all", &o).unwrap().remove(0);
    let full = std::fs::read(fixtures().join("step64/model.safetensors")).unwrap();
    let dir = s.tmp.path().join("dl/models--org--tiny-neox/snapshots").join(ck.commit());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.safetensors.ccc-part"), &full[..12345]).unwrap();
    let mut src = ck.open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(64));
    let ranges: Vec<_> = content_requests(&s).into_iter().filter_map(|r| r.range).collect();
    assert_eq!(ranges, ["bytes=12345-"]);
}

/// Checkpoints of `org/tiny-neox` resolved with a recording progress, and its warnings.
fn resolve_recorded(
    s: &Setup,
    steps: &str,
    o: &Arc<HubOptions>,
) -> (Result<Vec<HubCheckpoint>, HubError>, Vec<String>) {
    let spec: RepoSpec = "hf:org/tiny-neox".parse().unwrap();
    let progress = RecordingProgress::default();
    let got = ccc_hub::resolve(&s.client, &spec, o, &steps.parse::<StepSelection>().unwrap(), &progress)
        .map(|r| r.checkpoints);
    let warnings = progress.warnings.lock().unwrap().clone();
    (got, warnings)
}

/// A listing without `size`/`lfs` (some mirrors, older hub-compatible servers): the sizes come from the `resolve`
/// answers (`X-Linked-Size` of the hub's redirect, else `Content-Length`), the sha256 from `X-Linked-Etag` when the
/// server sends it, and one notice says so.
#[test]
fn listings_without_sizes_take_them_from_the_resolve_answers() {
    for resolve in [Resolve::Redirect, Resolve::Direct] {
        for mode in [FetchMode::Stream, FetchMode::Download] {
            let s = setup(Faults { listing: Listing::NamesOnly, resolve, ..Faults::default() }, None);
            let (cks, warnings) = resolve_recorded(&s, "0,16,2000", &opts(mode, &s));
            let cks = cks.unwrap();
            assert_eq!(cks.iter().map(|c| c.step()).collect::<Vec<_>>(), vec![0, 16, 2000]);
            assert_eq!(warnings.len(), 1, "one notice: {warnings:?}");
            assert!(warnings[0].contains("no sizes or hashes"), "{warnings:?}");
            for ck in &cks {
                let name = format!("step{}", ck.step());
                let disk = std::fs::metadata(fixtures().join(&name).join("model.safetensors")).unwrap();
                assert_eq!(ck.size_hint(), disk.len(), "{resolve:?} {mode:?}");
                let sha = ck.files().weights().next().unwrap().sha256.clone();
                match resolve {
                    Resolve::Redirect => {
                        assert_eq!(sha, s.server.sha256("org/tiny-neox", &name, "model.safetensors"));
                        assert!(ck.content_id().is_some(), "the sha256 identifies the weights");
                    }
                    Resolve::Direct => assert_eq!(sha, None, "no hash announced anywhere"),
                }
                let mut src = ck.open().unwrap();
                assert_eq!(collect(src.as_mut()).unwrap(), local(ck.step()), "{resolve:?} {mode:?} {name}");
                ck.done().unwrap();
            }
            match resolve {
                Resolve::Redirect => assert!(warnings[0].contains("3 verified by the sha256"), "{warnings:?}"),
                Resolve::Direct => assert!(warnings[0].contains("3 by their size only"), "{warnings:?}"),
            }
        }
    }
    // A complete listing asks nothing more and says nothing.
    let s = setup(Faults::default(), None);
    let (cks, warnings) = resolve_recorded(&s, "0,16", &opts(FetchMode::Stream, &s));
    assert_eq!(cks.unwrap().len(), 2);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(s.server.requests().iter().all(|r| r.method == "GET"), "no HEAD requests");
}

/// The sha256 announced by `X-Linked-Etag` is checked: a wrong one is a clear error, streamed or downloaded.
#[test]
fn a_wrong_linked_etag_is_a_sha256_mismatch() {
    let faults = || Faults { listing: Listing::NamesOnly, wrong_linked_etag: true, ..Faults::default() };
    let s = setup(faults(), None);
    let ck = resolve_recorded(&s, "32", &opts(FetchMode::Download, &s)).0.unwrap().remove(0);
    let err = ck.open().err().expect("a wrong sha256 must fail").to_string();
    assert!(err.contains("sha256 mismatch") && err.contains("model.safetensors"), "{err}");
    assert!(walk(&s.tmp.path().join("dl")).is_empty(), "nothing left behind");

    let s = setup(faults(), None);
    let ck = resolve_recorded(&s, "32", &opts(FetchMode::Stream, &s)).0.unwrap().remove(0);
    let err = match ck.open() {
        Ok(mut src) => collect(src.as_mut()).expect_err("a wrong sha256 must fail"),
        Err(e) => e,
    }
    .to_string();
    assert!(err.contains("sha256 mismatch"), "{err}");
}

/// config.json and model.safetensors of a tiny-neox fixture step, as a branch's files.
fn files_of(step: i64) -> Vec<(String, Vec<u8>)> {
    let d = fixtures().join(format!("step{step}"));
    ["config.json", "model.safetensors"].iter().map(|f| (f.to_string(), std::fs::read(d.join(f)).unwrap())).collect()
}

/// A server with `repos` and a client of it.
fn serve(repos: Vec<TestRepo>) -> (HubServer, Arc<HubClient>) {
    let server = HubServer::start(repos).unwrap();
    let env = |k: &str| (k == "HF_ENDPOINT").then(|| server.endpoint());
    let client = Arc::new(HubClient::new(HubConfig::from_env(&env, None).unwrap()));
    (server, client)
}

fn resolve_in(
    client: &Arc<HubClient>,
    repo: &str,
    revisions: &str,
    steps: &str,
) -> Result<ccc_hub::Resolved, HubError> {
    let spec: RepoSpec = format!("hf:{repo}").parse().unwrap();
    let filter: ccc_core::NameFilter = revisions.parse().unwrap();
    let o = Arc::new(HubOptions { revisions: RevisionSelector::from_filter(&filter), ..HubOptions::default() });
    ccc_hub::resolve(client, &spec, &o, &steps.parse().unwrap(), &NoProgress)
}

fn revisions_of(r: &ccc_hub::Resolved) -> Vec<String> {
    r.checkpoints.iter().map(|c| c.revision().to_string()).collect()
}

/// OLMo 2's branches: a pretraining stage and annealing "ingredients" that repeat step numbers. Mixing them is
/// refused with the series named; a glob picks one; branches without a step or weights are reported.
#[test]
fn series_of_revisions_are_chosen_by_glob() {
    let mut repo = TestRepo::new("org/olmo2");
    for (name, from) in [
        ("stage1-step0-tokens0B", 0),
        ("stage1-step1000-tokens5B", 1000),
        ("stage1-step2000-tokens9B", 2000),
        ("stage2-ingredient1-step0-tokens0B", 1),
        ("stage2-ingredient1-step1000-tokens5B", 2),
        ("stage2-ingredient2-step1000-tokens5B", 4),
        ("fp32", 0),
        ("it-SFT", 0),
    ] {
        repo.branch(name, files_of(from));
    }
    repo.branch("stage1-step3000-tokens13B", vec![("config.json".into(), b"{}".to_vec())]);
    let (_server, client) = serve(vec![repo]);

    let err = resolve_in(&client, "org/olmo2", "all", "all").unwrap_err().to_string();
    for want in [
        "`stage1-step*-tokens*` (4 names, steps 0..3000)",
        "`stage2-ingredient1-step*-tokens*` (2 names, steps 0..1000)",
        "`stage2-ingredient2-step*-tokens*` (1 name, step 1000)",
        "--revisions 'stage1-step*-tokens*'",
    ] {
        assert!(err.contains(want), "`{want}` in {err}");
    }

    let r = resolve_in(&client, "org/olmo2", "stage2-ingredient1-*", "all").unwrap();
    assert_eq!(revisions_of(&r), ["stage2-ingredient1-step0-tokens0B", "stage2-ingredient1-step1000-tokens5B"]);
    assert_eq!(r.checkpoints.iter().map(|c| c.step()).collect::<Vec<_>>(), [0, 1000]);

    let r = resolve_in(&client, "org/olmo2", "stage1-*", "1000..").unwrap();
    assert_eq!(revisions_of(&r), ["stage1-step1000-tokens5B", "stage1-step2000-tokens9B"]);
    let mut skipped: Vec<(String, SkipReason)> = r.skipped.iter().map(|s| (s.name.clone(), s.reason)).collect();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    let want = [
        ("fp32", SkipReason::NoStep),
        ("it-SFT", SkipReason::NoStep),
        ("main", SkipReason::NoStep),
        ("stage1-step3000-tokens13B", SkipReason::NoWeights),
    ];
    assert_eq!(skipped, want.map(|(n, r)| (n.to_string(), r)));

    // A selection of steps that happens not to mix series needs no choice.
    let r = resolve_in(&client, "org/olmo2", "all", "2000").unwrap();
    assert_eq!(revisions_of(&r), ["stage1-step2000-tokens9B"]);
    // A glob that matches nothing says what there is.
    let err = resolve_in(&client, "org/olmo2", "stage3-*", "all").unwrap_err().to_string();
    assert!(err.contains("no revision of `org/olmo2` matches `--revisions stage3-*`") && err.contains("stage1-step*"));
    // A revision named explicitly without weights is an error, not skipped.
    let err = resolve_in(&client, "org/olmo2", "stage1-step3000-tokens13B", "all").unwrap_err();
    assert!(matches!(err, HubError::NoWeights { .. }), "{err}");
}

/// BLOOM's intermediate checkpoints are tags (`global_step…`): listed and read like branches.
#[test]
fn tags_carry_steps_too() {
    let mut repo = TestRepo::new("org/bloom");
    repo.tag("global_step100", files_of(0)).tag("global_step200", files_of(1000));
    let (_server, client) = serve(vec![repo]);
    let r = resolve_in(&client, "org/bloom", "all", "all").unwrap();
    assert_eq!(revisions_of(&r), ["global_step100", "global_step200"]);
    let mut src = r.checkpoints[1].open().unwrap();
    assert_eq!(collect(src.as_mut()).unwrap(), local(1000));
}
