//! Foldings (docs/analysis.md §3): contract two axes of a `C × T × K` tensor into a symmetric matrix over the third.
//!
//! Each folding is one `f32` GEMM (faer) of the tensor viewed as a matrix, computing only the lower triangle:
//! `fold_coords(X) = X₍C×TK₎ X₍C×TK₎ᵀ` and `fold_comps(X) = X₍CT×K₎ᵀ X₍CT×K₎`. The result is returned in `f64`.

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatRef, Par};

use crate::prep::Tensor3;

fn par() -> Par {
    Par::rayon(0)
}

/// Symmetrize a lower-triangular `f32` result into an `f64` matrix.
pub(crate) fn symmetric_f64(lower: &Mat<f32>) -> Mat<f64> {
    let n = lower.nrows();
    Mat::from_fn(n, n, |i, j| if i >= j { lower[(i, j)] as f64 } else { lower[(j, i)] as f64 })
}

/// `out (+)= A Aᵀ`, lower triangle only, for `A` the row-major `n × w` matrix `a` (one GEMM).
pub(crate) fn gram_rows(out: &mut Mat<f32>, a: &[f32], n: usize, w: usize, accum: Accum) {
    let a = MatRef::from_row_major_slice(a, n, w);
    matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        accum,
        a,
        BlockStructure::Rectangular,
        a.transpose(),
        BlockStructure::Rectangular,
        1.0f32,
        par(),
    );
}

/// `out (+)= Aᵀ A`, lower triangle only, for `A` the row-major `n × k` matrix `a` (one GEMM).
pub(crate) fn gram_cols(out: &mut Mat<f32>, a: &[f32], n: usize, k: usize, accum: Accum) {
    let a = MatRef::from_row_major_slice(a, n, k);
    matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        accum,
        a.transpose(),
        BlockStructure::Rectangular,
        a,
        BlockStructure::Rectangular,
        1.0f32,
        par(),
    );
}

/// `fold_coords(X)[p,q] = Σ_t Σ_k X[p,t,k] X[q,t,k]` (`C × C`).
pub fn fold_coords(x: &Tensor3) -> Mat<f64> {
    let (n, w) = (x.n_coord, x.n_ckpt * x.n_comp);
    let mut out = Mat::<f32>::zeros(n, n);
    gram_rows(&mut out, &x.data, n, w, Accum::Replace);
    symmetric_f64(&out)
}

/// `fold_comps(X)[k,l] = Σ_c Σ_t X[c,t,k] X[c,t,l]` (`K × K`).
pub fn fold_comps(x: &Tensor3) -> Mat<f64> {
    let (n, k) = (x.n_coord * x.n_ckpt, x.n_comp);
    let mut out = Mat::<f32>::zeros(k, k);
    gram_cols(&mut out, &x.data, n, k, Accum::Replace);
    symmetric_f64(&out)
}

/// `|X|` element-wise (the input of the coordinate foldings).
pub fn abs(x: &Tensor3) -> Tensor3 {
    let mut y = x.clone();
    abs_in_place(&mut y.data);
    y
}

/// [`abs`] in place.
pub(crate) fn abs_in_place(data: &mut [f32]) {
    use rayon::prelude::*;
    data.par_chunks_mut(1 << 16).for_each(|ch| ch.iter_mut().for_each(|v| *v = v.abs()));
}

/// The normalization of [`CompFolding::SelectedCoordsL2`](crate::pipeline::CompFolding::SelectedCoordsL2):
/// divide each `(t, k)` fibre by its L2 norm over the coordinates (+1e-6).
pub fn normalize_over_coords(x: &Tensor3) -> Tensor3 {
    let mut y = x.clone();
    normalize_over_coords_in_place(&mut y);
    y
}

