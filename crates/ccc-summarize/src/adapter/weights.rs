//! An adapter's LoRA matrices: read from `adapter_model.safetensors` (or `.bin`), matched to the base model's
//! weights, checked, and held as the two factors of ΔW in the base weight's stored orientation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::config::AdapterConfig;
use crate::column::with_f32;
use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::safetensors::SafetensorsFile;
use crate::source::{TensorSink, WeightSource};
use crate::tensor::TensorInfo;

/// ΔW of one base weight as a product `s · L · R` in the weight's stored orientation: `L` is `rows × r`, `R` is
/// `r × cols` (both row-major, f32 as adapters store them). For an `nn.Linear` weight `(out, in)`, `L = B`, `R = A`; for a weight stored
/// `(in, out)` (`fan_in_fan_out`, GPT-2 `Conv1D`) or an embedding's `lora_embedding_A/B`, `L = Aᵀ`, `R = Bᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct Delta {
    /// `rows × r`.
    pub(crate) l: Vec<f32>,
    /// `r × cols`.
    pub(crate) r: Vec<f32>,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rank: usize,
    pub(crate) scale: f64,
    /// DoRA's magnitude vector (one per row), if the adapter is DoRA: the weight is then
    /// `m · (W0 + ΔW) / ‖W0 + ΔW‖` row by row.
    pub(crate) magnitude: Option<Vec<f32>>,
    /// A trained copy of the whole weight (`modules_to_save`, row-major, `rows × cols`): the adapted weight is
    /// this copy, whatever W0 (`l`, `r` are then empty, `rank` 0).
    pub(crate) full: Option<Vec<f32>>,
}

impl Delta {
    /// Rows `[first, first + out.len() / cols)` of ΔW.
    pub(crate) fn rows_into(&self, first: usize, out: &mut [f32]) {
        self.product(first, out, Accum::Replace);
    }

    /// `w += ` rows `[first, first + w.len() / cols)` of ΔW (a chunk of `W0 + ΔW`).
    pub(crate) fn add_rows_into(&self, first: usize, w: &mut [f32]) {
        self.product(first, w, Accum::Add);
    }

    /// Rows `[first, first + w.len() / cols)` of the adapted weight, from those of `W0` in `w`: `W0 + ΔW`, and
    /// for DoRA each row then scaled to its magnitude, `mᵢ · wᵢ / ‖wᵢ‖` (PEFT's merge).
    pub(crate) fn merge_rows_into(&self, first: usize, w: &mut [f32]) {
        if let Some(full) = &self.full {
            let start = first * self.cols;
            w.copy_from_slice(&full[start..start + w.len()]);
            return;
        }
        self.add_rows_into(first, w);
        if let Some(m) = &self.magnitude {
            for (row, &mi) in w.chunks_exact_mut(self.cols.max(1)).zip(&m[first..]) {
                let norm = row.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
                // A zero row stays zero (PEFT divides by zero there; no trained weight has one).
                let f = if norm > 0.0 { (mi as f64 / norm) as f32 } else { 0.0 };
                row.iter_mut().for_each(|x| *x *= f);
            }
        }
    }

    /// Bytes the factors hold.
    pub(crate) fn bytes(&self) -> u64 {
        let extra = self.magnitude.as_ref().map_or(0, Vec::len) + self.full.as_ref().map_or(0, Vec::len);
        ((self.l.len() + self.r.len() + extra) * size_of::<f32>()) as u64
    }

    /// A trained copy of the whole weight from an adapter file (`modules_to_save`).
    pub(crate) fn full_copy(shape: &[usize], values: Vec<f32>) -> Self {
        let rows = shape.first().copied().unwrap_or(1);
        let cols = shape.iter().skip(1).product();
        Delta { l: Vec::new(), r: Vec::new(), rows, cols, rank: 0, scale: 0.0, magnitude: None, full: Some(values) }
    }

    /// Whether ΔW needs W0 (DoRA's row scaling; a full copy's ΔW is the copy less W0), so that delta mode
    /// streams the base for it.
    pub(crate) fn needs_base(&self) -> bool {
        self.magnitude.is_some() || self.full.is_some()
    }

    /// `out (accum) s·L[first..]·R` for the `out.len() / cols` rows from `first`: one f32 matrix product (faer),
    /// straight into `out` (a rank-`r` sum per entry, as exact as the f32 weights it is added to).
    fn product(&self, first: usize, out: &mut [f32], accum: Accum) {
        let (c, k) = (self.cols, self.rank);
        let n = out.len() / c.max(1);
        let dst = MatMut::from_row_major_slice_mut(&mut out[..n * c], n, c);
        let l = MatRef::from_row_major_slice(&self.l[first * k..(first + n) * k], n, k);
        let r = MatRef::from_row_major_slice(&self.r, k, c);
        matmul(dst, accum, l, r, self.scale as f32, Par::Seq);
    }
}

