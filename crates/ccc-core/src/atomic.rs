//! Writing output files atomically: a temporary file in the same directory, then a rename.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{CoreError, Result};

/// Write `path` atomically: `write` fills a buffered temporary file next to it, which is flushed, synced and
/// renamed over `path`. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let tmp = temp_next_to(path)?;
    let mut w = BufWriter::with_capacity(1 << 20, tmp);
    write(&mut w).map_err(|e| CoreError::io(path, e))?;
    let tmp = w.into_inner().map_err(|e| CoreError::io(path, e.into_error()))?;
    tmp.as_file().sync_all().map_err(|e| CoreError::io(path, e))?;
    tmp.persist(path).map_err(|e| CoreError::io(path, e.error))?;
    Ok(())
}

/// Like [`write_atomic`], but `write` gets the temporary file itself (unbuffered), e.g. to write at offsets and
/// leave holes that read as zeros.
pub fn write_atomic_file<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&std::fs::File) -> std::io::Result<()>,
{
    let tmp = temp_next_to(path)?;
    write(tmp.as_file()).map_err(|e| CoreError::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| CoreError::io(path, e))?;
    tmp.persist(path).map_err(|e| CoreError::io(path, e.error))?;
    Ok(())
}

/// Check, cheaply and without syncing anything, that [`write_atomic`] could create `path`: a temporary file is
/// made next to it and removed. For work that writes its output only at its end, to fail before the work.
pub fn check_writable(path: &Path) -> Result<()> {
    temp_next_to(path).map(drop)
}

/// A temporary file in `path`'s directory (same file system, so the final rename is atomic).
fn temp_next_to(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates 0600 files; outputs are meant to be shared (e.g. on a cluster), so ask for 0644 (umask
    // still applies).
    tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .prefix(&format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| CoreError::io(dir, e))
}

/// Write bytes to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        write_bytes_atomic(&p, b"one").unwrap();
        write_bytes_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_atomic(&p, |_| Err(std::io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
        check_writable(&dir.path().join("y.txt")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the probe is removed");
        assert!(check_writable(&dir.path().join("no-such-dir/y.txt")).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044 & !umask(), "readable by group and others unless the umask says no");
    }

    fn umask() -> u32 {
        use std::os::unix::fs::PermissionsExt;
        // Read the umask without changing it: create a file with 0o666 and look.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("probe");
        std::fs::File::create(&p).unwrap();
        !std::fs::metadata(&p).unwrap().permissions().mode() & 0o666
    }
}
