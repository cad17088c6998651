//! Building one column from per-component accumulators, component by component as the tensors are read.
//!
//! A component is finished as soon as the last tensor it takes rows from has been read: its accumulator gets the
//! summary's finishing step, goes into the full column as `f32`, and is added into its compact component. The
//! full column is component-major within bands of rows ([`Banded`]), so a finished component is a few contiguous
//! runs of it, and the column is put in a file's order once, band by band, when it is written. So the
//! memory held is the column itself plus the components in flight — not an `f64` accumulator for every
//! component of the model (Llama-70B: 786 MB), which is what keeps a job's memory near the column's size.
//!
//! Compact values are sums over components in canonical order, whatever order the tensors arrive in (storage
//! order differs between files: layers sort as `0, 1, 10, 11, …, 2`, shards split anywhere). A finished
//! component waits until every component before it in its compact group has been added, so the compact column
//! is the same, bit for bit, for any storage order. Local files are read in canonical order (see
//! [`crate::source::TensorSink::rank`]), so little waits; a download comes in storage order, and at worst (all
//! tensors in reverse) everything waits, the memory of the old design.

use ccc_core::layout::Banded;
use ccc_core::Summary;

use super::buffer::ZeroBuf;
use crate::plan::Plan;
use crate::tensor_plan::TensorPlan;

/// The column being assembled (see the module docs).
pub(crate) struct Assembler<'a> {
    plan: &'a Plan,
    summary: Summary,
    c_n: usize,
    /// Per component: its accumulator while its tensors are read, then its finished values until they are added
    /// to its compact component.
    bufs: Vec<Option<Vec<f64>>>,
    /// Per component: tensors still to be read.
    left: Vec<u32>,
    /// Per component: finished.
    done: Vec<bool>,
    /// Per compact component: its components in canonical order, and how many have been added.
    members: Vec<Vec<usize>>,
    added: Vec<usize>,
    /// Compact sums, `kc * n_coord + c`.
    compact: Vec<f64>,
    /// Full mode, in `layout`.
    full: ZeroBuf<f32>,
    layout: Banded,
    /// Released buffers, for the next components (no allocation or page fault per component).
    pool: Vec<Vec<f64>>,
}

impl<'a> Assembler<'a> {
    pub(crate) fn new(plan: &'a Plan, summary: Summary) -> Self {
        let (c_n, k_n, kc_n) = (plan.n_coord(), plan.components.len(), plan.compact.len());
        let mut left = vec![0u32; k_n];
        for tp in plan.tensors.values() {
            for slot in slots_of(tp) {
                left[slot] += 1;
            }
        }
        let mut members = vec![Vec::new(); kc_n];
        for (k, &kc) in plan.compact_of.iter().enumerate() {
            members[kc].push(k);
        }
        Assembler {
            plan,
            summary,
            c_n,
            bufs: vec![None; k_n],
            left,
            done: vec![false; k_n],
            members,
            added: vec![0; kc_n],
            compact: vec![0.0; kc_n * c_n],
            full: ZeroBuf::zeros(c_n * k_n),
            layout: Banded::new(c_n, k_n),
            pool: Vec::new(),
        }
    }

    /// The accumulator of component `slot` (zeros on first use).
    pub(crate) fn acc(&mut self, slot: usize) -> &mut [f64] {
        let c_n = self.c_n;
        let pool = &mut self.pool;
        self.bufs[slot].get_or_insert_with(|| zeroed(pool, c_n))
    }

    /// The accumulators of components `slots` (sorted, distinct), in that order.
    pub(crate) fn accs(&mut self, slots: &[usize]) -> Vec<&mut [f64]> {
        for &s in slots {
            self.acc(s);
        }
        // Split off each wanted buffer in turn (a scan of every component per block would cost more than the
        // block for a model with thousands of components).
        let mut out = Vec::with_capacity(slots.len());
        let mut rest: &mut [Option<Vec<f64>>] = &mut self.bufs;
        let mut base = 0;
        for &s in slots {
            let Some(tail) = std::mem::take(&mut rest).get_mut(s.saturating_sub(base)..) else { break };
            let Some((one, tail)) = tail.split_first_mut() else { break };
            if let Some(v) = one.as_deref_mut() {
                out.push(v);
            }
            (rest, base) = (tail, s + 1);
        }
        out
    }

