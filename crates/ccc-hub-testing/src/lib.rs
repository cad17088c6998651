//! # ccc-hub-testing: a small Hugging Face hub on loopback, for tests and benchmarks
//!
//! Real HTTP/1.1 with the hub's paths and headers, and fault injection. A crate of its own so that no build of
//! `ccc` or of the `ccc-hub` library compiles it: it is only a dev-dependency (of `ccc-hub` and `ccc-cli`), and
//! the benchmark scripts run its `hub_server` example. It is the other side of the wire from `ccc-hub` and uses
//! none of its code.
//!
//! Served routes (`GET`, and `HEAD` answered with the same headers):
//! - `/api/models/{org}/{name}/refs` — the branches;
//! - `/api/models/{org}/{name}/revision/{rev}` — commit and siblings (`rfilename`, `size`, `blobId`, `lfs`);
//! - `/{org}/{name}/resolve/{rev}/{file}` — small files directly; weight files (LFS) with a 302 to a content URL on
//!   a second port (another origin, so a client must not forward its token), with `X-Repo-Commit`, `ETag`,
//!   `X-Linked-Etag` and `X-Linked-Size`;
//! - `/cdn/{sha256}` on the content port — the bytes, with `Range` support (206 + `Content-Range`).
//!
//! A gated repository answers `resolve` with 401 (no token) or 403 (wrong token), `X-Error-Code: GatedRepo`.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Bytes of a served file: in memory or in a file on disk (for large checkpoints).
#[derive(Debug, Clone)]
pub enum Content {
    /// In memory.
    Bytes(Arc<Vec<u8>>),
    /// A file on disk, read per request.
    Path(PathBuf),
}

#[derive(Debug, Clone)]
struct ServedFile {
    name: String,
    content: Content,
    size: u64,
    sha256: String,
    lfs: bool,
}

/// A branch: name, commit, files.
type Branch = (String, String, Vec<ServedFile>);

/// A repository to serve.
#[derive(Debug, Clone)]
pub struct TestRepo {
    name: String,
    token: Option<String>,
    /// Branches and tags (a tag is a ref whose name is in `tags`).
    branches: Vec<Branch>,
    tags: Vec<String>,
}

fn is_lfs(name: &str) -> bool {
    [".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5"].iter().any(|e| name.ends_with(e))
}

fn sha256_of(content: &Content) -> io::Result<(u64, String)> {
    let mut h = Sha256::new();
    let n = match content {
        Content::Bytes(b) => {
            h.update(b.as_slice());
            b.len() as u64
        }
        Content::Path(p) => io::copy(&mut File::open(p)?, &mut h)?,
    };
    Ok((n, hex::encode(h.finalize())))
}

impl TestRepo {
    /// An empty repository `org/name`.
    pub fn new(name: &str) -> Self {
        TestRepo { name: name.to_string(), token: None, branches: Vec::new(), tags: Vec::new() }
    }

