//! Random-access reading: a byte source that can be read at any offset, from several threads at once.
//!
//! Local weight files are mapped into memory a window at a time ([`ReadAt::map`]): the summarizing threads
//! reduce the page cache's own pages, so no byte is copied before it is summarized, and the page faults are
//! taken in parallel by the threads that touch the pages. A window is unmapped as soon as it is summarized, so
//! resident memory stays bounded by one window whatever the file size. Where a file cannot be mapped (a
//! filesystem without mmap, or mapping switched off), each thread reads the block it is about to reduce with a
//! positioned read (`pread`) into its own cache-sized buffer.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::os::unix::fs::FileExt;

/// Random-access reading of a byte source (a file, or a buffer in tests and fuzzing). `Sync`, because blocks of
/// one source are read from several threads at once.
pub trait ReadAt: Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Fill `buf` with the bytes starting at `offset`; an error if the source ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;

    /// The `len` bytes at `offset` mapped into memory, when the source can do that cheaply; `None` when the
    /// caller should read them with [`ReadAt::read_exact_at`] instead (the default).
    fn map(&self, _offset: u64, _len: usize) -> Option<Mapped> {
        None
    }
}

/// A read-only memory map of part of a file, unmapped when dropped: the bytes asked for, inside a mapping that
/// extends past them to 2 MiB boundaries of the file (or its end).
#[derive(Debug)]
pub struct Mapped {
    map: memmap2::Mmap,
    start: usize,
    len: usize,
}

impl Mapped {
    /// Bytes mapped beside the window (up to 2 MiB on each side), which may be resident too.
    pub fn mapped_beside(&self) -> usize {
        self.map.len() - self.len
    }
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
    }
}

/// Windows are mapped from and to multiples of 2 MiB of the file (within its length), so that the page cache's
/// large folios (up to 2 MiB) are mapped whole, one fault each, where a mapping starting mid-folio would map them
/// a 64 KiB fault-around at a time (a window is one tensor's part, at any offset). The bytes outside the window
/// are not touched.
pub(crate) const MAP_ALIGN: u64 = 2 << 20;

/// How local weight files are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadMethod {
    /// Mapped into memory a window at a time (the default): nothing is copied before it is summarized. A mapped
    /// file must not be truncated by another process while it is read: touching a page past the new end raises
    /// `SIGBUS`, as does a read error behind a mapped page, which ends the process (the CLI reports it in one
    /// line).
    #[default]
    Map,
    /// Positioned reads (`pread`) into each thread's buffer: a file truncated meanwhile, or a read error, gives
    /// an I/O error naming the file.
    Pread,
}

/// A file with its length taken once at open.
#[derive(Debug)]
pub struct FileAt {
    file: File,
    len: u64,
    method: ReadMethod,
}

impl FileAt {
    /// Wrap an open file; its bytes are handed out as memory maps (see [`FileAt::with_method`]).
    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileAt { file, len, method: ReadMethod::Map })
    }

    /// Whether [`ReadAt::map`] maps the file or declines, so that every byte is read with `pread`.
    pub fn with_method(mut self, method: ReadMethod) -> Self {
        self.method = method;
        self
    }
}

impl ReadAt for FileAt {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(&self.file, buf, offset)
    }

    fn map(&self, offset: u64, len: usize) -> Option<Mapped> {
        // Out-of-range requests go to `read_exact_at`, which reports them as errors.
        let in_range = offset.checked_add(len as u64).is_some_and(|end| end <= self.len);
        if self.method != ReadMethod::Map || len == 0 || !in_range {
            return None;
        }
        // SAFETY: the file is open read-only and the range lies within its length taken at open; the mapping is
        // private to the caller and dropped after use. Truncation by another process while mapped is the
        // documented exception (see `ReadMethod::Map`). The mapping is widened to MAP_ALIGN within the file.
        let from = offset / MAP_ALIGN * MAP_ALIGN;
        let to = (offset + len as u64).div_ceil(MAP_ALIGN).saturating_mul(MAP_ALIGN).min(self.len);
        let map_len = usize::try_from(to - from).ok()?;
        let map = unsafe { memmap2::MmapOptions::new().offset(from).len(map_len).map(&self.file) }.ok()?;
        Some(Mapped { map, start: usize::try_from(offset - from).ok()?, len })
    }
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the buffer");
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(eof)?);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        ReadAt::read_exact_at(self.as_slice(), buf, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_window_holds_the_bytes_a_read_gives() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        f.write_all(&bytes).unwrap();
        let file = FileAt::new(File::open(f.path()).unwrap()).unwrap();
        // Offsets that are and are not page-aligned.
        for (at, len) in [(0u64, 10usize), (4096, 5000), (13, 19_000), (19_999, 1)] {
            let map = file.map(at, len).expect("a regular file maps");
            let mut read = vec![0u8; len];
            file.read_exact_at(&mut read, at).unwrap();
            assert_eq!(&map[..], &read[..], "window ({at}, {len})");
        }
        assert!(file.map(19_990, 11).is_none(), "a window past the end is read (and reported) instead");
        assert!(file.map(0, 0).is_none());
        let pread = FileAt::new(File::open(f.path()).unwrap()).unwrap().with_method(ReadMethod::Pread);
        assert!(pread.map(0, 10).is_none());
    }

    /// Windows are mapped widened to 2 MiB boundaries: still exactly the bytes asked for, near and across those
    /// boundaries and at the file's end.
    #[test]
    fn a_widened_window_holds_exactly_its_bytes() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let m = MAP_ALIGN as usize;
        let n = 5 * m + 12_345;
        let bytes: Vec<u8> = (0..n as u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        f.write_all(&bytes).unwrap();
        let file = FileAt::new(File::open(f.path()).unwrap()).unwrap();
        for (at, len) in
            [(0, m), (1, m), (m - 1, 2), (m, 1), (m + 4096, 3 * m), (2 * m - 7, n - (2 * m - 7)), (n - 1, 1)]
        {
            let map = file.map(at as u64, len).unwrap_or_else(|| panic!("window ({at}, {len}) of {n} maps"));
            assert_eq!(map.len(), len);
            assert!(map[..] == bytes[at..at + len], "window ({at}, {len})");
            let (from, to) = (at - at % m, n.min((at + len).next_multiple_of(m)));
            assert_eq!(map.mapped_beside(), to - from - len, "window ({at}, {len}) is mapped over [{from}, {to})");
        }
    }
}