    /// The accumulator of component `slot`, if it has one yet.
    pub(crate) fn acc_if_any(&self, slot: usize) -> Option<&[f64]> {
        if self.done[slot] {
            return None;
        }
        self.bufs[slot].as_deref()
    }

    /// All rows of a tensor have been added: finish the components that were waiting only for it.
    pub(crate) fn tensor_read(&mut self, tp: &TensorPlan) {
        let finished: Vec<usize> = slots_of(tp)
            .filter(|&k| {
                self.left[k] = self.left[k].saturating_sub(1);
                self.left[k] == 0 && !self.done[k]
            })
            .collect();
        self.finish_components(&finished);
    }

    /// The finished column: full mode in its [`Banded`] layout, compact mode row-major (`n_coord × n_compact`).
    /// Components none of whose tensors arrived are zero.
    pub(crate) fn finish(mut self) -> (ZeroBuf<f32>, Banded, ZeroBuf<f32>) {
        let rest: Vec<usize> = (0..self.done.len()).filter(|&k| !self.done[k]).collect();
        self.finish_components(&rest);
        let (c_n, kc_n) = (self.c_n, self.members.len());
        let mut compact = ZeroBuf::zeros(c_n * kc_n);
        for (kc, sums) in self.compact.chunks_exact(c_n.max(1)).enumerate() {
            for (c, &s) in sums.iter().enumerate() {
                compact[c * kc_n + kc] = s as f32;
            }
        }
        (self.full, self.layout, compact)
    }

    /// Finish components `ks` (distinct, not finished yet): the finishing step, into the full column, then into
    /// the compact sums as far as canonical order allows.
    fn finish_components(&mut self, ks: &[usize]) {
        let c_n = self.c_n;
        for &k in ks {
            let mut v = self.bufs[k].take().unwrap_or_else(|| zeroed(&mut self.pool, c_n));
            if !self.plan.components[k].kind.is_norm() {
                finish_values(self.summary, self.plan.lengths[k] as usize, &mut v);
            }
            for (coords, at) in self.layout.runs_of(k) {
                store_f32(&mut self.full[at..at + coords.len()], &v[coords]);
            }
            self.bufs[k] = Some(v);
            self.done[k] = true;
        }
        store_fence();
        let mut groups: Vec<usize> = ks.iter().map(|&k| self.plan.compact_of[k]).collect();
        groups.sort_unstable();
        groups.dedup();
        for kc in groups {
            self.add_ready(kc);
        }
    }

    /// Add to compact component `kc` its finished components that are next in canonical order.
    fn add_ready(&mut self, kc: usize) {
        let c_n = self.c_n;
        while let Some(&k) = self.members[kc].get(self.added[kc]) {
            if !self.done[k] {
                break;
            }
            if let Some(v) = self.bufs[k].as_deref() {
                let sums = &mut self.compact[kc * c_n..(kc + 1) * c_n];
                sums.iter_mut().zip(v).for_each(|(s, &x)| *s += x);
            }
            self.added[kc] += 1;
            self.release(k);
        }
    }

    /// Component `k` is in both columns: its buffer goes back to the pool.
    fn release(&mut self, k: usize) {
        if let Some(v) = self.bufs[k].take() {
            self.pool.push(v);
        }
    }
}

/// The components a tensor adds to (each once).
fn slots_of(tp: &TensorPlan) -> impl Iterator<Item = usize> + '_ {
    let (one, segs) = match tp {
        TensorPlan::Norm { slot } => (Some(*slot), &[][..]),
        TensorPlan::Matrix { segments, .. } => (None, &segments[..]),
    };
    // Segments are sorted by entry, not by component; a component may own several runs.
    let mut seen: Vec<usize> = segs.iter().map(|s| s.slot).collect();
    seen.sort_unstable();
    seen.dedup();
    one.into_iter().chain(seen)
}

