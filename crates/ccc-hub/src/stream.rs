//! A verified, resuming reader over a file on the hub: counts bytes, hashes them on the fly, reopens the
//! connection at the current offset (HTTP `Range`) when it breaks, and fails at the end if the sha256 or size
//! differs from what the hub announced.

use std::io::{self, Read};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::client::{Ctx, HubClient};
use crate::error::HubError;

/// What the reader checks the bytes against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The file name, for messages.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex sha256 (weights in LFS have one), or `None` to check only the size.
    pub sha256: Option<String>,
}

/// A `Read` over a hub file. Ends with an error rather than wrong bytes: a size or sha256 mismatch is reported
/// by the read that reaches the end (as `io::ErrorKind::InvalidData` wrapping [`HubError::Integrity`]).
pub struct RemoteReader {
    client: Arc<HubClient>,
    repo: String,
    revision: String,
    url: String,
    expected: Expected,
    offset: u64,
    hasher: Sha256,
    body: Option<Box<dyn Read + Send>>,
    failures: u32,
    verified: bool,
}

impl std::fmt::Debug for RemoteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteReader").field("url", &self.url).field("offset", &self.offset).finish_non_exhaustive()
    }
}

impl RemoteReader {
    /// A reader of `file` at `revision` (best a commit sha) from the start.
    pub fn new(client: Arc<HubClient>, repo: &str, revision: &str, expected: Expected) -> Self {
        Self::resume(client, repo, revision, expected, 0, Sha256::new())
    }

    /// A reader that continues at `offset`, with `hasher` holding the hash of the bytes before it.
    pub fn resume(
        client: Arc<HubClient>,
        repo: &str,
        revision: &str,
        expected: Expected,
        offset: u64,
        hasher: Sha256,
    ) -> Self {
        let url = client.resolve_url(repo, revision, &expected.file);
        RemoteReader {
            client,
            repo: repo.to_string(),
            revision: revision.to_string(),
            url,
            expected,
            offset,
            hasher,
            body: None,
            failures: 0,
            verified: false,
        }
    }

    /// Bytes delivered so far (including a resumed prefix).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn open(&mut self) -> Result<(), HubError> {
        let offset = self.offset;
        let opened = self
            .client
            .retry(&self.url, || self.client.open(&self.url, offset))
            .map_err(|f| self.client.interpret(f, Ctx::File(&self.repo, &self.revision, &self.expected.file)))?;
        if let (Some(want), Some(got)) = (&self.expected.sha256, &opened.linked_etag) {
            if got.len() == 64 && !got.eq_ignore_ascii_case(want) {
                return Err(HubError::BadResponse {
                    url: self.url.clone(),
                    reason: format!("X-Linked-Etag {got} differs from the listed sha256 {want}"),
                });
            }
        }
        if let Some(size) = opened.linked_size {
            if size != self.expected.size {
                return Err(HubError::BadResponse {
                    url: self.url.clone(),
                    reason: format!("X-Linked-Size {size} differs from the listed size {}", self.expected.size),
                });
            }
        }
        self.body = Some(opened.body);
        Ok(())
    }

    fn verify(&mut self) -> io::Result<()> {
        if self.verified {
            return Ok(());
        }
        self.verified = true;
        if let Some(want) = &self.expected.sha256 {
            let got = hex::encode(std::mem::take(&mut self.hasher).finalize());
            if !got.eq_ignore_ascii_case(want) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    HubError::Integrity {
                        file: self.expected.file.clone(),
                        what: "sha256",
                        expected: want.clone(),
                        actual: got,
                    },
                ));
            }
        }
        Ok(())
    }

    /// A broken transfer: back off and reopen at the current offset, within the retry budget.
    fn broken(&mut self, reason: String) -> io::Result<()> {
        self.body = None;
        self.failures += 1;
        let policy = self.client.config().retry;
        if self.failures >= policy.attempts.max(1) {
            return Err(io::Error::other(HubError::Network { url: self.url.clone(), reason, attempts: self.failures }));
        }
        let wait = policy.delay(self.failures);
        self.client.notice(&format!(
            "{}: transfer broke at byte {} ({reason}); resuming in {:.1} s",
            self.expected.file,
            self.offset,
            wait.as_secs_f64()
        ));
        std::thread::sleep(wait);
        Ok(())
    }
}

impl Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.expected.size - self.offset;
        if left == 0 {
            self.verify()?;
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        loop {
            if self.body.is_none() {
                self.open().map_err(io::Error::other)?;
            }
            let Some(body) = self.body.as_mut() else { continue };
            match body.read(&mut buf[..want]) {
                Ok(0) => self.broken(format!("connection closed {left} bytes early"))?,
                Ok(n) => {
                    self.hasher.update(&buf[..n]);
                    self.offset += n as u64;
                    self.failures = 0;
                    if self.offset == self.expected.size {
                        self.verify()?;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.broken(e.to_string())?,
            }
        }
    }
}