    /// Make the repository gated: its files need `Authorization: Bearer {token}`.
    pub fn gated(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// Add a branch with in-memory files.
    pub fn branch(&mut self, name: &str, files: Vec<(String, Vec<u8>)>) -> &mut Self {
        let files = files.into_iter().map(|(n, b)| (n, Content::Bytes(Arc::new(b)))).collect();
        // In-memory hashing cannot fail.
        let _ = self.branch_content(name, files);
        self
    }

    /// Add a tag with in-memory files (listed under `tags` by the refs API, as BLOOM's `global_step…`).
    pub fn tag(&mut self, name: &str, files: Vec<(String, Vec<u8>)>) -> &mut Self {
        self.branch(name, files);
        self.tags.push(name.to_string());
        self
    }

    /// Add a branch with files of any content.
    pub fn branch_content(&mut self, name: &str, files: Vec<(String, Content)>) -> io::Result<&mut Self> {
        let mut served = Vec::new();
        let mut commit = Sha256::new();
        commit.update(name.as_bytes());
        for (fname, content) in files {
            let (size, sha256) = sha256_of(&content)?;
            commit.update(fname.as_bytes());
            commit.update(sha256.as_bytes());
            served.push(ServedFile { lfs: is_lfs(&fname), name: fname, content, size, sha256 });
        }
        served.sort_by(|a, b| a.name.cmp(&b.name));
        let commit = hex::encode(commit.finalize())[..40].to_string();
        self.branches.push((name.to_string(), commit, served));
        Ok(self)
    }

    /// A branch per step directory of `dir` (`step0`, `step1000`, …; other entries are skipped), named by
    /// `branch_name(step)`, serving every regular file of the directory from disk.
    pub fn from_step_dirs(name: &str, dir: &Path, branch_name: &dyn Fn(i64) -> String) -> io::Result<Self> {
        let mut repo = TestRepo::new(name);
        let mut dirs: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)?
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let step = n.strip_prefix("step")?.parse::<i64>().ok()?;
                e.path().is_dir().then(|| (step, e.path()))
            })
            .collect();
        dirs.sort();
        for (step, d) in dirs {
            let mut files = Vec::new();
            for e in std::fs::read_dir(&d)?.flatten() {
                if e.path().is_file() {
                    files.push((e.file_name().to_string_lossy().into_owned(), Content::Path(e.path())));
                }
            }
            repo.branch_content(&branch_name(step), files)?;
        }
        Ok(repo)
    }
}

/// Whether a corruption fault happens once or on every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corrupt {
    /// No corruption.
    #[default]
    Never,
    /// The first content response has one flipped byte.
    Once,
    /// Every content response has one flipped byte.
    Always,
}

/// What the revision API lists for each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    /// `rfilename`, `size`, `blobId`, and `lfs` (`sha256`, `size`) for weights: what huggingface.co answers to
    /// `?blobs=true`.
    #[default]
    Full,
    /// Only `rfilename`: no size, no hash (some mirrors and older hub-compatible servers).
    NamesOnly,
}

/// How `resolve` answers for a weight (LFS) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolve {
    /// As huggingface.co: a 302 to the content host, with `X-Linked-Size` and `X-Linked-Etag` (the sha256).
    #[default]
    Redirect,
    /// The bytes themselves, with `Content-Length` and no `X-Linked-*` headers (a plain file server).
    Direct,
}

/// Faults to inject, and how hub-like the server is. Each "once" fault hits the first matching request only.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// What the revision API lists.
    pub listing: Listing,
    /// How `resolve` answers for weight files.
    pub resolve: Resolve,
    /// `X-Linked-Etag` announces a sha256 that is not the file's.
    pub wrong_linked_etag: bool,
    /// The first `resolve` request answers 500.
    pub error_500_once: bool,
    /// The first content response is cut after this many body bytes.
    pub cut_once_at: Option<u64>,
    /// The first content response waits this long before its headers.
    pub stall_once: Option<Duration>,
    /// Flip the middle byte of content responses.
    pub corrupt: Corrupt,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// `GET` or `HEAD`.
    pub method: String,
    /// The path (with query).
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// Whether an `Authorization` header came with it.
    pub authorized: bool,
    /// The status answered.
    pub status: u16,
}

struct State {
    repos: Vec<TestRepo>,
    faults: Faults,
    endpoint: String,
    content_origin: String,
    fired_500: AtomicBool,
    fired_cut: AtomicBool,
    fired_stall: AtomicBool,
    corrupted: AtomicU32,
    log: Mutex<Vec<RequestLog>>,
    stop: AtomicBool,
}

/// A hub on `127.0.0.1`, stopped when dropped.
pub struct HubServer {
    state: Arc<State>,
    addrs: Vec<std::net::SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for HubServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubServer").field("endpoint", &self.state.endpoint).finish()
    }
}

impl HubServer {
    /// Serve `repos` without faults.
    pub fn start(repos: Vec<TestRepo>) -> io::Result<Self> {
        Self::start_with(repos, Faults::default())
    }