/// [`normalize_over_coords`] in place. Each `(t, k)` sum runs over the coordinates in order, whichever thread
/// computes it, so the result does not depend on the parallel split.
pub(crate) fn normalize_over_coords_in_place(x: &mut Tensor3) {
    use rayon::prelude::*;
    let (n_c, tk) = (x.n_coord, x.n_ckpt * x.n_comp);
    if tk == 0 {
        return;
    }
    const CHUNK: usize = 1 << 12;
    let mut ss = vec![0.0f32; tk];
    ss.par_chunks_mut(CHUNK).enumerate().for_each(|(i, s)| {
        let off = i * CHUNK;
        for c in 0..n_c {
            let row = &x.data[c * tk + off..c * tk + off + s.len()];
            for (s, &v) in s.iter_mut().zip(row) {
                *s += v * v;
            }
        }
    });
    let d: Vec<f32> = ss.iter().map(|&s| s.sqrt() + 1e-6).collect();
    x.data.par_chunks_mut(tk).for_each(|row| row.iter_mut().zip(&d).for_each(|(v, &di)| *v /= di));
}

/// The normalization of [`CompFolding::CkptsL2`](crate::pipeline::CompFolding::CkptsL2): divide each `(c, k)`
/// fibre by its L2 norm over the checkpoints (+1e-6).
pub fn normalize_over_ckpts(x: &Tensor3) -> Tensor3 {
    let mut y = x.clone();
    normalize_over_ckpts_in_place(&mut y.data, y.n_ckpt, y.n_comp);
    y
}

/// [`normalize_over_ckpts`] in place, on whole coordinates (`T·K` values each) of `data`.
pub(crate) fn normalize_over_ckpts_in_place(data: &mut [f32], n_t: usize, n_k: usize) {
    use rayon::prelude::*;
    data.par_chunks_mut((n_t * n_k).max(1)).for_each(|block| {
        let mut ss = vec![0.0f32; n_k];
        for row in block.chunks_exact(n_k.max(1)) {
            for (s, &v) in ss.iter_mut().zip(row) {
                *s += v * v;
            }
        }
        let d: Vec<f32> = ss.iter().map(|&s| s.sqrt() + 1e-6).collect();
        for row in block.chunks_exact_mut(n_k.max(1)) {
            for (v, &di) in row.iter_mut().zip(&d) {
                *v /= di;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t3(c: usize, t: usize, k: usize) -> Tensor3 {
        let data = (0..c * t * k).map(|i| ((i * 7919) % 23) as f32 / 7.0 - 1.5).collect();
        Tensor3 { n_coord: c, n_ckpt: t, n_comp: k, data }
    }

    #[test]
    fn foldings_match_their_definition() {
        let x = t3(6, 4, 5);
        let fc = fold_coords(&x);
        let fk = fold_comps(&x);
        for p in 0..6 {
            for q in 0..6 {
                let mut s = 0.0f64;
                for t in 0..4 {
                    for k in 0..5 {
                        s += x.get(p, t, k) as f64 * x.get(q, t, k) as f64;
                    }
                }
                assert!((fc[(p, q)] - s).abs() < 1e-4, "{p} {q}");
            }
        }
        for k in 0..5 {
            for l in 0..5 {
                let mut s = 0.0f64;
                for c in 0..6 {
                    for t in 0..4 {
                        s += x.get(c, t, k) as f64 * x.get(c, t, l) as f64;
                    }
                }
                assert!((fk[(k, l)] - s).abs() < 1e-4, "{k} {l}");
            }
        }
    }

    #[test]
    fn normalizations() {
        let x = t3(3, 4, 2);
        let a = normalize_over_coords(&x);
        let b = normalize_over_ckpts(&x);
        let norm_c: f32 = (0..3).map(|c| x.get(c, 1, 1).powi(2)).sum::<f32>().sqrt();
        assert!((a.get(2, 1, 1) - x.get(2, 1, 1) / (norm_c + 1e-6)).abs() < 1e-6);
        let norm_t: f32 = (0..4).map(|t| x.get(2, t, 0).powi(2)).sum::<f32>().sqrt();
        assert!((b.get(2, 3, 0) - x.get(2, 3, 0) / (norm_t + 1e-6)).abs() < 1e-6);
        assert!(abs(&x).data.iter().all(|&v| v >= 0.0));
    }
}