/// The ΔW of every base weight an adapter changes, by the base weight's tensor name.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdapterWeights {
    pub(crate) deltas: BTreeMap<String, Delta>,
    /// Bytes of the adapter file read.
    pub(crate) bytes: u64,
}

/// The adapter's weight file in `dir`: `adapter_model.safetensors`, else `adapter_model.bin`.
pub(crate) fn weights_file(dir: &Path) -> Option<PathBuf> {
    ["adapter_model.safetensors", "adapter_model.bin"].into_iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// A tensor read whole: its shape and values.
type Loaded = (Vec<usize>, Vec<f32>);
/// A module's tensors as found (A, B, DoRA magnitude), each with whether it is an embedding's.
type Factors = [Option<(bool, Loaded)>; 3];

/// Collects every tensor of a (small) adapter file as f32.
#[derive(Default)]
struct Collect {
    tensors: BTreeMap<String, Loaded>,
}

impl TensorSink for Collect {
    fn wants(&self, info: &TensorInfo) -> bool {
        info.dtype.is_float()
    }

    fn rows(&mut self, info: &TensorInfo, _first_row: usize, bytes: &[u8]) -> Result<(), SummarizeError> {
        let entry = self.tensors.entry(info.name.clone()).or_insert_with(|| {
            // The whole tensor's room at once: it arrives in chunks, which would otherwise be copied as it grows.
            (info.shape.clone(), Vec::with_capacity(info.shape.iter().product()))
        });
        with_f32(info.dtype, bytes, |v| entry.1.extend_from_slice(v));
        Ok(())
    }
}

/// Which LoRA factor a tensor of an adapter file is.
#[derive(Clone, Copy)]
enum Factor {
    A,
    B,
    EmbA,
    EmbB,
    /// DoRA's `lora_magnitude_vector`.
    Magnitude,
}

/// Split an adapter tensor name `base_model.model.<module>.lora_A[.<adapter>].weight` into the module and factor.
fn split_name(name: &str) -> Option<(&str, Factor)> {
    let rest = name.strip_prefix("base_model.model.")?;
    for (marker, f) in [
        (".lora_A", Factor::A),
        (".lora_B", Factor::B),
        (".lora_embedding_A", Factor::EmbA),
        (".lora_embedding_B", Factor::EmbB),
        (".lora_magnitude_vector", Factor::Magnitude),
    ] {
        if let Some(i) = rest.find(marker) {
            let tail = &rest[i + marker.len()..];
            // `.weight` or `.<adapter>.weight` (older files); embedding factors may have no `.weight`.
            let tail = tail.strip_suffix(".weight").unwrap_or(tail);
            let ok = tail.is_empty() || (tail.len() > 1 && tail.starts_with('.') && !tail[1..].contains('.'));
            if ok {
                return Some((&rest[..i], f));
            }
        }
    }
    None
}

/// A tensor of an adapter file that is a whole weight or bias of the base (`base_model.model.<base name>`, as PEFT
/// saves `modules_to_save` copies and trained biases): the base tensor's name.
fn whole_tensor<'b>(name: &str, base: &'b [TensorInfo]) -> Option<&'b TensorInfo> {
    let rest = name.strip_prefix("base_model.model.")?;
    // Older PEFT files keep the wrapper's infix: `<module>.modules_to_save.<adapter>.weight`.
    let rest = match rest.find(".modules_to_save.") {
        Some(i) => {
            let tail = &rest[i + ".modules_to_save.".len()..];
            format!("{}{}", &rest[..i], &tail[tail.find('.')?..])
        }
        None => rest.to_string(),
    };
    // A LoRA layer's own trained bias is saved under its wrapped module: `<module>.base_layer.bias`.
    let rest = rest.replace(".base_layer.", ".");
    base.iter().find(|t| t.name == rest)
}

