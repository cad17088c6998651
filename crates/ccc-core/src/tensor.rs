//! The CCC tensor in memory.

use crate::error::{CoreError, Result};
use crate::meta::CccMeta;
use crate::steps::StepSelection;

/// The CCC tensor `mags[c, t, k]` with its axes' labels and metadata.
///
/// `mags` is stored row-major: index `(c * n_ckpt + t) * n_comp + k`.
#[derive(Debug, Clone, PartialEq)]
pub struct CccTensor {
    /// Metadata (model, architecture, mode, components, …).
    pub meta: CccMeta,
    /// Number of residual-stream coordinates (hidden size).
    pub n_coord: usize,
    /// Training step of each checkpoint, strictly increasing.
    pub steps: Vec<i64>,
    /// Row length of each component.
    pub lengths: Vec<i64>,
    /// Whether each checkpoint's column has been computed.
    pub filled: Vec<bool>,
    /// The values, `n_coord × n_ckpt × n_comp`.
    pub mags: Vec<f32>,
}

impl CccTensor {
    /// A tensor of zeros with no checkpoint filled.
    ///
    /// Errors when `steps` are not strictly increasing or `lengths` does not match the components.
    pub fn empty(meta: CccMeta, n_coord: usize, steps: Vec<i64>, lengths: Vec<i64>) -> Result<Self> {
        let t = CccTensor {
            n_coord,
            filled: vec![false; steps.len()],
            mags: vec![0.0; n_coord * steps.len() * meta.components.len()],
            meta,
            steps,
            lengths,
        };
        t.validate().map_err(CoreError::Shape)?;
        Ok(t)
    }

    /// Number of checkpoints.
    pub fn n_ckpt(&self) -> usize {
        self.steps.len()
    }

    /// Number of components.
    pub fn n_comp(&self) -> usize {
        self.meta.components.len()
    }

    /// `[n_coord, n_ckpt, n_comp]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.n_coord, self.n_ckpt(), self.n_comp()]
    }

    /// Flat index of `(c, t, k)`.
    #[inline]
    pub fn index(&self, c: usize, t: usize, k: usize) -> usize {
        (c * self.n_ckpt() + t) * self.n_comp() + k
    }

    /// The value at `(c, t, k)`.
    ///
    /// # Panics
    /// When an index is out of range.
    #[inline]
    pub fn get(&self, c: usize, t: usize, k: usize) -> f32 {
        self.mags[self.index(c, t, k)]
    }

    /// The position of `step`, if present.
    pub fn step_index(&self, step: i64) -> Option<usize> {
        self.steps.binary_search(&step).ok()
    }

    /// Checks the internal consistency of shapes and steps; returns the reason when broken.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.validate_layout()?;
        let k = self.n_comp();
        let want = self.n_coord.checked_mul(self.steps.len()).and_then(|x| x.checked_mul(k));
        if want != Some(self.mags.len()) {
            return Err(format!(
                "mags has {} values, expected {} × {} × {}",
                self.mags.len(),
                self.n_coord,
                self.steps.len(),
                k
            ));
        }
        Ok(())
    }

    /// [`CccTensor::validate`] without the values: lengths, filled flags and steps (for a tensor described but not
    /// held in memory).
    pub(crate) fn validate_layout(&self) -> std::result::Result<(), String> {
        let k = self.n_comp();
        if self.lengths.len() != k {
            return Err(format!("{} lengths for {} components", self.lengths.len(), k));
        }
        if self.filled.len() != self.steps.len() {
            return Err(format!("{} filled flags for {} steps", self.filled.len(), self.steps.len()));
        }
        if let Some(w) = self.steps.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!("steps are not strictly increasing ({} then {})", w[0], w[1]));
        }
        Ok(())
    }

    /// The column of checkpoint `t` as a `n_coord × n_comp` row-major matrix.
    pub fn column(&self, t: usize) -> Vec<f32> {
        let k = self.n_comp();
        let mut out = Vec::with_capacity(self.n_coord * k);
        for c in 0..self.n_coord {
            let i = self.index(c, t, 0);
            out.extend_from_slice(&self.mags[i..i + k]);
        }
        out
    }

    /// Set the column of checkpoint `t` from a `n_coord × n_comp` row-major matrix and mark it filled.
    pub fn set_column(&mut self, t: usize, col: &[f32]) -> Result<()> {
        let k = self.n_comp();
        if col.len() != self.n_coord * k || t >= self.n_ckpt() {
            return Err(CoreError::Shape(format!(
                "column of {} values for checkpoint {t} of {}, expected {} × {}",
                col.len(),
                self.n_ckpt(),
                self.n_coord,
                k
            )));
        }
        for c in 0..self.n_coord {
            let i = self.index(c, t, 0);
            self.mags[i..i + k].copy_from_slice(&col[c * k..(c + 1) * k]);
        }
        self.filled[t] = true;
        Ok(())
    }

    /// Keep only the checkpoints at the given positions (in the given order, which must keep steps increasing).
    pub fn select_checkpoints(&self, keep: &[usize]) -> Result<CccTensor> {
        let k = self.n_comp();
        let mut mags = Vec::with_capacity(self.n_coord * keep.len() * k);
        for c in 0..self.n_coord {
            for &t in keep {
                if t >= self.n_ckpt() {
                    return Err(CoreError::Shape(format!("checkpoint {t} out of range {}", self.n_ckpt())));
                }
                let i = self.index(c, t, 0);
                mags.extend_from_slice(&self.mags[i..i + k]);
            }
        }
        let out = CccTensor {
            meta: self.meta.clone(),
            n_coord: self.n_coord,
            steps: keep.iter().map(|&t| self.steps[t]).collect(),
            lengths: self.lengths.clone(),
            filled: keep.iter().map(|&t| self.filled[t]).collect(),
            mags,
        };
        out.validate().map_err(CoreError::Shape)?;
        Ok(out)
    }

    /// Only the filled checkpoints (what the analysis uses).
    pub fn filled_only(&self) -> CccTensor {
        let keep: Vec<usize> = (0..self.n_ckpt()).filter(|&t| self.filled[t]).collect();
        // Indices come from our own range, so this cannot fail.
        self.select_checkpoints(&keep).unwrap_or_else(|_| self.clone())
    }

    /// Only the filled checkpoints whose step is selected.
    pub fn select_steps(&self, sel: &StepSelection) -> CccTensor {
        let keep: Vec<usize> = (0..self.n_ckpt()).filter(|&t| self.filled[t] && sel.contains(self.steps[t])).collect();
        self.select_checkpoints(&keep).unwrap_or_else(|_| self.clone())
    }

    /// Error naming the first non-finite value among the filled checkpoints, if any.
    pub fn check_finite(&self) -> Result<()> {
        let (t_n, k_n) = (self.n_ckpt(), self.n_comp());
        if let Some(i) = self.mags.iter().enumerate().position(|(i, v)| !v.is_finite() && self.filled[(i / k_n) % t_n])
        {
            let c = i / (t_n * k_n);
            let t = (i / k_n) % t_n;
            let k = i % k_n;
            return Err(CoreError::NonFinite {
                coord: c,
                step: self.steps[t],
                component: self.meta.components[k].name(),
                value: self.mags[i],
            });
        }
        Ok(())
    }
}