    /// Serve `repos` with `faults`.
    pub fn start_with(repos: Vec<TestRepo>, faults: Faults) -> io::Result<Self> {
        let api = TcpListener::bind("127.0.0.1:0")?;
        let cdn = TcpListener::bind("127.0.0.1:0")?;
        let addrs = vec![api.local_addr()?, cdn.local_addr()?];
        let state = Arc::new(State {
            repos,
            faults,
            endpoint: format!("http://{}", addrs[0]),
            content_origin: format!("http://{}", addrs[1]),
            fired_500: AtomicBool::new(false),
            fired_cut: AtomicBool::new(false),
            fired_stall: AtomicBool::new(false),
            corrupted: AtomicU32::new(0),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let threads = [api, cdn]
            .into_iter()
            .map(|l| {
                let st = state.clone();
                std::thread::spawn(move || accept_loop(l, st))
            })
            .collect();
        Ok(HubServer { state, addrs, threads })
    }

    /// The base URL to put in `HF_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        self.state.endpoint.clone()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The sha256 of a served file, for tests.
    pub fn sha256(&self, repo: &str, branch: &str, file: &str) -> Option<String> {
        let r = self.state.repos.iter().find(|r| r.name == repo)?;
        let (_, _, files) = r.branches.iter().find(|b| b.0 == branch)?;
        files.iter().find(|f| f.name == file).map(|f| f.sha256.clone())
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        for a in &self.addrs {
            let _ = TcpStream::connect(a);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, state: Arc<State>) {
    for conn in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = conn else { continue };
        let st = state.clone();
        std::thread::spawn(move || {
            let _ = serve(stream, &st);
        });
    }
}

struct Request {
    method: String,
    path: String,
    range: Option<String>,
    auth: Option<String>,
    head: bool,
}

fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let (mut range, mut auth) = (None, None);
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "authorization" => auth = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let head = method == "HEAD";
    Ok(Some(Request { method, path, range, auth, head }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Text(Vec<u8>),
    File { file: ServedFile, start: u64, end: u64 },
}

fn json(status: u16, v: serde_json::Value) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Body::Text(v.to_string().into_bytes()),
    }
}

fn error(status: u16, code: &str, msg: &str) -> Answer {
    let mut a = json(status, serde_json::json!({ "error": msg }));
    a.headers.push(("X-Error-Code".into(), code.into()));
    a.headers.push(("X-Error-Message".into(), msg.into()));
    a
}

fn serve(stream: TcpStream, st: &State) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some(req) = read_request(&stream)? else { return Ok(()) };
    let answer = route(&req, st);
    if let Ok(mut log) = st.log.lock() {
        log.push(RequestLog {
            method: req.method.clone(),
            path: req.path.clone(),
            range: req.range.clone(),
            authorized: req.auth.is_some(),
            status: answer.status,
        });
    }
    write_answer(stream, st, &req, answer)
}

fn find_branch<'a>(st: &'a State, repo: &str, rev: &str) -> Result<(&'a TestRepo, &'a Branch), Box<Answer>> {
    let r = st
        .repos
        .iter()
        .find(|r| r.name == repo)
        .ok_or_else(|| Box::new(error(401, "RepoNotFound", "Repository not found")))?;
    let b = r
        .branches
        .iter()
        .find(|b| b.0 == rev || b.1 == rev)
        .ok_or_else(|| Box::new(error(404, "RevisionNotFound", &format!("Invalid rev id: {rev}"))))?;
    Ok((r, b))
}