/// `out = src as f32`. A run of a finished component is whole cache lines of a column far larger than the
/// cache, written once and not read until the column is written out: on x86-64 it is written with streaming
/// stores, which fill a line without first reading it (and without evicting the accumulators in flight).
/// [`store_fence`] must follow before another thread reads `out`.
fn store_f32(out: &mut [f32], src: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    if out.as_ptr().align_offset(16) == 0 {
        use std::arch::x86_64::{_mm_cvtpd_ps, _mm_loadu_pd, _mm_movelh_ps, _mm_stream_ps};
        let (out4, out_rest) = out.split_at_mut(out.len() / 4 * 4);
        let (src4, src_rest) = src.split_at(out4.len());
        for (o, s) in out4.chunks_exact_mut(4).zip(src4.chunks_exact(4)) {
            // SAFETY: SSE2 is part of x86-64; `s` holds 4 f64 (unaligned loads), `o` 4 f32 at a 16-byte aligned
            // address (`out` is, and each chunk is 16 bytes further).
            unsafe {
                let lo = _mm_cvtpd_ps(_mm_loadu_pd(s.as_ptr()));
                let hi = _mm_cvtpd_ps(_mm_loadu_pd(s.as_ptr().add(2)));
                _mm_stream_ps(o.as_mut_ptr(), _mm_movelh_ps(lo, hi));
            }
        }
        out_rest.iter_mut().zip(src_rest).for_each(|(o, &x)| *o = x as f32);
        return;
    }
    out.iter_mut().zip(src).for_each(|(o, &x)| *o = x as f32);
}

/// Order the streaming stores of [`store_f32`] before later stores (such as the one that hands the column to
/// another thread).
fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64; a fence has no other effect.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// A buffer of `n` zeros, reusing a released one when there is one.
fn zeroed(pool: &mut Vec<Vec<f64>>, n: usize) -> Vec<f64> {
    match pool.pop() {
        Some(mut v) => {
            v.clear();
            v.resize(n, 0.0);
            v
        }
        None => vec![0.0; n],
    }
}