/// Read an adapter's weights and match them to the base's tensors: every LoRA pair must adapt a 2-D weight of
/// the base (`<module>.weight`) with consistent shapes, and DoRA magnitudes are kept with their module's
/// factors. A whole weight of the base (a `modules_to_save` copy) replaces it and must have its shape; a trained
/// bias is read past (ccc summarizes weights only). Anything else is an error naming it.
pub(crate) fn load(
    dir: &Path,
    config: &AdapterConfig,
    base: &[TensorInfo],
    read: ReadMethod,
) -> Result<AdapterWeights, SummarizeError> {
    let file = weights_file(dir).ok_or_else(|| SummarizeError::BadAdapter {
        path: dir.into(),
        reason: "no adapter_model.safetensors or adapter_model.bin".into(),
    })?;
    let bad = |reason: String| SummarizeError::BadAdapter { path: file.clone(), reason };
    let mut source: Box<dyn WeightSource> = if file.extension().is_some_and(|e| e == "bin") {
        crate::torch::open_source_with(&file, read)?
    } else {
        Box::new(SafetensorsFile::open_with(&file, read)?)
    };
    let bytes = source.total_bytes();
    let mut sink = Collect::default();
    source.stream(&mut sink, 1 << 20)?;

    let mut pairs: BTreeMap<String, Factors> = BTreeMap::new();
    let mut fulls: BTreeMap<String, Delta> = BTreeMap::new();
    for (name, t) in sink.tensors {
        let Some((module, factor)) = split_name(&name) else {
            let Some(info) = whole_tensor(&name, base) else {
                return Err(bad(format!(
                    "tensor `{name}` is neither a LoRA factor (lora_A / lora_B, DoRA's lora_magnitude_vector) nor a \
                     weight of the base model (a `modules_to_save` copy)"
                )));
            };
            if info.name.ends_with(".bias") {
                continue;
            }
            if t.0 != info.shape {
                return Err(bad(format!(
                    "`{name}` (a `modules_to_save` copy) has shape {:?}, but the base weight `{}` has {:?} (a resized \
                     vocabulary is not supported)",
                    t.0, info.name, info.shape
                )));
            }
            fulls.insert(info.name.clone(), Delta::full_copy(&info.shape, t.1));
            continue;
        };
        let slot = pairs.entry(module.to_string()).or_default();
        match factor {
            Factor::A => slot[0] = Some((false, t)),
            Factor::B => slot[1] = Some((false, t)),
            Factor::EmbA => slot[0] = Some((true, t)),
            Factor::EmbB => slot[1] = Some((true, t)),
            Factor::Magnitude => slot[2] = Some((false, t)),
        }
    }
    if pairs.is_empty() && fulls.is_empty() {
        return Err(bad("holds no LoRA weights".into()));
    }
    let mut out = AdapterWeights { deltas: fulls, bytes };
    for (module, [a, b, magnitude]) in pairs {
        let (Some((emb, (a_shape, a))), Some((_, (b_shape, b)))) = (a, b) else {
            return Err(bad(format!("module `{module}` has only one of its two LoRA factors (lora_A, lora_B)")));
        };
        let target = format!("{module}.weight");
        let Some(info) = base.iter().find(|t| t.name == target) else {
            return Err(bad(format!(
                "adapts `{module}`, but the base model has no weight `{target}` (is --base the model this adapter \
                 was trained on{}?)",
                config.base_model.as_deref().map(|m| format!(", `{m}`")).unwrap_or_default()
            )));
        };
        let (&[ar, ac], &[br, bc], &[w0, w1]) = (a_shape.as_slice(), b_shape.as_slice(), info.shape.as_slice()) else {
            return Err(bad(format!(
                "module `{module}`: lora_A {a_shape:?} and lora_B {b_shape:?} must be matrices, and the base weight \
                 `{target}` {:?} too",
                info.shape
            )));
        };
        // lora_A is (r, in), lora_B (out, r); for embeddings lora_embedding_A is (r, vocab), _B (dim, r).
        let (rank, inner, outer) = (ar, ac, br);
        let transposed = emb || config.fan_in_fan_out;
        let (want0, want1) = if transposed { (inner, outer) } else { (outer, inner) };
        if bc != rank || (w0, w1) != (want0, want1) {
            return Err(bad(format!(
                "module `{module}`: lora_A {a_shape:?} and lora_B {b_shape:?} do not fit the base weight `{target}` \
                 {:?}{}",
                info.shape,
                if config.fan_in_fan_out { " (fan_in_fan_out: stored (in, out))" } else { "" }
            )));
        }
        let (want_r, _) = config.rank_alpha(&module);
        if want_r != rank {
            return Err(bad(format!(
                "module `{module}` has rank {rank}, but adapter_config.json says {want_r} (r / rank_pattern)"
            )));
        }
        let scale = config.scaling(&module, rank);
        let magnitude = match (magnitude, config.use_dora) {
            (None, false) => None,
            (Some(_), false) => {
                return Err(bad(format!(
                    "module `{module}` has a DoRA magnitude vector, but adapter_config.json has no `use_dora`: true"
                )))
            }
            (None, true) => {
                return Err(bad(format!("module `{module}`: a DoRA adapter (`use_dora`) without its magnitude vector")))
            }
            (Some(_), true) if transposed => {
                return Err(bad(format!(
                    "module `{module}`: DoRA on {} is not supported (only `nn.Linear` weights stored (out, in))",
                    if emb { "an embedding" } else { "a fan_in_fan_out (Conv1D) weight" }
                )))
            }
            (Some((_, (shape, m))), true) => {
                if shape.iter().product::<usize>() != outer {
                    return Err(bad(format!(
                        "module `{module}`: DoRA magnitude vector {shape:?} does not fit the {outer} rows of `{target}`"
                    )));
                }
                Some(m)
            }
        };
        if out.deltas.contains_key(&target) {
            return Err(bad(format!("`{target}` has both LoRA factors and a whole trained copy (`modules_to_save`)")));
        }
        let delta = if transposed {
            // Stored (in, out) = (B·A)ᵀ = Aᵀ·Bᵀ.
            let mut l = vec![0f32; inner * rank];
            for k in 0..rank {
                for j in 0..inner {
                    l[j * rank + k] = a[k * inner + j];
                }
            }
            let mut r = vec![0f32; rank * outer];
            for i in 0..outer {
                for k in 0..rank {
                    r[k * outer + i] = b[i * rank + k];
                }
            }
            Delta { l, r, rows: inner, cols: outer, rank, scale, magnitude, full: None }
        } else {
            Delta { l: b, r: a, rows: outer, cols: inner, rank, scale, magnitude, full: None }
        };
        out.deltas.insert(target, delta);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let m = |n: &str| split_name(n).map(|(m, _)| m.to_string());
        assert_eq!(
            m("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").as_deref(),
            Some("model.layers.0.self_attn.q_proj")
        );
        assert_eq!(m("base_model.model.x.lora_B.default.weight").as_deref(), Some("x"));
        assert_eq!(m("base_model.model.model.embed_tokens.lora_embedding_A").as_deref(), Some("model.embed_tokens"));
        assert_eq!(m("base_model.model.lm_head.weight"), None);
        assert_eq!(m("model.x.lora_A.weight"), None);
    }

    #[test]
    fn whole_tensors_are_found_by_their_base_names() {
        let info = |n: &str| TensorInfo { name: n.into(), dtype: crate::tensor::DType::F32, shape: vec![2, 2] };
        let base = [info("lm_head.weight"), info("h.0.attn.c_attn.bias")];
        let found = |n: &str| whole_tensor(n, &base).map(|t| t.name.clone());
        assert_eq!(found("base_model.model.lm_head.weight").as_deref(), Some("lm_head.weight"));
        assert_eq!(found("base_model.model.lm_head.modules_to_save.default.weight").as_deref(), Some("lm_head.weight"));
        assert_eq!(found("base_model.model.h.0.attn.c_attn.base_layer.bias").as_deref(), Some("h.0.attn.c_attn.bias"));
        assert_eq!(found("base_model.model.score.weight"), None);
        assert_eq!(found("lm_head.weight"), None);
    }

    #[test]
    fn full_copies_replace_rows() {
        let d = Delta::full_copy(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(d.needs_base() && d.rank == 0);
        let mut w = vec![9f32; 3];
        d.merge_rows_into(1, &mut w);
        assert_eq!(w, [4.0, 5.0, 6.0]);
    }

    #[test]
    fn delta_rows() {
        // B (2×1) · A (1×3), scale 2.
        let d = Delta {
            l: vec![1.0, -2.0],
            r: vec![1.0, 2.0, 3.0],
            rows: 2,
            cols: 3,
            rank: 1,
            scale: 2.0,
            magnitude: None,
            full: None,
        };
        let mut out = vec![0f32; 6];
        d.rows_into(0, &mut out);
        assert_eq!(out, [2.0, 4.0, 6.0, -4.0, -8.0, -12.0]);
        let mut one = vec![0f32; 3];
        d.rows_into(1, &mut one);
        assert_eq!(one, [-4.0, -8.0, -12.0]);
        // W0 + ΔW for row 1.
        let mut w = vec![1f32, 0.5, -1.0];
        d.add_rows_into(1, &mut w);
        assert_eq!(w, [-3.0, -7.5, -13.0]);
    }

    #[test]
    fn dora_rows_take_their_magnitude() {
        // ΔW = 0 (B = 0, as PEFT initializes it): DoRA rescales each row of W0 to its magnitude.
        let d = Delta {
            l: vec![0.0, 0.0],
            r: vec![1.0, 2.0],
            rows: 2,
            cols: 2,
            rank: 1,
            scale: 1.0,
            magnitude: Some(vec![10.0, 0.5]),
            full: None,
        };
        let mut w = vec![3f32, 4.0, 0.0, -2.0];
        d.merge_rows_into(0, &mut w);
        assert_eq!(w, [6.0, 8.0, 0.0, -0.5]);
        // With ΔW: the norm is that of W0 + ΔW, row 1 only (first = 1).
        let d = Delta { l: vec![0.0, 1.0], magnitude: Some(vec![1.0, 5.0]), ..d };
        let mut w = vec![2f32, 2.0];
        d.merge_rows_into(1, &mut w);
        // W0 + ΔW = [3, 4], norm 5, magnitude 5.
        assert_eq!(w, [3.0, 4.0]);
    }
}
