//! A `ccc/1` file's values, memory-mapped and read a block at a time (docs/analysis.md §10).
//!
//! [`MappedTensor`] never copies the tensor whole: callers copy a block of rows out (`coords × checkpoints × K`,
//! the file's own `[c][t][k]` order), work on it, and the view then drops the pages it mapped
//! ([`MappedTensor::release`]), so the process's resident memory is the blocks in flight, not the file (mapped
//! pages that stay resident count towards RSS). The page cache keeps the file for the next pass.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ccc_core::{CccMeta, CccTensor, StepSelection};
use memmap2::Mmap;
use rayon::prelude::*;

use crate::error::AnalyzeError;

/// The checkpoints of a `ccc/1` file an analysis uses (filled and selected), memory-mapped.
#[derive(Debug)]
pub struct MappedTensor {
    path: PathBuf,
    meta: CccMeta,
    n_coord: usize,
    n_comp: usize,
    /// Checkpoints in the file.
    n_file_ckpt: usize,
    /// File positions of the analyzed checkpoints.
    ckpts: Vec<usize>,
    steps: Vec<i64>,
    lengths: Vec<i64>,
    map: Mmap,
    /// Byte range of the values inside the map.
    values: Range<usize>,
}

impl MappedTensor {
    /// Map `path` and keep its filled checkpoints whose step `steps` selects.
    ///
    /// Errors: an unreadable or invalid file, no checkpoint to analyze, no coordinates or components.
    pub fn open(path: &Path, steps: &StepSelection) -> Result<MappedTensor, AnalyzeError> {
        let header = ccc_core::file::read_header(path)?;
        let [n_coord, n_file_ckpt, n_comp] = header.shape();
        if let Some(w) = header.steps.windows(2).find(|w| w[0] >= w[1]) {
            return Err(AnalyzeError::BadInput(format!(
                "`{}`: steps are not strictly increasing ({} then {})",
                path.display(),
                w[0],
                w[1]
            )));
        }
        let file = File::open(path).map_err(|e| ccc_core::CoreError::Io { path: path.to_path_buf(), source: e })?;
        // SAFETY: the map is read-only and ccc never writes a file it analyzes; a file truncated by another
        // process while mapped is outside what any reader of it can defend against.
        let map =
            unsafe { Mmap::map(&file) }.map_err(|e| ccc_core::CoreError::Io { path: path.to_path_buf(), source: e })?;
        let r = header.values_range();
        let want = (n_coord as u64).checked_mul(n_file_ckpt as u64).and_then(|x| x.checked_mul(n_comp as u64 * 4));
        if want != Some(r.end - r.start) || r.end > map.len() as u64 {
            return Err(AnalyzeError::BadInput(format!(
                "`{}`: the values do not fit the file ({} × {} × {} at bytes {}..{} of {})",
                path.display(),
                n_coord,
                n_file_ckpt,
                n_comp,
                r.start,
                r.end,
                map.len()
            )));
        }
        let ckpts: Vec<usize> =
            (0..n_file_ckpt).filter(|&t| header.filled[t] && steps.contains(header.steps[t])).collect();
        if ckpts.is_empty() {
            let filled = header.filled.iter().filter(|&&f| f).count();
            return Err(AnalyzeError::BadInput(if filled == 0 {
                "the tensor has no filled checkpoint: run `ccc summarize` first".into()
            } else {
                format!(
                    "the step selection keeps none of the {filled} filled checkpoints: see `ccc info` for the steps"
                )
            }));
        }
        if n_coord == 0 || n_comp == 0 {
            return Err(AnalyzeError::BadInput(format!(
                "nothing to analyze: {n_coord} coordinates × {n_comp} components"
            )));
        }
        let steps = ckpts.iter().map(|&t| header.steps[t]).collect();
        Ok(MappedTensor {
            path: path.to_path_buf(),
            meta: header.meta,
            n_coord,
            n_comp,
            n_file_ckpt,
            ckpts,
            steps,
            lengths: header.lengths,
            map,
            values: r.start as usize..r.end as usize,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The file's metadata.
    pub fn meta(&self) -> &CccMeta {
        &self.meta
    }
    /// Coordinates.
    pub fn n_coord(&self) -> usize {
        self.n_coord
    }
    /// Analyzed checkpoints.
    pub fn n_ckpt(&self) -> usize {
        self.ckpts.len()
    }
    /// Components.
    pub fn n_comp(&self) -> usize {
        self.n_comp
    }
    /// `[C, T, K]` of the analyzed checkpoints.
    pub fn shape(&self) -> [usize; 3] {
        [self.n_coord, self.n_ckpt(), self.n_comp]
    }
    /// Steps of the analyzed checkpoints.
    pub fn steps(&self) -> &[i64] {
        &self.steps
    }
    /// Component row lengths.
    pub fn lengths(&self) -> &[i64] {
        &self.lengths
    }
    /// Bytes of the analyzed values (`C·T·K·4`).
    pub fn analyzed_bytes(&self) -> u64 {
        (self.n_coord * self.n_ckpt() * self.n_comp) as u64 * 4
    }

    /// The `K` values of coordinate `c` at analyzed checkpoint `t`, into `out`.
    ///
    /// # Panics
    /// When `c`, `t` or `out.len()` do not fit the tensor (a caller's broken contract).
    #[inline]
    pub fn read_row(&self, c: usize, t: usize, out: &mut [f32]) {
        let k = self.n_comp;
        let start = self.values.start + (c * self.n_file_ckpt + self.ckpts[t]) * k * 4;
        let bytes = &self.map[start..start + k * 4];
        for (o, b) in out[..k].iter_mut().zip(bytes.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// The block `coords × ts × K` (in that order, row-major) into `out`, in parallel over coordinates.
    ///
    /// # Panics
    /// When an index is out of range or `out.len() != coords.len() · ts.len() · K`.
    pub fn read_block(&self, coords: &[usize], ts: Range<usize>, out: &mut [f32]) {
        let (k, nt) = (self.n_comp, ts.len());
        assert_eq!(out.len(), coords.len() * nt * k, "block buffer of the wrong size");
        if out.is_empty() {
            return;
        }
        out.par_chunks_mut(nt * k).zip(coords.par_iter()).for_each(|(dst, &c)| {
            for (i, t) in ts.clone().enumerate() {
                self.read_row(c, t, &mut dst[i * k..(i + 1) * k]);
            }
        });
    }

    /// Drop the mapped pages from this process (they stay in the page cache). Called after each block so the
    /// resident memory of a pass is its blocks, not the file.
    pub fn release(&self) {
        // SAFETY: `DontNeed` on a read-only file mapping only unmaps pages; the next access faults them back in
        // from the file, so concurrent readers see the same bytes. No reference into the map is held here.
        let _ = unsafe { self.map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    }

    /// The analyzed checkpoints as an in-memory tensor (for small inputs, and for figures).
    pub fn to_tensor(&self) -> Result<CccTensor, AnalyzeError> {
        let (c_n, t_n, k_n) = (self.n_coord, self.n_ckpt(), self.n_comp);
        let all: Vec<usize> = (0..c_n).collect();
        let mut mags = vec![0.0f32; c_n * t_n * k_n];
        self.read_block(&all, 0..t_n, &mut mags);
        self.release();
        let t = CccTensor {
            meta: self.meta.clone(),
            n_coord: c_n,
            steps: self.steps.clone(),
            lengths: self.lengths.clone(),
            filled: vec![true; t_n],
            mags,
        };
        t.validate().map_err(AnalyzeError::BadInput)?;
        Ok(t)
    }

    /// A block of coordinates, `T·K` values each, that fits `bytes` (at least one).
    pub fn coords_per_block(&self, bytes: usize) -> usize {
        (bytes / (self.n_ckpt() * self.n_comp * 4).max(1)).clamp(1, self.n_coord.max(1))
    }

    /// A block of checkpoints of `n_rows` coordinates, `K` values each, that fits `bytes` (at least one).
    pub fn ckpts_per_block(&self, bytes: usize, n_rows: usize) -> usize {
        (bytes / (n_rows * self.n_comp * 4).max(1)).clamp(1, self.n_ckpt().max(1))
    }
}

/// Split `0..n` into consecutive ranges of `size` (the last may be shorter).
pub(crate) fn blocks(n: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = size.max(1);
    (0..n.div_ceil(size)).map(move |i| i * size..((i + 1) * size).min(n))
}
