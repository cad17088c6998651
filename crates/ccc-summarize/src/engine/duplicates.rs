//! Duplicate checkpoints: those with the same content id as an earlier one are copied instead of read again;
//! any two with the same summarized column (by hash, in this run or already in the files) are reported and
//! recorded in the files' `duplicates` metadata, the earliest step being the original.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ccc_core::layout::Banded;
use ccc_core::{Duplicate, Mode, Progress};
use xxhash_rust::xxh3::Xxh3;

use super::outputs::OpenOutput;
use super::schedule::Written;
use super::{poisoned, write, RunReport};
use crate::checkpoint::Checkpoint;
use crate::error::SummarizeError;

/// The hash that finds duplicate checkpoints: of a column's values in full mode, in the layout it is built in
/// ([`Banded`]), or else in compact mode. 128 bits of XXH3: it tells identical checkpoints (public series really
/// repeat some) from different ones at memory speed; it is not meant to resist checkpoints crafted to collide.
pub(super) type ColumnHash = u128;

pub(super) fn column_hash(values: &[f32]) -> ColumnHash {
    let mut h = Xxh3::new();
    hash_values(&mut h, values);
    h.digest128()
}

/// Add `values` to `h` as little-endian bytes.
fn hash_values(h: &mut Xxh3, values: &[f32]) {
    if cfg!(target_endian = "little") {
        h.update(bytemuck::cast_slice(values));
        return;
    }
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in values.chunks(1 << 14) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        h.update(&buf);
    }
}

/// [`column_hash`] of checkpoint `t`'s column as stored in output `o`.
fn stored_hash(o: &OpenOutput, t: usize) -> Result<ColumnHash, SummarizeError> {
    let rows = o.file.read_column(t)?;
    if o.mode == Mode::Compact {
        return Ok(column_hash(&rows));
    }
    // Band by band, so that a large column is not held twice.
    let [c_n, _, k_n] = o.file.header().shape();
    let layout = Banded::new(c_n, k_n);
    let (mut h, mut band) = (Xxh3::new(), Vec::new());
    for r in layout.bands() {
        band.resize(r.len() * k_n, 0.0);
        layout.band_from_rows(&rows[r.start * k_n..r.end * k_n], &mut band);
        hash_values(&mut h, &band);
    }
    Ok(h.digest128())
}

/// The checkpoints to read (in order), and the `(step, original step)` of those whose content id an earlier one
/// has.
pub(super) fn by_content_id<'c>(todo: &[&'c dyn Checkpoint]) -> (Vec<&'c dyn Checkpoint>, Vec<(i64, i64)>) {
    let mut primary: Vec<&dyn Checkpoint> = Vec::new();
    let mut copies: Vec<(i64, i64)> = Vec::new();
    let mut ids: HashMap<String, i64> = HashMap::new();
    for &c in todo {
        match c.content_id() {
            Some(id) => match ids.get(&id) {
                Some(&orig) => copies.push((c.step(), orig)),
                None => {
                    ids.insert(id, c.step());
                    primary.push(c);
                }
            },
            None => primary.push(c),
        }
    }
    (primary, copies)
}

/// After the checkpoints read have been `written`: write the `copies` (each original's column is read once per
/// output and written to all its copies, synced together before they are marked filled), then find the
/// duplicates among the new columns and between them and the columns already in the files, warn about them and
/// record them in every output; fill in `report`.
pub(super) fn record(
    outputs: &mut [OpenOutput],
    written: Vec<Written>,
    copies: &[(i64, i64)],
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), SummarizeError> {
    let hash_out = outputs.iter().position(|o| o.mode == Mode::Full).unwrap_or(0);
    let mut new_hashes: Vec<(i64, ColumnHash)> = Vec::new();
    for w in written {
        report.computed.push(w.step);
        report.bytes += w.bytes;
        report.nonfinite.extend(w.nonfinite.into_iter().map(|t| (w.step, t)));
        new_hashes.push((w.step, w.hash));
    }
    let mut by_orig: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(step, orig) in copies {
        by_orig.entry(orig).or_default().push(step);
    }
    for (&orig, steps) in &by_orig {
        let hash = match new_hashes.iter().find(|(s, _)| *s == orig) {
            Some(&(_, h)) => h,
            None => {
                let src = &outputs[hash_out];
                stored_hash(src, src.file.header().steps.iter().position(|&s| s == orig).ok_or_else(poisoned)?)?
            }
        };
        for o in outputs.iter_mut() {
            let h = o.file.header();
            let at = |step: i64| h.steps.iter().position(|&s| s == step).ok_or_else(poisoned);
            let from = at(orig)?;
            let to: Vec<usize> = steps.iter().map(|&s| at(s)).collect::<Result<_, _>>()?;
            write::copy_column(o, from, &to)?;
        }
        for &step in steps {
            new_hashes.push((step, hash));
            report.computed.push(step);
        }
    }
    report.computed.sort_unstable();
    let new_steps: BTreeSet<i64> = new_hashes.iter().map(|(s, _)| *s).collect();

    // Hashes of the columns that were already in the files (for duplicates across runs).
    let mut hashes: Vec<(i64, ColumnHash)> = Vec::new();
    {
        let o = &outputs[hash_out];
        let h = o.file.header();
        for (t, (&s, &filled)) in h.steps.iter().zip(&h.filled).enumerate() {
            if filled && !new_steps.contains(&s) {
                hashes.push((s, stored_hash(o, t)?));
            }
        }
    }

    // Duplicates: equal column hashes; the earliest step is the original.
    let mut groups: HashMap<ColumnHash, Vec<i64>> = HashMap::new();
    for (s, h) in hashes.iter().chain(&new_hashes) {
        groups.entry(*h).or_default().push(*s);
    }
    let mut dups: Vec<Duplicate> = Vec::new();
    for mut steps in groups.into_values() {
        steps.sort_unstable();
        for &s in &steps[1..] {
            if new_steps.contains(&s) || new_steps.contains(&steps[0]) {
                dups.push(Duplicate { step: s, same_as: steps[0] });
            }
        }
    }
    dups.sort();
    for d in &dups {
        progress.warn(&format!(
            "step {} has the same weights as step {} (duplicate checkpoint; recorded in the file metadata)",
            d.step, d.same_as
        ));
    }
    if !dups.is_empty() {
        for o in outputs.iter_mut() {
            let mut meta = o.file.header().meta.clone();
            meta.duplicates.extend(dups.iter().copied());
            meta.duplicates.sort();
            meta.duplicates.dedup();
            o.file.set_meta(meta)?;
        }
    }
    report.duplicates = dups;
    Ok(())
}
