//! The HTTP client: the hub's JSON API and file downloads, with timeouts, bounded retries and redirects that never
//! carry the token to another host.

use std::io::Read;
use std::sync::Arc;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

use crate::config::HubConfig;
use crate::error::{HubError, Result};

/// A branch or tag of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GitRef {
    /// The name, e.g. `step1000`.
    pub name: String,
    /// The commit it points to.
    #[serde(rename = "targetCommit")]
    pub target_commit: String,
}

#[derive(Debug, Deserialize)]
struct Refs {
    #[serde(default)]
    branches: Vec<GitRef>,
    #[serde(default)]
    tags: Vec<GitRef>,
}

/// Large-file storage facts of a file: its sha256 and size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LfsInfo {
    /// Hex sha256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// One file of a revision, as the hub's API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sibling {
    /// The path in the repository.
    pub rfilename: String,
    /// Size in bytes (the API gives it with `blobs=true`).
    #[serde(default)]
    pub size: Option<u64>,
    /// The git blob id.
    #[serde(default, rename = "blobId")]
    pub blob_id: Option<String>,
    /// Present for files stored in LFS (weights).
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
}

/// A revision: its commit and files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RevisionInfo {
    /// The commit sha.
    pub sha: String,
    /// The files.
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth retrying (5xx, 429, timeout, broken connection).
    Transient(String),
    /// An HTTP error status to interpret in context.
    Status { url: String, status: u16, code: Option<String>, detail: Option<String> },
    /// Final.
    Fatal(HubError),
}

/// The HTTP methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
}

/// What a request is about, to turn 401/403/404 into one clear error.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ctx<'a> {
    Repo(&'a str),
    Revision(&'a str, &'a str),
    File(&'a str, &'a str, &'a str),
}

/// A called-back notice (e.g. "retrying in 2 s"), for the caller to show; the library never prints.
pub type Notifier = Arc<dyn Fn(&str) + Send + Sync>;

/// A hub client. Cheap to share (`Arc`); one per run.
pub struct HubClient {
    agent: ureq::Agent,
    config: HubConfig,
    origin: String,
    notify: Option<Notifier>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient").field("config", &self.config).finish_non_exhaustive()
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find(['/', '?', '#']) {
        Some(i) => &url[..after + i],
        None => url,
    }
}

/// Percent-encode one path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An opened download: the body from `offset` on, and what the hub announced about the file.
pub(crate) struct Opened {
    pub body: Box<dyn Read + Send>,
    /// The sha256 from `X-Linked-Etag` (LFS files), without quotes.
    pub linked_etag: Option<String>,
    /// The size from `X-Linked-Size`.
    pub linked_size: Option<u64>,
}

/// What a `resolve` request says about a file, without its bytes: what a listing without `size`/`lfs` leaves
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// `X-Linked-Size` (the hub's redirect for an LFS file), else the `Content-Length` of the file itself.
    pub size: u64,
    /// The sha256 in `X-Linked-Etag`, when it holds one (64 hex digits, lowercased).
    pub sha256: Option<String>,
}

/// The sha256 an `X-Linked-Etag` value carries: the hub sends the LFS object's sha256 there (quoted, maybe
/// weak); anything else (a git blob id, a CDN's own etag) is not one.
fn linked_sha256(etag: &str) -> Option<String> {
    let e = etag.trim().trim_start_matches("W/").trim_matches('"');
    (e.len() == 64 && e.bytes().all(|b| b.is_ascii_hexdigit())).then(|| e.to_ascii_lowercase())
}

