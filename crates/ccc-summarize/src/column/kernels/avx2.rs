//! The AVX2 + FMA + F16C builds of the kernels: the same operations in the same order as the scalar code in the
//! parent module, so the same bits, with explicit vectors where the compiler would not find them.

use super::*;
use std::arch::x86_64::*;

/// Explicit AVX2 + FMA kernels over rows of one element type. `$reduce` folds a slice in [`LANES`] lanes (four
/// 4-wide f64 vectors, merged as [`reduce_with`] does); `$cols` folds several rows into one accumulator row,
/// rows in order. `$load8` turns the 8 elements at `$p` into two vectors of 4 f64, `$scalar` one element `$x`
/// into f64. Same operations in the same order as the scalar code, so bit-identical results: the fold `f` is
/// `a + x·x` as one FMA, which is exact because the square of an f32 widened to f64 is exact.
macro_rules! kernels {
    ($reduce:ident, $cols:ident, $t:ty, |$p:ident| $load8:expr, |$x:ident| $scalar:expr) => {
        /// 8 elements at `$p` as two vectors of 4 f64.
        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        unsafe fn load8($p: *const $t) -> (__m256d, __m256d) {
            // SAFETY: the caller guarantees 8 readable elements at the pointer.
            unsafe { $load8 }
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        pub(super) unsafe fn $reduce(
            xs: &[$t],
            f: impl Fn(__m256d, __m256d) -> __m256d,
            f1: impl Fn(f64, f64) -> f64,
        ) -> f64 {
            let mut a = [_mm256_setzero_pd(); 4];
            let mut chunks = xs.chunks_exact(LANES);
            for ch in &mut chunks {
                prefetch(ch.as_ptr().wrapping_add(PREFETCH_AHEAD));
                // SAFETY: `ch` holds exactly 16 elements.
                let ((x0, x1), (x2, x3)) = unsafe { (load8(ch.as_ptr()), load8(ch.as_ptr().add(8))) };
                a = [f(a[0], x0), f(a[1], x1), f(a[2], x2), f(a[3], x3)];
            }
            let m = _mm256_add_pd(_mm256_add_pd(a[0], a[1]), _mm256_add_pd(a[2], a[3]));
            let mut l = [0f64; 4];
            // SAFETY: 4 f64 (unaligned store).
            unsafe { _mm256_storeu_pd(l.as_mut_ptr(), m) };
            let mut acc = (l[0] + l[1]) + (l[2] + l[3]);
            for &$x in chunks.remainder() {
                acc = f1(acc, $scalar);
            }
            acc
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        pub(super) unsafe fn $cols(
            acc: &mut [f64],
            rows: &[&[$t]],
            f: impl Fn(__m256d, __m256d) -> __m256d,
            f1: impl Fn(f64, f64) -> f64,
        ) {
            let n = rows.iter().fold(acc.len(), |n, r| n.min(r.len()));
            // Eight independent accumulators (32 columns) per pass, so that the additions of successive rows,
            // which must stay in order, overlap across columns.
            let mut c = 0;
            while c + 32 <= n {
                // SAFETY: `c + 32 <= n`, and `n` is at most the length of `acc` and of every row.
                unsafe {
                    let pa = acc.as_mut_ptr().add(c);
                    let mut a: [__m256d; 8] = std::array::from_fn(|k| _mm256_loadu_pd(pa.add(4 * k)));
                    for r in rows {
                        let q = r.as_ptr().add(c);
                        for k in 0..4 {
                            let (x0, x1) = load8(q.add(8 * k));
                            a[2 * k] = f(a[2 * k], x0);
                            a[2 * k + 1] = f(a[2 * k + 1], x1);
                        }
                    }
                    for (k, v) in a.iter().enumerate() {
                        _mm256_storeu_pd(pa.add(4 * k), *v);
                    }
                }
                c += 32;
            }
            while c + 8 <= n {
                // SAFETY: as above, with 8 columns.
                unsafe {
                    let pa = acc.as_mut_ptr().add(c);
                    let (mut a0, mut a1) = (_mm256_loadu_pd(pa), _mm256_loadu_pd(pa.add(4)));
                    for r in rows {
                        let (x0, x1) = load8(r.as_ptr().add(c));
                        a0 = f(a0, x0);
                        a1 = f(a1, x1);
                    }
                    _mm256_storeu_pd(pa, a0);
                    _mm256_storeu_pd(pa.add(4), a1);
                }
                c += 8;
            }
            for (i, a) in acc.iter_mut().enumerate().take(n).skip(c) {
                for r in rows {
                    let $x = r[i];
                    *a = f1(*a, $scalar);
                }
            }
        }
    };
}

mod f32_kernels {
    use super::*;
    kernels!(reduce, cols, f32, |p| (_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p.add(4)))), |x| x
        as f64);
}
mod bf16_kernels {
    use super::*;
    kernels!(
        reduce,
        cols,
        u16,
        // bf16 is the top half of an f32: widen the 8 u16 to u32 and shift them up.
        |p| {
            let v = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast()))));
            (_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
        },
        |x| f32::from_bits((x as u32) << 16) as f64
    );
}
use bf16_kernels::{cols as cols_bf16, reduce as reduce_bf16};

