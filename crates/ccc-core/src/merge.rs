//! Combining files of the same run (e.g. the shards of a cluster job).

use crate::error::{CoreError, Result};
use crate::tensor::CccTensor;

/// Merge tensors of the same run: same components, coordinates, mode, summary and architecture. Steps are the
/// union; a step filled in several inputs must have bit-identical values there (else [`CoreError::MergeConflict`]).
/// `names` label the inputs in error messages.
pub fn merge(inputs: &[CccTensor], names: &[String]) -> Result<CccTensor> {
    let first = inputs.first().ok_or_else(|| CoreError::Shape("nothing to merge".into()))?;
    let label = |i: usize| names.get(i).cloned().unwrap_or_else(|| format!("input {i}"));
    for (i, t) in inputs.iter().enumerate().skip(1) {
        let m = &t.meta;
        let f = &first.meta;
        let why = if m.components != f.components {
            Some("different components".to_string())
        } else if t.n_coord != first.n_coord {
            Some(format!("{} vs {} coordinates", t.n_coord, first.n_coord))
        } else if m.mode != f.mode || m.summary != f.summary {
            Some(format!("mode/summary {}/{} vs {}/{}", m.mode, m.summary, f.mode, f.summary))
        } else if m.architecture != f.architecture {
            Some(format!("architecture `{}` vs `{}`", m.architecture, f.architecture))
        } else if t.lengths != first.lengths {
            Some("different component lengths".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            return Err(CoreError::Shape(format!("cannot merge `{}` into `{}`: {why}", label(i), label(0))));
        }
    }
    let mut steps: Vec<i64> = inputs.iter().flat_map(|t| t.steps.iter().copied()).collect();
    steps.sort_unstable();
    steps.dedup();
    let mut meta = first.meta.clone();
    let mut dups: Vec<_> = inputs.iter().flat_map(|t| t.meta.duplicates.iter().copied()).collect();
    dups.sort();
    dups.dedup();
    meta.duplicates = dups;
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
