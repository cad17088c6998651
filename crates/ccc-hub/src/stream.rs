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

/// Reads ahead of its consumer on a thread of its own, so that receiving and verifying the next bytes overlaps with
/// summarizing the previous ones. Memory: at most `depth + 2` buffers of `chunk` bytes.
pub struct Prefetch {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    back: std::sync::mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetch").field("pos", &self.pos).field("done", &self.done).finish_non_exhaustive()
    }
}

impl Prefetch {
    /// Start reading `inner` ahead in chunks of `chunk` bytes, keeping up to `depth` chunks ready.
    pub fn new<R: Read + Send + 'static>(mut inner: R, chunk: usize, depth: usize) -> Self {
        let chunk = chunk.max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(depth.max(1));
        let (back, recycled) = std::sync::mpsc::sync_channel::<Vec<u8>>(depth.max(1) + 2);
        std::thread::spawn(move || loop {
            let mut buf = recycled.try_recv().unwrap_or_default();
            buf.resize(chunk, 0);
            let mut filled = 0;
            while filled < chunk {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if filled == 0 {
                return; // end of data: dropping the sender says so
            }
            buf.truncate(filled);
            if tx.send(Ok(buf)).is_err() {
                return; // the consumer is gone
            }
        });
        Prefetch { rx, back, cur: Vec::new(), pos: 0, done: false }
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(buf)) => {
                    let old = std::mem::replace(&mut self.cur, buf);
                    let _ = self.back.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that fails after `ok` bytes.
    struct Failing {
        data: io::Cursor<Vec<u8>>,
        ok: u64,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.position() >= self.ok {
                return Err(io::Error::other("boom"));
            }
            let room = (self.ok - self.data.position()) as usize;
            let n = buf.len().min(room).min(7);
            self.data.read(&mut buf[..n])
        }
    }

    #[test]
    fn prefetch_passes_bytes_and_errors_through() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for (chunk, depth) in [(1, 1), (1000, 2), (4096, 3), (1 << 20, 1)] {
            let mut p = Prefetch::new(io::Cursor::new(data.clone()), chunk, depth);
            let mut got = Vec::new();
            p.read_to_end(&mut got).unwrap();
            assert_eq!(got, data, "chunk {chunk}");
        }
        let mut p = Prefetch::new(Failing { data: io::Cursor::new(data.clone()), ok: 5000 }, 1000, 2);
        let mut got = Vec::new();
        let err = p.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(got, data[..5000]);
    }
}
