//! The summarizer's write policy: when its output files are written and synced, in which order, and how a new
//! file's disk space is claimed. (The `ccc/1` format and its primitives are `ccc_core::file`'s.)
//!
//! The crash-safety order: a column's values are written and synced before its `filled` flag, in every output,
//! so a crash never leaves a flag without its values. Within that order the disk is kept busy: each band of a full
//! column starts its writeback as soon as it is written, each output syncs as soon as its own values are written
//! (the small compact file does not wait for the full one), and the caller's work (the column hashes) runs while
//! the disk syncs.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;

use ccc_core::file::CccFile;
use ccc_core::layout::Banded;
use ccc_core::{CoreError, Mode};

use super::outputs::OpenOutput;
use super::poisoned;
use super::schedule::Finished;
use crate::error::SummarizeError;

/// Write checkpoints' columns into every output: the values of all files first (one thread per file, which
/// syncs once its values are written), then the `filled` flags. Returns what `meanwhile` returns, which runs once
/// every file's values are written, while the disk syncs (so it does not take a core from the writers).
pub(super) fn write_columns<T>(
    outputs: &mut [OpenOutput],
    batch: &[Finished],
    meanwhile: impl FnOnce() -> T,
) -> Result<T, SummarizeError> {
    let mut at: Vec<Vec<usize>> = Vec::with_capacity(outputs.len());
    for o in outputs.iter() {
        let steps = &o.file.header().steps;
        let ts = batch.iter().map(|f| steps.iter().position(|&s| s == f.c.step()).ok_or_else(poisoned));
        at.push(ts.collect::<Result<_, _>>()?);
    }
    let out = std::thread::scope(|s| {
        let (written, all_written) = mpsc::channel::<()>();
        let jobs: Vec<_> = outputs
            .iter_mut()
            .zip(&at)
            .map(|(o, ts)| {
                let written = written.clone();
                s.spawn(move || {
                    let values = batch.iter().zip(ts).try_for_each(|(f, &t)| match o.mode {
                        Mode::Full => write_banded(&o.file, t, &f.col.full),
                        Mode::Compact => o.file.write_column_values(t, &f.col.compact).map_err(SummarizeError::from),
                    });
                    drop(written);
                    values.and_then(|()| o.file.sync_values().map_err(SummarizeError::from))
                })
            })
            .collect();
        drop(written);
        // Ends when every writer has dropped its sender: written (or failed, or panicked).
        all_written.iter().for_each(drop);
        let out = meanwhile();
        jobs.into_iter().try_for_each(|j| j.join().map_err(|_| poisoned())?)?;
        Ok::<_, SummarizeError>(out)
    })?;
    for (o, ts) in outputs.iter_mut().zip(&at) {
        o.file.mark_filled(ts)?;
    }
    Ok(out)
}

/// Write checkpoint `t`'s full column, built in the [`Banded`] layout (as the summarizer builds it), without
/// syncing: each band is put in the file's order in a buffer of about 256 KiB and written, so no second copy of
/// the column is made, and its writeback is started at once. Two threads take alternate bands, so one puts a band
/// in order while the other writes (writes into one file take turns anyway).
fn write_banded(file: &CccFile, t: usize, built: &[f32]) -> Result<(), SummarizeError> {
    const THREADS: usize = 2;
    let [c_n, t_n, k_n] = file.header().shape();
    if built.len() != c_n * k_n {
        return Err(CoreError::Shape(format!(
            "column of {} values for checkpoint {t} of {t_n}, expected {c_n} × {k_n}",
            built.len()
        ))
        .into());
    }
    let layout = Banded::new(c_n, k_n);
    let write_bands = |first: usize| -> Result<(), SummarizeError> {
        let mut band = Vec::new();
        for rows in layout.bands().skip(first).step_by(THREADS) {
            band.resize(rows.len() * k_n, 0.0);
            layout.band_rows_into(built, rows.clone(), &mut band);
            file.write_rows(t, rows.start, &band)?;
            start_writeback(file, t, rows);
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let others: Vec<_> = (1..THREADS).map(|i| s.spawn(move || write_bands(i))).collect();
        let mine = write_bands(0);
        others.into_iter().try_for_each(|h| h.join().map_err(|_| poisoned())?)?;
        mine
    })
}