fn route(req: &Request, st: &State) -> Answer {
    let path = req.path.split('?').next().unwrap_or("");
    let segs: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["api", "models", org, name, "refs"] => {
            let repo = format!("{org}/{name}");
            let Some(r) = st.repos.iter().find(|r| r.name == repo) else {
                return error(401, "RepoNotFound", "Repository not found");
            };
            let refs = |tags: bool, kind: &str| -> Vec<serde_json::Value> {
                r.branches
                    .iter()
                    .filter(|(n, _, _)| r.tags.contains(n) == tags)
                    .map(|(n, c, _)| serde_json::json!({"name": n, "ref": format!("refs/{kind}/{n}"), "targetCommit": c}))
                    .collect()
            };
            let mut branches = refs(false, "heads");
            branches.push(serde_json::json!({"name": "main", "ref": "refs/heads/main",
                "targetCommit": "0000000000000000000000000000000000000000"}));
            json(200, serde_json::json!({"branches": branches, "converts": [], "tags": refs(true, "tags")}))
        }
        ["api", "models", org, name, "revision", rev] => {
            let repo = format!("{org}/{name}");
            match find_branch(st, &repo, rev) {
                Err(a) => *a,
                Ok((_, (_, commit, files))) => {
                    let siblings: Vec<serde_json::Value> = files
                        .iter()
                        .map(|f| {
                            if st.faults.listing == Listing::NamesOnly {
                                return serde_json::json!({ "rfilename": f.name });
                            }
                            let mut v = serde_json::json!({"rfilename": f.name, "size": f.size,
                                "blobId": &f.sha256[..40]});
                            if f.lfs {
                                v["lfs"] = serde_json::json!({"sha256": f.sha256, "size": f.size, "pointerSize": 134});
                            }
                            v
                        })
                        .collect();
                    json(200, serde_json::json!({"id": repo, "sha": commit, "siblings": siblings, "gated": false}))
                }
            }
        }
        [org, name, "resolve", rev, file @ ..] if !file.is_empty() => {
            if !st.faults.error_500_once || st.fired_500.swap(true, Ordering::SeqCst) {
                // no fault (or already fired)
            } else {
                return error(500, "InternalError", "injected failure");
            }
            let repo = format!("{org}/{name}");
            let (r, (_, commit, files)) = match find_branch(st, &repo, rev) {
                Ok(x) => x,
                Err(a) => return *a,
            };
            if let Some(token) = &r.token {
                match &req.auth {
                    None => {
                        return error(
                            401,
                            "GatedRepo",
                            "Access to this model is restricted. You must be authenticated.",
                        )
                    }
                    Some(a) if a != &format!("Bearer {token}") => {
                        return error(
                            403,
                            "GatedRepo",
                            "Access to this model is restricted: not in the authorized list.",
                        )
                    }
                    _ => {}
                }
            }
            let fname = file.join("/");
            let Some(f) = files.iter().find(|f| f.name == fname) else {
                return error(404, "EntryNotFound", &format!("{fname} does not exist on \"{rev}\""));
            };
            let mut headers = vec![
                ("X-Repo-Commit".to_string(), commit.clone()),
                ("ETag".to_string(), format!("\"{}\"", &f.sha256[..40])),
            ];
            if f.lfs && st.faults.resolve == Resolve::Redirect {
                let etag = if st.faults.wrong_linked_etag { flipped(&f.sha256) } else { f.sha256.clone() };
                headers.push(("X-Linked-Etag".into(), format!("\"{etag}\"")));
                headers.push(("X-Linked-Size".into(), f.size.to_string()));
                headers.push(("Location".into(), format!("{}/cdn/{}?name={}", st.content_origin, f.sha256, fname)));
                return Answer { status: 302, headers, body: Body::Text(Vec::new()) };
            }
            file_answer(f, req, headers)
        }
        ["cdn", sha] => {
            let found = st.repos.iter().flat_map(|r| &r.branches).flat_map(|b| &b.2).find(|f| f.sha256 == *sha);
            match found {
                Some(f) => file_answer(f, req, vec![("ETag".into(), format!("\"{}\"", f.sha256))]),
                None => error(404, "EntryNotFound", "no such object"),
            }
        }
        _ => error(404, "EntryNotFound", "no such route"),
    }
}

/// A sha256 that differs from `sha` in its first digit.
fn flipped(sha: &str) -> String {
    let first = if sha.starts_with('0') { '1' } else { '0' };
    std::iter::once(first).chain(sha.chars().skip(1)).collect()
}

fn file_answer(f: &ServedFile, req: &Request, mut headers: Vec<(String, String)>) -> Answer {
    headers.push(("Accept-Ranges".into(), "bytes".into()));
    let mut status = 200;
    let (mut start, mut end) = (0, f.size);
    if let Some(spec) = req.range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
        let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
        let a: u64 = a.trim().parse().unwrap_or(0);
        let b: u64 = b.trim().parse::<u64>().map(|b| b + 1).unwrap_or(f.size).min(f.size);
        if a >= f.size || a >= b {
            headers.push(("Content-Range".into(), format!("bytes */{}", f.size)));
            return Answer { status: 416, headers, body: Body::Text(Vec::new()) };
        }
        status = 206;
        start = a;
        end = b;
        headers.push(("Content-Range".into(), format!("bytes {a}-{}/{}", b - 1, f.size)));
    }
    Answer { status, headers, body: Body::File { file: f.clone(), start, end } }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Internal Server Error",
    }
}

