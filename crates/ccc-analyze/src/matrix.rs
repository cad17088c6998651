//! The `C × K` matrices of the matrix chains (docs/analysis.md §3) and their steps: tensor → matrix (a reduction over the
//! checkpoints), matrix → matrix (normalizations), matrix → vector (one number per coordinate).
//!
//! Everything is `f32`, the reference's dtype, with NumPy's order of summation where it decides the last bit.

use faer::Mat;
use rayon::prelude::*;

use crate::pipeline::{MatNorm, Reduce, RowReduce};
use crate::prep::Tensor3;
use crate::robust::{median_f32_in_place, pairwise_sum_f32};

/// A `C × K` matrix in `f32`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mat32 {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Mat32 {
    /// Stack row blocks (each with the same number of columns) into one matrix.
    pub(crate) fn stack(parts: Vec<Mat32>, cols: usize) -> Mat32 {
        let rows = parts.iter().map(|p| p.rows).sum();
        let mut data = Vec::with_capacity(rows * cols);
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        Mat32 { rows, cols, data }
    }

    /// Tensor → matrix: reduce each `(c, k)` fibre over the checkpoints.
    pub(crate) fn reduce(x: &Tensor3, r: Reduce) -> Mat32 {
        let (n_c, n_t, n_k) = (x.n_coord, x.n_ckpt, x.n_comp);
        let mut data = vec![0.0f32; n_c * n_k];
        data.par_chunks_mut(n_k.max(1)).enumerate().for_each(|(c, row)| match r {
            Reduce::Last => {
                if n_t > 0 {
                    row.copy_from_slice(x.row(c, n_t - 1));
                }
            }
            Reduce::Median => {
                let mut col = vec![0.0f32; n_t];
                for (k, v) in row.iter_mut().enumerate() {
                    for (t, ct) in col.iter_mut().enumerate() {
                        *ct = x.get(c, t, k);
                    }
                    *v = median_f32_in_place(&mut col);
                }
            }
        });
        Mat32 { rows: n_c, cols: n_k, data }
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Matrix → matrix.
    pub(crate) fn normalized(&self, n: MatNorm) -> Mat32 {
        let mut out = self.clone();
        match n {
            MatNorm::RowsL1 => {
                for i in 0..self.rows {
                    let d = pairwise_sum_f32(self.row(i)) + 1e-8f32;
                    out.data[i * self.cols..(i + 1) * self.cols].iter_mut().for_each(|v| *v /= d);
                }
            }
            MatNorm::ColsL2 => {
                // NumPy sums over axis 0 row by row (sequentially).
                let mut ss = vec![0.0f32; self.cols];
                for i in 0..self.rows {
                    for (s, &v) in ss.iter_mut().zip(self.row(i)) {
                        *s += v * v;
                    }
                }
                let d: Vec<f32> = ss.iter().map(|&s| s.sqrt() + 1e-8f32).collect();
                for i in 0..self.rows {
                    for (v, &di) in out.data[i * self.cols..(i + 1) * self.cols].iter_mut().zip(&d) {
                        *v /= di;
                    }
                }
            }
        }
        out
    }

    /// Matrix → vector: one number per row (coordinate).
    pub(crate) fn row_reduce(&self, r: RowReduce) -> Vec<f32> {
        let mut buf = vec![0.0f32; self.cols];
        (0..self.rows)
            .map(|i| {
                for (b, &v) in buf.iter_mut().zip(self.row(i)) {
                    *b = match r {
                        RowReduce::L1 => v.abs(),
                        RowReduce::L2sq | RowReduce::L2 => v * v,
                    };
                }
                let s = pairwise_sum_f32(&buf);
                if r == RowReduce::L2 {
                    s.sqrt()
                } else {
                    s
                }
            })
            .collect()
    }

    /// The matrix in `f64`, for the SVD-based steps.
    pub(crate) fn to_f64(&self) -> Mat<f64> {
        Mat::from_fn(self.rows, self.cols, |i, j| self.data[i * self.cols + j] as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2 coordinates × 3 checkpoints × 2 components.
    fn x() -> Tensor3 {
        let data = vec![
            1.0, -2.0, // c0 t0
            3.0, 4.0, // c0 t1
            2.0, 0.5, // c0 t2
            -1.0, 1.0, // c1 t0
            0.0, 2.0, // c1 t1
            5.0, -3.0, // c1 t2
        ];
        Tensor3 { n_coord: 2, n_ckpt: 3, n_comp: 2, data }
    }

    #[test]
    fn reductions_over_checkpoints() {
        assert_eq!(Mat32::reduce(&x(), Reduce::Median).data, vec![2.0, 0.5, 0.0, 1.0]);
        assert_eq!(Mat32::reduce(&x(), Reduce::Last).data, vec![2.0, 0.5, 5.0, -3.0]);
        let m = Mat32::reduce(&x(), Reduce::Last).to_f64();
        assert_eq!((m.nrows(), m.ncols(), m[(1, 1)]), (2, 2, -3.0));
    }

    #[test]
    fn normalizations_and_row_reductions() {
        let m = Mat32::reduce(&x(), Reduce::Last);
        // Rows by their signed sum: 2.5 and 2.
        let r = m.normalized(MatNorm::RowsL1);
        assert!((r.data[0] - 2.0 / 2.5).abs() < 1e-6 && (r.data[3] + 3.0 / 2.0).abs() < 1e-6);
        // Columns by their L2 norm: sqrt(29) and sqrt(9.25).
        let c = m.normalized(MatNorm::ColsL2);
        assert!((c.data[2] - 5.0 / 29f32.sqrt()).abs() < 1e-6 && (c.data[1] - 0.5 / 9.25f32.sqrt()).abs() < 1e-6);
        assert_eq!(m.row_reduce(RowReduce::L1), vec![2.5, 8.0]);
        assert_eq!(m.row_reduce(RowReduce::L2sq), vec![4.25, 34.0]);
        assert_eq!(m.row_reduce(RowReduce::L2), vec![4.25f32.sqrt(), 34f32.sqrt()]);
    }
}