/// Ask the kernel to start writing the bytes just written for coordinates `rows` of checkpoint `t` to the disk
/// now (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so the disk works while later bands are put in order and the
/// final sync waits only for the tail. Only a hint: errors surface at the sync.
fn start_writeback(file: &CccFile, t: usize, rows: Range<usize>) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if rows.is_empty() {
            return;
        }
        let h = file.header();
        let first = h.row_pos(rows.start, t);
        let end = h.row_pos(rows.end - 1, t) + (h.shape()[2] as u64) * 4;
        if let (Ok(off), Ok(len)) = (libc::off64_t::try_from(first), libc::off64_t::try_from(end - first)) {
            // SAFETY: a plain system call on an open descriptor; no memory is passed.
            unsafe { libc::sync_file_range(file.as_fd().as_raw_fd(), off, len, libc::SYNC_FILE_RANGE_WRITE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, t, rows);
}

/// Copy checkpoint `from`'s column of output `o` to checkpoints `to` (copies of identical checkpoints): written,
/// synced together, then marked filled.
pub(super) fn copy_column(o: &mut OpenOutput, from: usize, to: &[usize]) -> Result<(), SummarizeError> {
    let col = o.file.read_column(from)?;
    for &t in to {
        o.file.write_column_values(t, &col)?;
    }
    o.file.sync_values()?;
    o.file.mark_filled(to)?;
    Ok(())
}

/// Up to this many bytes of a new file's values are written as zeros; beyond, their space is allocated instead
/// (see [`claim_zeros`]).
const ZEROS_WRITTEN_MAX: u64 = 64 << 20;

/// Claim the disk space of a new file's values (a hole of the file, see `CccFile::create_empty`) and sync it,
/// before any column is written. The file is already valid (a hole reads as zeros), so an interrupted run leaves
/// no temporary file however long this takes.
pub(super) fn claim_space(file: &CccFile) -> Result<(), SummarizeError> {
    let io = |source| SummarizeError::Io { path: file.path().to_path_buf(), source };
    let values = file.header().values_range();
    // A second descriptor of the same open file, for writes of bytes that are not values.
    let f = File::from(file.as_fd().try_clone_to_owned().map_err(io)?);
    claim_zeros(&f, values.start, values.end - values.start, ZEROS_WRITTEN_MAX).and_then(|()| f.sync_data()).map_err(io)
}

/// Claim disk space for the `len` bytes at `start` (a hole of the file), which read as zeros. Up to `write_max`
/// bytes the zeros are written, so that a column later written over them syncs as a plain overwrite (a 15 MB
/// column: 20 ms on a virtio disk, against 28 where blocks are allocated at the sync). A larger tensor — many
/// checkpoints of a large model, tens of GB — is allocated with `fallocate` in milliseconds, where writing its
/// zeros would take minutes (2.9 s per GB here); a filesystem without `fallocate` gets the zeros written.
fn claim_zeros(f: &File, start: u64, len: u64, write_max: u64) -> std::io::Result<()> {
    if len > write_max {
        #[cfg(target_os = "linux")]
        match allocate(f, start, len) {
            Ok(()) => return Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOSYS)) => {}
            Err(e) => return Err(e),
        }
    }
    write_zeros(f, start, len)
}