fn write_answer(stream: TcpStream, st: &State, req: &Request, answer: Answer) -> io::Result<()> {
    // Weight bytes, from the content host or (`Resolve::Direct`) from `resolve` itself: what the faults hit.
    let is_content = matches!(&answer.body, Body::File { file, .. } if file.lfs);
    if is_content {
        if let Some(d) = st.faults.stall_once {
            if !st.fired_stall.swap(true, Ordering::SeqCst) {
                std::thread::sleep(d);
            }
        }
    }
    let len = match &answer.body {
        Body::Text(t) => t.len() as u64,
        Body::File { start, end, .. } => end - start,
    };
    let mut w = io::BufWriter::with_capacity(1 << 20, &stream);
    write!(
        w,
        "HTTP/1.1 {} {}\r\nContent-Length: {len}\r\nConnection: close\r\n",
        answer.status,
        reason(answer.status)
    )?;
    for (k, v) in &answer.headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    w.write_all(b"\r\n")?;
    if req.head {
        w.flush()?;
        return Ok(());
    }
    match answer.body {
        Body::Text(t) => w.write_all(&t)?,
        Body::File { file, start, end } => {
            let cut = if is_content { st.faults.cut_once_at } else { None };
            let cut = cut.filter(|_| !st.fired_cut.swap(true, Ordering::SeqCst));
            let corrupt = is_content
                && match st.faults.corrupt {
                    Corrupt::Never => false,
                    Corrupt::Once => st.corrupted.fetch_add(1, Ordering::SeqCst) == 0,
                    Corrupt::Always => true,
                };
            let flip_at = file.size / 2;
            let limit = cut.map(|c| (start + c).min(end)).unwrap_or(end);
            let mut reader: Box<dyn Read> = match &file.content {
                Content::Bytes(b) => Box::new(io::Cursor::new(b.clone().as_ref().clone())),
                Content::Path(p) => Box::new(File::open(p)?),
            };
            skip_to(&mut reader, &file.content, start)?;
            let mut pos = start;
            let mut buf = vec![0u8; 1 << 20];
            while pos < limit {
                let want = ((limit - pos) as usize).min(buf.len());
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    break;
                }
                if corrupt && flip_at >= pos && flip_at < pos + n as u64 {
                    buf[(flip_at - pos) as usize] ^= 0x55;
                }
                w.write_all(&buf[..n])?;
                pos += n as u64;
            }
            if cut.is_some() {
                w.flush()?;
                drop(w);
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
    }
    w.flush()?;
    drop(w);
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

fn skip_to(reader: &mut Box<dyn Read>, content: &Content, start: u64) -> io::Result<()> {
    match content {
        Content::Path(p) => {
            let mut f = File::open(p)?;
            f.seek(SeekFrom::Start(start))?;
            *reader = Box::new(f);
        }
        Content::Bytes(_) => {
            io::copy(&mut reader.take(start), &mut io::sink())?;
        }
    }
    Ok(())
}

/// Serve the step directories of each `(repo, dir)` pair until the process is killed, printing the endpoint on
/// stdout (used by the benchmark and Slurm scripts through the `hub_server` example).
pub fn serve_dirs(pairs: &[(String, PathBuf)]) -> io::Result<HubServer> {
    let mut repos = Vec::new();
    for (name, dir) in pairs {
        repos.push(TestRepo::from_step_dirs(name, dir, &|s| format!("step{s}"))?);
    }
    HubServer::start(repos)
}

/// Map of branch name → commit, for tests.
pub fn commits(repo: &TestRepo) -> BTreeMap<String, String> {
    repo.branches.iter().map(|(n, c, _)| (n.clone(), c.clone())).collect()
}