/// 16 bf16 at `p` as f32, without shuffles: `even` holds elements 0, 2, …, 14 (each u16 shifted into the top
/// half of its 32-bit lane), `odd` elements 1, 3, …, 15 (the top halves kept in place).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn bf16x16(p: *const u16) -> (__m256, __m256) {
    // SAFETY: the caller guarantees 16 readable elements at `p`.
    let v = unsafe { _mm256_loadu_si256(p.cast()) };
    let top = _mm256_set1_epi32(0xFFFF_0000u32 as i32);
    (_mm256_castsi256_ps(_mm256_slli_epi32::<16>(v)), _mm256_castsi256_ps(_mm256_and_si256(v, top)))
}

/// [`bf16x16`]'s `(even, odd)` as four vectors of 4 f64, in element order.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn widen_bf16(even: __m256, odd: __m256) -> [__m256d; 4] {
    // Interleaved back within 128-bit halves: `lo` holds elements 0–3 and 8–11, `hi` 4–7 and 12–15.
    let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
    [
        _mm256_cvtps_pd(_mm256_castps256_ps128(lo)),
        _mm256_cvtps_pd(_mm256_castps256_ps128(hi)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(lo)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(hi)),
    ]
}

/// 16 f16 at `p` as f32 (F16C): `lo` holds elements 0–7, `hi` 8–15.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn f16x16(p: *const u16) -> (__m256, __m256) {
    // SAFETY: the caller guarantees 16 readable elements at `p`.
    unsafe { (_mm256_cvtph_ps(_mm_loadu_si128(p.cast())), _mm256_cvtph_ps(_mm_loadu_si128(p.add(8).cast()))) }
}

/// [`f16x16`]'s `(lo, hi)` as four vectors of 4 f64, in element order.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn widen_f16(lo: __m256, hi: __m256) -> [__m256d; 4] {
    [
        _mm256_cvtps_pd(_mm256_castps256_ps128(lo)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(lo)),
        _mm256_cvtps_pd(_mm256_castps256_ps128(hi)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(hi)),
    ]
}

/// `s + x·x` in f32, rounded twice as the scalar code is.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sq32(s: __m256, x: __m256) -> __m256 {
    _mm256_add_ps(s, _mm256_mul_ps(x, x))
}

/// `p[0..16] += w`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn add16(p: *mut f64, w: [__m256d; 4]) {
    for (k, v) in w.into_iter().enumerate() {
        // SAFETY: the caller guarantees 16 writable f64 at `p`.
        unsafe {
            let q = p.add(4 * k);
            _mm256_storeu_pd(q, _mm256_add_pd(_mm256_loadu_pd(q), v));
        }
    }
}

/// Whether no lane of these sums of squares is +inf. (A NaN lane need not be caught: the scalar code would
/// redo it in f64 and get NaN again.)
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn no_inf(a: __m256, b: __m256) -> bool {
    let m = _mm256_max_ps(a, b);
    _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(m, _mm256_set1_ps(f32::INFINITY))) == 0
}

/// Columns of 16-bit float rows summed at a time by the `$cols` kernels (their f32 sums: 8 KiB).
const COL_TILE: usize = 2048;

/// Elements ahead of the kernels' reads (the 16-bit `$cols` and every `$reduce`) that they ask the cache for:
/// mapped weights come from memory, and the hardware prefetcher alone leaves the loads waiting (prefetching in the
/// row reductions too saves the 52-layer bf16 checkpoint 2–6% of its CPU).
const PREFETCH_AHEAD: usize = 512;

/// Ask for the cache line at `p`.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    // SAFETY: a prefetch is a hint with no architectural effect; it does not fault, whatever the address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