impl HubClient {
    /// A client for `config`.
    pub fn new(config: HubConfig) -> Self {
        let t = config.retry.timeout;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(t))
            .timeout_recv_response(Some(t))
            .timeout_per_read(Some(t))
            // Weight files are large: read them from the socket in 1 MiB gulps (default 128 KiB).
            .input_buffer_size(1 << 20)
            .user_agent(concat!("ccc/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let origin = origin(&config.endpoint).to_string();
        HubClient { agent, config, origin, notify: None }
    }

    /// Send notices (retries, resumes) to `notify`.
    pub fn with_notifier(mut self, notify: Notifier) -> Self {
        self.notify = Some(notify);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub(crate) fn notice(&self, msg: &str) {
        if let Some(n) = &self.notify {
            n(msg);
        }
    }

    fn api_url(&self, repo: &str, tail: &str) -> String {
        format!("{}/api/models/{repo}/{tail}", self.config.endpoint)
    }

    /// The download URL of a file at a revision (or commit).
    pub fn resolve_url(&self, repo: &str, revision: &str, file: &str) -> String {
        let path: Vec<String> = file.split('/').map(encode_segment).collect();
        format!("{}/{repo}/resolve/{}/{}", self.config.endpoint, encode_segment(revision), path.join("/"))
    }

    /// The branches of a repository.
    pub fn list_branches(&self, repo: &str) -> Result<Vec<GitRef>> {
        let url = self.api_url(repo, "refs");
        let refs: Refs = self.get_json(&url).map_err(|f| self.interpret(f, Ctx::Repo(repo)))?;
        Ok(refs.branches)
    }

    /// The branches of a repository, then its tags whose names no branch has (BLOOM's intermediate checkpoints are
    /// tags).
    pub fn list_refs(&self, repo: &str) -> Result<Vec<GitRef>> {
        let url = self.api_url(repo, "refs");
        let refs: Refs = self.get_json(&url).map_err(|f| self.interpret(f, Ctx::Repo(repo)))?;
        let mut all = refs.branches;
        for t in refs.tags {
            if !all.iter().any(|b| b.name == t.name) {
                all.push(t);
            }
        }
        Ok(all)
    }

    /// A revision's commit and files. A missing revision's error lists close names.
    pub fn revision_info(&self, repo: &str, revision: &str) -> Result<RevisionInfo> {
        let url = self.api_url(repo, &format!("revision/{}?blobs=true", encode_segment(revision)));
        match self.get_json(&url) {
            Ok(info) => Ok(info),
            Err(f) => match self.interpret(f, Ctx::Revision(repo, revision)) {
                HubError::RevisionNotFound { repo, revision, .. } => {
                    let names: Vec<String> =
                        self.list_branches(&repo).map(|b| b.into_iter().map(|r| r.name).collect()).unwrap_or_default();
                    let near = crate::revision::near_names(&revision, &names, 5);
                    Err(HubError::RevisionNotFound { repo, revision, near })
                }
                e => Err(e),
            },
        }
    }

    /// The size and sha256 of a file from a `HEAD` of its `resolve` URL, as `huggingface_hub` asks for them: the
    /// hub answers an LFS file with a redirect carrying `X-Linked-Size` and `X-Linked-Etag` (then the content host
    /// is not asked); other servers answer with the file's own `Content-Length` (a redirect without those headers
    /// is followed, never with the token to another host). For listings that lack sizes and hashes.
    pub fn file_meta(&self, repo: &str, revision: &str, file: &str) -> Result<FileMeta> {
        let url = self.resolve_url(repo, revision, file);
        self.retry(&url, || self.head_meta(&url)).map_err(|f| self.interpret(f, Ctx::File(repo, revision, file)))
    }

    fn head_meta(&self, url: &str) -> Result<FileMeta, Failure> {
        let mut linked_size: Option<u64> = None;
        let mut sha256 = None;
        let mut current = url.to_string();
        for _ in 0..10 {
            let resp = self.send_once(Method::Head, &current, None)?;
            if let Some(e) = header(&resp, "x-linked-etag").and_then(linked_sha256) {
                sha256 = Some(e);
            }
            if let Some(n) = header(&resp, "x-linked-size").and_then(|v| v.trim().parse().ok()) {
                linked_size = Some(n);
            }
            if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                if let Some(size) = linked_size {
                    return Ok(FileMeta { size, sha256 });
                }
                current = self.location(&current, &resp)?;
                continue;
            }
            self.check_status(&current, &resp)?;
            let size = linked_size.or_else(|| header(&resp, "content-length").and_then(|v| v.trim().parse().ok()));
            return match size {
                Some(size) => Ok(FileMeta { size, sha256 }),
                None => Err(Failure::Fatal(HubError::BadResponse {
                    url: current,
                    reason: "the file's size is neither in the listing nor in `X-Linked-Size` or `Content-Length`"
                        .into(),
                })),
            };
        }
        Err(Failure::Fatal(HubError::BadResponse { url: url.to_string(), reason: "too many redirects".into() }))
    }

    /// A small file (config.json, an index) in full.
    pub fn get_small(&self, repo: &str, revision: &str, file: &str) -> Result<Vec<u8>> {
        let url = self.resolve_url(repo, revision, file);
        self.retry(&url, || {
            let resp = self.send(&url, None)?;
            let mut buf = Vec::new();
            resp.into_body()
                .into_with_config()
                .limit(64 << 20)
                .reader()
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Transient(e.to_string()))?;
            Ok(buf)
        })
        .map_err(|f| self.interpret(f, Ctx::File(repo, revision, file)))
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Failure> {
        let bytes = self.retry(url, || {
            let resp = self.send(url, None)?;
            let mut buf = Vec::new();
            resp.into_body()
                .into_with_config()
                .limit(256 << 20)
                .reader()
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Transient(e.to_string()))?;
            Ok(buf)
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Fatal(HubError::BadResponse { url: url.to_string(), reason: e.to_string() }))
    }

    /// Open a download at byte `offset` (one attempt; the caller retries). Follows redirects itself so that the
    /// token is only ever sent to the endpoint's own origin.
    pub(crate) fn open(&self, url: &str, offset: u64) -> Result<Opened, Failure> {
        let mut linked_etag = None;
        let mut linked_size = None;
        let mut current = url.to_string();
        for _ in 0..10 {
            let resp = self.send_once(Method::Get, &current, (offset > 0).then_some(offset))?;
            if let Some(e) = header(&resp, "x-linked-etag") {
                linked_etag = Some(e.trim_matches('"').trim_start_matches("W/").trim_matches('"').to_string());
            }
            if let Some(s) = header(&resp, "x-linked-size").and_then(|s| s.trim().parse().ok()) {
                linked_size = Some(s);
            }
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                current = self.location(&current, &resp)?;
                continue;
            }
            self.check_status(&current, &resp)?;
            let body: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
            let body = match (offset, status) {
                (0, _) => body,
                (_, 206) => body,
                (_, 200) => {
                    // The server ignored the range: skip what we already have.
                    let mut body = body;
                    let skipped = std::io::copy(&mut (&mut body).take(offset), &mut std::io::sink())
                        .map_err(|e| Failure::Transient(e.to_string()))?;
                    if skipped != offset {
                        return Err(Failure::Transient("the body ended before the resume offset".into()));
                    }
                    body
                }
                (_, s) => {
                    return Err(Failure::Fatal(HubError::BadResponse {
                        url: current,
                        reason: format!("HTTP {s} to a range request"),
                    }))
                }
            };
            return Ok(Opened { body, linked_etag, linked_size });
        }
        Err(Failure::Fatal(HubError::BadResponse { url: url.to_string(), reason: "too many redirects".into() }))
    }