/// The summary's finishing step on accumulators (which hold whichever of Σw², Σ|w| and max|w| the summary
/// accumulates, so each is passed for all three), in place. One loop per summary, so the match is taken once
/// per component and the loop vectorizes.
fn finish_values(summary: Summary, len: usize, vals: &mut [f64]) {
    macro_rules! each {
        ($s:expr) => {
            vals.iter_mut().for_each(|v| *v = $s.finish(*v, *v, *v, len))
        };
    }
    match summary {
        Summary::MeanSq => each!(Summary::MeanSq),
        Summary::L2Sq => each!(Summary::L2Sq),
        Summary::L2 => each!(Summary::L2),
        Summary::L1 => each!(Summary::L1),
        Summary::MaxAbs => each!(Summary::MaxAbs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, TensorInfo};
    use crate::Mapping;

    /// The streaming stores give the bits of `as f32`, at any alignment and length, for values that round,
    /// overflow, underflow or are not numbers.
    #[test]
    fn stored_runs_are_the_f32_conversion() {
        let vals: Vec<f64> = (0..70)
            .map(|i| match i % 7 {
                0 => 1.0 / (i as f64 + 3.0),
                1 => 1e300,
                2 => -1e-300,
                3 => f64::NAN,
                4 => f64::NEG_INFINITY,
                5 => (1.0 + f64::EPSILON) * (1u64 << 24) as f64,
                _ => i as f64 * 1e-40,
            })
            .collect();
        let mut out = vec![0f32; 80];
        for start in 0..4 {
            for len in [0, 1, 3, 4, 5, 16, 63, 64] {
                out.fill(-1.0);
                store_f32(&mut out[start..start + len], &vals[..len]);
                store_fence();
                for (o, &v) in out[start..start + len].iter().zip(&vals) {
                    let want = v as f32;
                    assert!(o.to_bits() == want.to_bits() || (o.is_nan() && want.is_nan()), "{v}: {o} vs {want}");
                }
                assert!(out[..start].iter().chain(&out[start + len..]).all(|&o| o == -1.0));
            }
        }
    }

    /// A 4-layer GPT-NeoX plan (hidden 8, 2 heads) and its tensors.
    fn plan() -> (Plan, Vec<TensorInfo>) {
        let c = 8;
        let cfg = serde_json::json!({"model_type": "gpt_neox", "hidden_size": c, "num_attention_heads": 2,
            "num_hidden_layers": 4, "vocab_size": 16, "tie_word_embeddings": false});
        let m = Mapping::detect(&cfg).unwrap();
        let t = |name: String, shape: Vec<usize>| TensorInfo { name, dtype: DType::F32, shape };
        let mut tensors =
            vec![t("gpt_neox.embed_in.weight".into(), vec![16, c]), t("embed_out.weight".into(), vec![16, c])];
        for l in 0..4 {
            let p = format!("gpt_neox.layers.{l}");
            tensors.extend([
                t(format!("{p}.attention.query_key_value.weight"), vec![3 * c, c]),
                t(format!("{p}.attention.dense.weight"), vec![c, c]),
                t(format!("{p}.mlp.dense_h_to_4h.weight"), vec![4 * c, c]),
                t(format!("{p}.mlp.dense_4h_to_h.weight"), vec![c, 4 * c]),
            ]);
        }
        (Plan::new(&m, &cfg, &tensors, false).unwrap(), tensors)
    }

    /// Sums whose `f32` rounding depends on the order of the `f64` additions: in canonical order
    /// `((2⁻⁵³ + 2⁻⁵³) + 1) + 2⁻²⁴` is just above the `f32` midpoint `1 + 2⁻²⁴` and rounds up; starting from 1,
    /// each 2⁻⁵³ is a tie that rounds back to 1, and the sum rounds to 1.0. The layers' `mlp_in` accumulators hold
    /// these values (as `l2sq`, whose finishing step is the identity) and arrive in storage orders that differ
    /// from canonical order.
    #[test]
    fn compact_sums_follow_canonical_order_whatever_the_arrival_order() {
        let (plan, tensors) = plan();
        let (k_n, kc_n) = (plan.components.len(), plan.compact.len());
        let mlp_in: Vec<usize> = (0..4)
            .map(|l| plan.components.iter().position(|c| c.to_string() == format!("L{l}.mlp_in")).unwrap())
            .collect();
        let kc = plan.compact_of[mlp_in[0]];
        let vals = [2f64.powi(-53), 2f64.powi(-53), 1.0, 2f64.powi(-24)];
        let canonical = (((vals[0] + vals[1]) + vals[2]) + vals[3]) as f32;
        let from_one = (((vals[2] + vals[3]) + vals[0]) + vals[1]) as f32;
        assert_ne!(canonical, from_one, "the values must make the order visible");
        for order in [[0, 1, 2, 3], [2, 3, 0, 1], [3, 2, 1, 0], [1, 3, 0, 2]] {
            let mut asm = Assembler::new(&plan, Summary::L2Sq);
            // Every other tensor first, then the mlp_in tensors in this order.
            let other = tensors.iter().filter(|t| !t.name.contains("h_to_4h"));
            for info in other {
                asm.tensor_read(&plan.tensors[&info.name]);
            }
            for l in order {
                asm.acc(mlp_in[l])[0] = vals[l];
                let name = format!("gpt_neox.layers.{l}.mlp.dense_h_to_4h.weight");
                asm.tensor_read(&plan.tensors[&name]);
            }
            let (full, layout, compact) = asm.finish();
            let full = layout.to_row_major(&full);
            assert_eq!(compact[kc].to_bits(), canonical.to_bits(), "arrival order {order:?}");
            for (l, &k) in mlp_in.iter().enumerate() {
                assert_eq!(full[k], vals[l] as f32);
            }
            assert_eq!(full.len(), 8 * k_n);
            assert_eq!(compact.len(), 8 * kc_n);
        }
    }

    #[test]
    fn components_without_their_tensors_are_zero_and_finished_ones_hold_no_accumulator() {
        let (plan, tensors) = plan();
        let mut asm = Assembler::new(&plan, Summary::MeanSq);
        for info in &tensors[..3] {
            let slots: Vec<usize> = slots_of(&plan.tensors[&info.name]).collect();
            for &s in &slots {
                asm.acc(s).fill(2.0);
            }
            asm.tensor_read(&plan.tensors[&info.name]);
            for &s in &slots {
                assert!(asm.done[s] && asm.acc_if_any(s).is_none());
            }
        }
        let (full, layout, _) = asm.finish();
        let full = layout.to_row_major(&full);
        let k_n = plan.components.len();
        let written = full[..k_n].iter().filter(|&&v| v != 0.0).count();
        assert_eq!(written, 2 + 6, "emb_in, emb_out and the two heads each of layer 0's Q, K and V");
    }
}