/// Squares of a 16-bit float format `$h`, loaded 16 at a time by `$load` and widened by `$widen`:
/// `$cols` is [`super::sq_cols_range`] over all columns, 32 (then 16) at a time, and `$reduce` is
/// [`super::sq_reduce`] with the 16 lanes in two f32 vectors (four f64 ones). A pass or group whose f32 sums
/// overflow is done by the scalar code, which redoes the overflowing sums in f64.
macro_rules! half_kernels {
    ($cols:ident, $reduce:ident, $h:ty, $load:ident, $widen:ident) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        fn $cols(acc: &mut [f64], rows: &[&[u16]]) {
            let n = common_len(acc, rows);
            let body = n / 16 * 16;
            // Columns in tiles whose f32 sums stay in L1; each row's part of a tile is read front to back
            // (one stream the prefetcher follows, rather than a few bytes of each row in turn).
            // Not zeroed: the first row's squares are stored, not added (`0 + x²` is `x²`, bit for bit).
            let mut sums = [const { std::mem::MaybeUninit::<f32>::uninit() }; COL_TILE];
            for t0 in (0..body).step_by(COL_TILE) {
                let len = body.min(t0 + COL_TILE) - t0;
                let q0 = sums.as_mut_ptr().cast::<f32>();
                for (ri, r) in rows.iter().enumerate() {
                    let p = r.as_ptr().wrapping_add(t0);
                    for c in (0..len).step_by(16) {
                        prefetch(p.wrapping_add(c + PREFETCH_AHEAD));
                        // SAFETY: `t0 + c + 16 <= body <= n`, at most the length of every row, and
                        // `c + 16 <= len <= COL_TILE`; the sums read were written by the first row.
                        unsafe {
                            let (a, b) = $load(p.add(c));
                            let q = q0.add(c);
                            if ri == 0 {
                                _mm256_storeu_ps(q, _mm256_mul_ps(a, a));
                                _mm256_storeu_ps(q.add(8), _mm256_mul_ps(b, b));
                            } else {
                                _mm256_storeu_ps(q, sq32(_mm256_loadu_ps(q), a));
                                _mm256_storeu_ps(q.add(8), sq32(_mm256_loadu_ps(q.add(8)), b));
                            }
                        }
                    }
                }
                if rows.is_empty() {
                    break;
                }
                // SAFETY: the first row wrote all `len` sums.
                let s = unsafe { std::slice::from_raw_parts(q0.cast_const(), len) };
                // Into the f64 accumulators 32 (then 16) columns at a time, each pass that overflowed f32
                // done again by the scalar code.
                let mut c = 0;
                while c < s.len() {
                    let w = if c + 32 <= s.len() { 32 } else { 16 };
                    // SAFETY: `c + w <= s.len()`, and `t0 + c + w <= body <= acc.len()`.
                    unsafe {
                        let q = s.as_ptr().add(c);
                        let (a, b) = (_mm256_loadu_ps(q), _mm256_loadu_ps(q.add(8)));
                        let (d, e) =
                            if w == 32 { (_mm256_loadu_ps(q.add(16)), _mm256_loadu_ps(q.add(24))) } else { (a, b) };
                        if no_inf(_mm256_max_ps(a, b), _mm256_max_ps(d, e)) {
                            add16(acc.as_mut_ptr().add(t0 + c), $widen(a, b));
                            if w == 32 {
                                add16(acc.as_mut_ptr().add(t0 + c + 16), $widen(d, e));
                            }
                        } else {
                            sq_cols_range::<$h>(acc, rows, t0 + c..t0 + c + w);
                        }
                    }
                    c += w;
                }
            }
            sq_cols_range::<$h>(acc, rows, body..n);
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        #[inline]
        fn $reduce(xs: &[u16]) -> f64 {
            let body = xs.len() / LANES * LANES;
            let mut l = [_mm256_setzero_pd(); 4];
            for g in xs[..body].chunks(LANES * F32_GROUP) {
                let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                for ch in g.chunks_exact(LANES) {
                    prefetch(ch.as_ptr().wrapping_add(PREFETCH_AHEAD));
                    // SAFETY: `ch` holds exactly 16 elements.
                    let (a, b) = unsafe { $load(ch.as_ptr()) };
                    (lo, hi) = (sq32(lo, a), sq32(hi, b));
                }
                if no_inf(lo, hi) {
                    let w = $widen(lo, hi);
                    l = std::array::from_fn(|j| _mm256_add_pd(l[j], w[j]));
                } else {
                    let mut lanes = [0f64; LANES];
                    for (j, v) in l.iter().enumerate() {
                        // SAFETY: 4 f64 at lane 4j of 16 (unaligned store).
                        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr().add(4 * j), *v) };
                    }
                    sq_lanes_group::<$h>(&mut lanes, g);
                    // SAFETY: as above (unaligned loads).
                    l = std::array::from_fn(|j| unsafe { _mm256_loadu_pd(lanes.as_ptr().add(4 * j)) });
                }
            }
            let m = _mm256_add_pd(_mm256_add_pd(l[0], l[1]), _mm256_add_pd(l[2], l[3]));
            let mut v = [0f64; 4];
            // SAFETY: 4 f64 (unaligned store).
            unsafe { _mm256_storeu_pd(v.as_mut_ptr(), m) };
            sq_tail::<$h>((v[0] + v[1]) + (v[2] + v[3]), xs[body..].iter().copied())
        }
    };
}
half_kernels!(sq_cols_bf16, sq_reduce_bf16, Bf16, bf16x16, widen_bf16);
half_kernels!(sq_cols_f16, sq_reduce_f16, F16, f16x16, widen_f16);
use f32_kernels::{cols as cols_f32, reduce as reduce_f32};

