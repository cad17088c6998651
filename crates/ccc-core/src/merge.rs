//! Combining files of the same run (e.g. the shards of a cluster job).

use std::path::Path;

use crate::atomic::write_atomic_file;
use crate::error::{CoreError, Result};
use crate::file::{self, CccFile, CccHeader};
use crate::meta::CccMeta;
use crate::tensor::CccTensor;

/// Why two tensors (metadata, coordinates, component lengths) are not of the same run, if they are not.
fn incompatible(a: (&CccMeta, usize, &[i64]), b: (&CccMeta, usize, &[i64])) -> Option<String> {
    let ((m, n, l), (f, n0, l0)) = (b, a);
    if m.components != f.components {
        Some("different components".to_string())
    } else if n != n0 {
        Some(format!("{n} vs {n0} coordinates"))
    } else if m.mode != f.mode || m.summary != f.summary {
        Some(format!("mode/summary {}/{} vs {}/{}", m.mode, m.summary, f.mode, f.summary))
    } else if m.architecture != f.architecture {
        Some(format!("architecture `{}` vs `{}`", m.architecture, f.architecture))
    } else if l != l0 {
        Some("different component lengths".to_string())
    } else {
        None
    }
}

/// The merged metadata: the first input's, with the union of recorded duplicates.
fn merged_meta<'a>(first: &CccMeta, all: impl Iterator<Item = &'a CccMeta>) -> CccMeta {
    let mut meta = first.clone();
    let mut dups: Vec<_> = all.flat_map(|m| m.duplicates.iter().copied()).collect();
    dups.sort();
    dups.dedup();
    meta.duplicates = dups;
    meta
}

/// [`merge`] of files into `output` (written atomically; it may be one of the inputs), a column at a time, so
/// memory is two columns whatever the files' size. Returns the header written.
pub fn merge_files(inputs: &[&Path], output: &Path) -> Result<CccHeader> {
    let files: Vec<CccFile> = inputs.iter().map(|p| CccFile::open(p)).collect::<Result<_>>()?;
    let first = files.first().ok_or_else(|| CoreError::Shape("nothing to merge".into()))?.header();
    let label = |i: usize| inputs[i].display().to_string();
    for (i, f) in files.iter().enumerate().skip(1) {
        let h = f.header();
        let why = incompatible((&first.meta, first.n_coord, &first.lengths), (&h.meta, h.n_coord, &h.lengths));
        if let Some(why) = why {
            return Err(CoreError::Shape(format!("cannot merge `{}` into `{}`: {why}", label(i), label(0))));
        }
    }
    let mut steps: Vec<i64> = files.iter().flat_map(|f| f.header().steps.iter().copied()).collect();
    steps.sort_unstable();
    steps.dedup();
    // Which input (and its column) fills each step: the first that has it filled; the others must agree.
    let mut owner: Vec<Option<(usize, usize)>> = vec![None; steps.len()];
    let mut conflict = None;
    for (i, f) in files.iter().enumerate() {
        let h = f.header();
        for (ti, &step) in h.steps.iter().enumerate() {
            let Some(to) = steps.binary_search(&step).ok().filter(|_| h.filled[ti]) else { continue };
            match owner[to] {
                None => owner[to] = Some((i, ti)),
                Some((j, tj)) => {
                    let (a, b) = (files[j].read_column(tj)?, f.read_column(ti)?);
                    if a.iter().zip(&b).any(|(x, y)| x.to_bits() != y.to_bits()) {
                        conflict = conflict.or(Some(CoreError::MergeConflict { step, a: label(j), b: label(i) }));
                    }
                }
            }
        }
    }
    if let Some(e) = conflict {
        return Err(e);
    }
    let shape = CccTensor {
        meta: merged_meta(&first.meta, files.iter().map(|f| &f.header().meta)),
        n_coord: first.n_coord,
        filled: owner.iter().map(Option::is_some).collect(),
        steps,
        lengths: first.lengths.clone(),
        mags: Vec::new(),
    };
    file::check_shape(&shape)?;
    let header = file::header_bytes(&shape, file::HEADER_RESERVE);
    write_atomic_file(output, |out| {
        file::write_head(out, &shape, &header)?;
        let written = file::read_header_from(out, output).map_err(std::io::Error::other)?;
        for (to, o) in owner.iter().enumerate() {
            if let Some((i, ti)) = *o {
                let col = files[i].read_column(ti).map_err(std::io::Error::other)?;
                file::write_values(out, &written, to, &col)?;
            }
        }
        Ok(())
    })?;
    file::read_header(output)
}

/// Merge tensors of the same run: same components, coordinates, mode, summary and architecture. Steps are the
/// union; a step filled in several inputs must have bit-identical values there (else [`CoreError::MergeConflict`]).
/// `names` label the inputs in error messages.
pub fn merge(inputs: &[CccTensor], names: &[String]) -> Result<CccTensor> {
    let first = inputs.first().ok_or_else(|| CoreError::Shape("nothing to merge".into()))?;
    let label = |i: usize| names.get(i).cloned().unwrap_or_else(|| format!("input {i}"));
    for (i, t) in inputs.iter().enumerate().skip(1) {
        let why = incompatible((&first.meta, first.n_coord, &first.lengths), (&t.meta, t.n_coord, &t.lengths));
        if let Some(why) = why {
            return Err(CoreError::Shape(format!("cannot merge `{}` into `{}`: {why}", label(i), label(0))));
        }
    }
    let mut steps: Vec<i64> = inputs.iter().flat_map(|t| t.steps.iter().copied()).collect();
    steps.sort_unstable();
    steps.dedup();
    let meta = merged_meta(&first.meta, inputs.iter().map(|t| &t.meta));
    let mut out = CccTensor::empty(meta, first.n_coord, steps, first.lengths.clone())?;
    let mut owner: Vec<Option<usize>> = vec![None; out.n_ckpt()];
    for (i, t) in inputs.iter().enumerate() {
        for (ti, &step) in t.steps.iter().enumerate() {
            if !t.filled[ti] {
                continue;
            }
            let to = out.step_index(step).ok_or_else(|| CoreError::Shape(format!("step {step} lost in merge")))?;
            let col = t.column(ti);
            if let Some(j) = owner[to] {
                let prev = out.column(to);
                if prev.iter().zip(&col).any(|(a, b)| a.to_bits() != b.to_bits()) {
                    return Err(CoreError::MergeConflict { step, a: label(j), b: label(i) });
                }
                continue;
            }
            out.set_column(to, &col)?;
            owner[to] = Some(i);
        }
    }
    Ok(out)
}
