//! A verified, resuming reader over a file on the hub: counts bytes, hashes them on the fly, reopens the
//! connection at the current offset (HTTP `Range`) when it breaks, and fails at the end if the sha256 or size
//! differs from what the hub announced.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
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
    /// Whether this reader hashes (and so verifies) the bytes; see [`RemoteReader::unhashed`].
    hashing: bool,
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
            hashing: true,
        }
    }

    /// A reader from the start that checks only the size, leaving the sha256 to the caller (e.g. to
    /// [`Prefetch::verified`], which hashes on a thread of its own).
    pub fn unhashed(client: Arc<HubClient>, repo: &str, revision: &str, expected: Expected) -> Self {
        RemoteReader { hashing: false, ..Self::new(client, repo, revision, expected) }
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
        if !self.hashing {
            return Ok(());
        }
        check_sha256(&self.expected, std::mem::take(&mut self.hasher))
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

/// Compare a finished hash with the expected sha256 (if any): an `InvalidData` error wrapping
/// [`HubError::Integrity`] on mismatch.
fn check_sha256(expected: &Expected, hasher: Sha256) -> io::Result<()> {
    let Some(want) = &expected.sha256 else { return Ok(()) };
    let got = hex::encode(hasher.finalize());
    if got.eq_ignore_ascii_case(want) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        HubError::Integrity { file: expected.file.clone(), what: "sha256", expected: want.clone(), actual: got },
    ))
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
                    if self.hashing {
                        self.hasher.update(&buf[..n]);
                    }
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

/// Reads ahead of its consumer on a thread of its own, so that receiving the next bytes overlaps with summarizing
/// the previous ones; [`Prefetch::verified`] also hashes them on a third thread. Memory: at most `2 * depth + 3`
/// buffers of `chunk` bytes, recycled (not reallocated, which would page-fault every one of them again).
pub struct Prefetch {
    rx: Receiver<io::Result<Arc<Vec<u8>>>>,
    back: SyncSender<Arc<Vec<u8>>>,
    verdict: Option<Receiver<io::Result<()>>>,
    mismatch: Arc<AtomicBool>,
    cur: Option<Arc<Vec<u8>>>,
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
    pub fn new<R: Read + Send + 'static>(inner: R, chunk: usize, depth: usize) -> Self {
        Self::start(inner, chunk, depth, None)
    }

    /// As [`Prefetch::new`], and check the bytes against `expected.sha256`, hashing on a thread of its own (a
    /// single sha256 runs at about the speed of a fast network, so it must not share a core with receiving or
    /// summarizing). The end of the data is only reported once the hash matched; a mismatch is an
    /// `InvalidData` error wrapping [`HubError::Integrity`].
    pub fn verified<R: Read + Send + 'static>(inner: R, chunk: usize, depth: usize, expected: Expected) -> Self {
        Self::start(inner, chunk, depth, Some(expected))
    }

    fn start<R: Read + Send + 'static>(mut inner: R, chunk: usize, depth: usize, check: Option<Expected>) -> Self {
        let chunk = chunk.max(1);
        let depth = depth.max(1);
        let (tx, rx) = sync_channel::<io::Result<Arc<Vec<u8>>>>(depth);
        let (back, recycled) = sync_channel::<Arc<Vec<u8>>>(2 * depth + 3);
        let mismatch = Arc::new(AtomicBool::new(false));
        let (hash_tx, verdict) = match check {
            Some(expected) => {
                let (hash_tx, hash_rx) = sync_channel::<Arc<Vec<u8>>>(depth);
                let (verdict_tx, verdict_rx) = sync_channel::<io::Result<()>>(1);
                let back = back.clone();
                let mismatch = mismatch.clone();
                std::thread::spawn(move || {
                    let mut hasher = Sha256::new();
                    for buf in hash_rx {
                        hasher.update(&buf[..]);
                        let _ = back.try_send(buf);
                    }
                    let verdict = check_sha256(&expected, hasher);
                    mismatch.store(verdict.is_err(), Ordering::SeqCst);
                    let _ = verdict_tx.send(verdict);
                });
                (Some(hash_tx), Some(verdict_rx))
            }
            None => (None, None),
        };
        std::thread::spawn(move || loop {
            // A buffer both the consumer and the hasher have given back is reused; one still held elsewhere is
            // dropped here, and comes back (unshared) from its last holder.
            let mut buf = std::iter::from_fn(|| recycled.try_recv().ok())
                .find_map(|b| Arc::try_unwrap(b).ok())
                .unwrap_or_default();
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
                return; // end of data: dropping the senders says so
            }
            buf.truncate(filled);
            let buf = Arc::new(buf);
            if let Some(h) = &hash_tx {
                if h.send(buf.clone()).is_err() {
                    return;
                }
            }
            if tx.send(Ok(buf)).is_err() {
                return; // the consumer is gone
            }
        });
        Prefetch { rx, back, verdict, mismatch, cur: None, pos: 0, done: false }
    }

    /// Set once all the bytes were received and their sha256 did not match (for [`Prefetch::verified`]).
    pub fn mismatch_flag(&self) -> Arc<AtomicBool> {
        self.mismatch.clone()
    }

    /// The end of the data: wait for the hash check, if any.
    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        match self.verdict.take() {
            None => Ok(()),
            Some(v) => v.recv().unwrap_or_else(|_| Err(io::Error::other("the hashing thread stopped"))),
        }
    }
}

impl BufRead for Prefetch {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.cur.as_ref().is_none_or(|c| self.pos == c.len()) {
            if self.done {
                return Ok(&[]);
            }
            match self.rx.recv() {
                Ok(Ok(buf)) => {
                    if let Some(old) = self.cur.replace(buf) {
                        let _ = self.back.try_send(old);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    self.verdict = None;
                    return Err(e);
                }
                Err(_) => {
                    self.finish()?;
                    return Ok(&[]);
                }
            }
        }
        Ok(self.cur.as_ref().map_or(&[][..], |c| &c[self.pos..]))
    }

    fn consume(&mut self, n: usize) {
        let len = self.cur.as_ref().map_or(0, |c| c.len());
        self.pos = (self.pos + n).min(len);
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let avail = self.fill_buf()?;
        let n = out.len().min(avail.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
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

    #[test]
    fn verified_prefetch_reports_the_end_only_when_the_hash_matches() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let sha = hex::encode(Sha256::digest(&data));
        let expected =
            |sha256: &str| Expected { file: "w.safetensors".into(), size: 300_000, sha256: Some(sha256.into()) };
        for (chunk, depth) in [(1, 1), (4096, 2), (100_000, 3), (1 << 20, 1)] {
            let mut p = Prefetch::verified(io::Cursor::new(data.clone()), chunk, depth, expected(&sha));
            let mut got = Vec::new();
            p.read_to_end(&mut got).unwrap();
            assert_eq!(got, data, "chunk {chunk}");
        }
        let wrong = "0".repeat(64);
        let mut p = Prefetch::verified(io::Cursor::new(data.clone()), 4096, 2, expected(&wrong));
        let mut got = Vec::new();
        let err = p.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("sha256"), "{err}");
        assert_eq!(got, data, "every byte is delivered before the verdict");
        // A read error is passed through, not masked by the verdict.
        let mut p =
            Prefetch::verified(Failing { data: io::Cursor::new(data.clone()), ok: 5000 }, 1000, 2, expected(&sha));
        assert_eq!(p.read_to_end(&mut Vec::new()).unwrap_err().to_string(), "boom");
    }
}