/// `a + x²` (one FMA: exact product, one rounding, as the scalar `a + x * x`) and `a + |x|` (clearing the sign
/// bit is exactly `f64::abs`).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sq(a: __m256d, x: __m256d) -> __m256d {
    _mm256_fmadd_pd(x, x, a)
}
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn abs(a: __m256d, x: __m256d) -> __m256d {
    _mm256_add_pd(a, _mm256_and_pd(x, _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX))))
}
fn sq1(a: f64, x: f64) -> f64 {
    a + x * x
}
fn abs1(a: f64, x: f64) -> f64 {
    a + x.abs()
}

/// The elements of `bytes` as `T` when they are aligned for it.
fn as_elems<T>(bytes: &[u8]) -> Option<&[T]>
where
    T: Copy,
{
    // SAFETY: only used with f32 and u16, for which every bit pattern is valid; `align_to` only yields the
    // aligned middle part.
    let (pre, mid, post) = unsafe { bytes.align_to::<T>() };
    (pre.is_empty() && post.is_empty()).then_some(mid)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn cols_block(
    op: Op,
    dtype: DType,
    block: &[u8],
    row_len: usize,
    first: usize,
    segments: &[Segment],
    c_n: usize,
) -> Vec<(usize, Vec<f64>)> {
    // The rows as elements of `$t` if they are aligned for it, added by `$cols` with `$f` (vector) / `$f1`.
    macro_rules! via {
        ($t:ty, $cols:ident, $f:expr, $f1:expr) => {
            if let Some(xs) = as_elems::<$t>(block) {
                // SAFETY: AVX2 and FMA are enabled in this function.
                return cols_rows(xs, row_len, first, segments, c_n, |a, r| unsafe { $cols(a, r, $f, $f1) });
            }
        };
    }
    match (op, dtype) {
        (Op::Sq, DType::F32) => via!(f32, cols_f32, |a, x| sq(a, x), sq1),
        (Op::Abs, DType::F32) => via!(f32, cols_f32, |a, x| abs(a, x), abs1),
        (Op::Sq, DType::BF16) => {
            return with_u16(block, |xs| cols_rows(xs, row_len, first, segments, c_n, |a, r| sq_cols_bf16(a, r)));
        }
        (Op::Sq, DType::F16) => {
            return with_u16(block, |xs| cols_rows(xs, row_len, first, segments, c_n, |a, r| sq_cols_f16(a, r)));
        }
        (Op::Abs, DType::BF16) => via!(u16, cols_bf16, |a, x| abs(a, x), abs1),
        _ => {}
    }
    super::cols_block(op, dtype, block, row_len, first, segments, c_n)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows_block(op: Op, dtype: DType, block: &[u8], row_len: usize, segments: &[Segment]) -> Vec<f64> {
    // SAFETY (all): AVX2 and FMA are enabled in this function.
    match (op, dtype) {
        (Op::Sq, DType::BF16) => {
            return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, |p| sq_reduce_bf16(p)))
        }
        (Op::Sq, DType::F16) => {
            return with_u16(block, |xs| u16_segment_sums(xs, row_len, segments, |p| sq_reduce_f16(p)))
        }
        _ => {}
    }
    if let (Op::Abs, DType::BF16, Some(xs)) = (op, dtype, as_elems::<u16>(block)) {
        return u16_segment_sums(xs, row_len, segments, |p| unsafe { reduce_bf16(p, |a, x| abs(a, x), abs1) });
    }
    match op {
        Op::Sq => {
            rows_block_with(dtype, block, row_len, segments, |xs| unsafe { reduce_f32(xs, |a, x| sq(a, x), sq1) })
        }
        Op::Abs => {
            rows_block_with(dtype, block, row_len, segments, |xs| unsafe { reduce_f32(xs, |a, x| abs(a, x), abs1) })
        }
        Op::Max => super::rows_block(op, dtype, block, row_len, segments),
    }
}