/// `fallocate(2)` of `len` bytes at `start`: allocated blocks that read as zeros; out of space is an error now.
#[cfg(target_os = "linux")]
fn allocate(f: &File, start: u64, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let too_big = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "file too large to allocate");
    let (start, len) =
        (libc::off_t::try_from(start).map_err(|_| too_big())?, libc::off_t::try_from(len).map_err(|_| too_big())?);
    loop {
        // SAFETY: a plain system call on an open descriptor; no memory is passed.
        if unsafe { libc::fallocate(f.as_raw_fd(), 0, start, len) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Write `len` zero bytes at `start`, a MiB at a time.
fn write_zeros(f: &File, start: u64, len: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; (1usize << 20).min(len as usize)];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        f.write_all_at(&zeros[..n], start + at)?;
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::MetadataExt;

    use ccc_core::{CccMeta, Component, ComponentKind, Summary};

    use super::*;

    /// Both ways of claiming the space of a hole (written zeros, and `fallocate` or its fallback) leave it
    /// allocated and reading as zeros, and leave the bytes around it alone.
    #[test]
    fn claimed_space_is_allocated_and_zero() {
        for write_max in [0, u64::MAX] {
            let mut tmp = tempfile::NamedTempFile::new().unwrap();
            tmp.write_all(&[7u8; 4096]).unwrap();
            let f = tmp.as_file();
            let len = 3 << 20;
            f.set_len(4096 + len + 4096).unwrap();
            f.write_all_at(&[9u8; 4096], 4096 + len).unwrap();
            f.sync_all().unwrap();
            let before = f.metadata().unwrap().blocks() * 512;
            assert!(before < len, "the file starts with a hole ({before} bytes allocated)");
            claim_zeros(f, 4096, len, write_max).unwrap();
            f.sync_all().unwrap();
            let after = f.metadata().unwrap().blocks() * 512;
            assert!(after >= len + 8192, "write_max {write_max}: {after} bytes allocated");
            let mut all = Vec::new();
            std::fs::File::open(tmp.path()).unwrap().read_to_end(&mut all).unwrap();
            assert!(all[..4096].iter().all(|&b| b == 7));
            assert!(all[4096..4096 + len as usize].iter().all(|&b| b == 0));
            assert!(all[4096 + len as usize..].iter().all(|&b| b == 9));
        }
    }

    /// An empty `ccc/1` file of `n_coord` coordinates, 8 checkpoints and the components of a 2-layer model.
    fn empty_file(dir: &std::path::Path, n_coord: usize) -> CccFile {
        let kinds = [ComponentKind::EmbIn, ComponentKind::Q, ComponentKind::MlpIn, ComponentKind::MlpOut];
        let components = Component::full_list(2, 2, 2, &kinds);
        let lengths = vec![8; components.len()];
        let meta = CccMeta {
            model: "m".into(),
            architecture: "a".into(),
            mode: Mode::Full,
            n_layer: 2,
            n_head: 2,
            n_kv_head: 2,
            summary: Summary::MeanSq,
            components,
            duplicates: Vec::new(),
            extra: Default::default(),
        };
        CccFile::create_empty(&dir.join(format!("{n_coord}.safetensors")), meta, n_coord, (0..8).collect(), lengths)
            .unwrap()
    }

    /// A new output's values get their disk space before any column: written zeros for a small file, allocated
    /// blocks beyond 64 MiB; either way the file reads as zeros and takes columns.
    #[test]
    fn a_new_output_has_its_space_claimed() {
        let dir = tempfile::tempdir().unwrap();
        for n_coord in [1000, 400_000] {
            let mut f = empty_file(dir.path(), n_coord);
            claim_space(&f).unwrap();
            let values = f.header().values_range();
            let bytes = values.end - values.start;
            assert_eq!(n_coord > 100_000, bytes > ZEROS_WRITTEN_MAX, "{n_coord} coordinates: {bytes} bytes");
            let md = std::fs::metadata(f.path()).unwrap();
            assert!(md.blocks() * 512 >= bytes, "{} blocks of 512 bytes for {bytes} bytes", md.blocks());
            assert!(f.read_column(3).unwrap().iter().all(|&v| v == 0.0));
            let k = f.header().shape()[2];
            let col: Vec<f32> = (0..n_coord * k).map(|i| (i % 977) as f32 * 0.5).collect();
            f.write_column(5, &col).unwrap();
            assert_eq!(f.read_column(5).unwrap(), col);
            assert!(f.read_column(4).unwrap().iter().all(|&v| v == 0.0));
        }
    }

    /// A column built in bands is written in the file's order, as the row-major column would be.
    #[test]
    fn a_banded_column_is_written_in_the_files_order() {
        let dir = tempfile::tempdir().unwrap();
        for n_coord in [3, 1000, 70_000] {
            let f = empty_file(dir.path(), n_coord);
            let k = f.header().shape()[2];
            let row_major: Vec<f32> = (0..n_coord * k).map(|i| i as f32 * 0.25 - 3.0).collect();
            let built = Banded::new(n_coord, k).from_row_major(&row_major);
            write_banded(&f, 6, &built).unwrap();
            assert_eq!(f.read_column(6).unwrap(), row_major, "{n_coord} coordinates");
            assert!(write_banded(&f, 6, &built[1..]).is_err());
        }
    }
}