    fn location(&self, current: &str, resp: &Response<Body>) -> Result<String, Failure> {
        let loc = header(resp, "location").ok_or_else(|| {
            Failure::Fatal(HubError::BadResponse {
                url: current.to_string(),
                reason: "redirect without Location".into(),
            })
        })?;
        if loc.starts_with("http://") || loc.starts_with("https://") {
            Ok(loc.to_string())
        } else if loc.starts_with('/') {
            Ok(format!("{}{loc}", origin(current)))
        } else {
            Err(Failure::Fatal(HubError::BadResponse {
                url: current.to_string(),
                reason: format!("unsupported redirect target `{loc}`"),
            }))
        }
    }

    /// One GET following redirects; error statuses become failures.
    fn send(&self, url: &str, offset: Option<u64>) -> Result<Response<Body>, Failure> {
        let mut current = url.to_string();
        for _ in 0..10 {
            let resp = self.send_once(Method::Get, &current, offset)?;
            if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                current = self.location(&current, &resp)?;
                continue;
            }
            self.check_status(&current, &resp)?;
            return Ok(resp);
        }
        Err(Failure::Fatal(HubError::BadResponse { url: url.to_string(), reason: "too many redirects".into() }))
    }

    fn send_once(&self, method: Method, url: &str, offset: Option<u64>) -> Result<Response<Body>, Failure> {
        let mut req = match method {
            Method::Get => self.agent.get(url),
            // The size of the file itself, not of a compressed encoding of it.
            Method::Head => self.agent.head(url).header("Accept-Encoding", "identity"),
        };
        if let Some(off) = offset {
            req = req.header("Range", format!("bytes={off}-"));
        }
        if let Some(token) = &self.config.token {
            // Only to the hub itself: a redirect to a content host never carries the token.
            if origin(url) == self.origin {
                req = req.header("Authorization", token.bearer());
            }
        }
        req.call().map_err(|e| match e {
            ureq::Error::Timeout(_)
            | ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::HostNotFound => Failure::Transient(e.to_string()),
            e => Failure::Fatal(HubError::BadResponse { url: url.to_string(), reason: e.to_string() }),
        })
    }

    fn check_status(&self, url: &str, resp: &Response<Body>) -> Result<(), Failure> {
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        if status >= 500 || status == 429 || status == 408 {
            return Err(Failure::Transient(format!("HTTP {status}")));
        }
        Err(Failure::Status {
            url: url.to_string(),
            status,
            code: header(resp, "x-error-code").map(str::to_string),
            detail: header(resp, "x-error-message").map(str::to_string),
        })
    }

    /// Run `attempt` until it succeeds, fails for good, or the retry budget is spent.
    pub(crate) fn retry<T>(&self, url: &str, mut attempt: impl FnMut() -> Result<T, Failure>) -> Result<T, Failure> {
        let policy = self.config.retry;
        let mut failures = 0u32;
        loop {
            match attempt() {
                Ok(t) => return Ok(t),
                Err(Failure::Transient(reason)) => {
                    failures += 1;
                    if failures >= policy.attempts.max(1) {
                        return Err(Failure::Fatal(HubError::Network {
                            url: url.to_string(),
                            reason,
                            attempts: failures,
                        }));
                    }
                    let wait = policy.delay(failures);
                    self.notice(&format!("{url}: {reason}; retrying in {:.1} s", wait.as_secs_f64()));
                    std::thread::sleep(wait);
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// Turn a failure into one clear error, knowing what was asked for.
    pub(crate) fn interpret(&self, f: Failure, ctx: Ctx<'_>) -> HubError {
        let (url, status, code, detail) = match f {
            Failure::Fatal(e) => return e,
            Failure::Transient(reason) => {
                return HubError::Network { url: String::new(), reason, attempts: 1 };
            }
            Failure::Status { url, status, code, detail } => (url, status, code, detail),
        };
        let repo = match ctx {
            Ctx::Repo(r) | Ctx::Revision(r, _) | Ctx::File(r, _, _) => r.to_string(),
        };
        let has_token = self.config.token.is_some();
        match (status, code.as_deref()) {
            (401 | 403, _) if !has_token => HubError::NeedsToken { repo },
            (401, Some("RepoNotFound")) | (404, Some("RepoNotFound")) => {
                HubError::RepoNotFound { repo, endpoint: self.config.endpoint.clone() }
            }
            (401 | 403, _) => HubError::Forbidden { repo, status },
            (404, Some("RevisionNotFound")) => match ctx {
                Ctx::Revision(_, rev) | Ctx::File(_, rev, _) => {
                    HubError::RevisionNotFound { repo, revision: rev.to_string(), near: vec![] }
                }
                Ctx::Repo(_) => HubError::RepoNotFound { repo, endpoint: self.config.endpoint.clone() },
            },
            (404, _) => match ctx {
                Ctx::Repo(_) => HubError::RepoNotFound { repo, endpoint: self.config.endpoint.clone() },
                Ctx::Revision(_, rev) => HubError::RevisionNotFound { repo, revision: rev.to_string(), near: vec![] },
                Ctx::File(_, rev, file) => {
                    HubError::FileNotFound { repo, revision: rev.to_string(), file: file.to_string() }
                }
            },
            _ => HubError::Status { url, status, detail },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_encoding() {
        assert_eq!(origin("http://127.0.0.1:8080/a/b?x"), "http://127.0.0.1:8080");
        assert_eq!(origin("https://huggingface.co"), "https://huggingface.co");
        assert_ne!(origin("http://localhost:1/x"), origin("http://127.0.0.1:1/x"));
        assert_eq!(encode_segment("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(encode_segment("step1000-tokens4B"), "step1000-tokens4B");
    }

    #[test]
    fn linked_etags_carry_a_sha256_or_nothing() {
        let sha = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
        assert_eq!(linked_sha256(&format!("\"{sha}\"")), Some(sha.to_ascii_lowercase()));
        assert_eq!(linked_sha256(&format!("W/\"{sha}\"")), Some(sha.to_ascii_lowercase()));
        for not in ["\"0123456789abcdef0123456789abcdef01234567\"", "", "\"xyz\"", &format!("{sha}0")] {
            assert_eq!(linked_sha256(not), None, "{not}");
        }
    }
}
