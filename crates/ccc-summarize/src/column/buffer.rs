//! [`ZeroBuf`]: a zero-initialized numeric buffer that columns live in.
//!
//! A large model's column has millions of values (e.g. 3,600 components × 1,024 coordinates in `f32` is 15 MB).
//! From the heap, every 4 KiB page of it is faulted in on first touch, one fault at a time; on this kind of machine that costs more than summarizing a tensor. Large buffers are therefore anonymous maps advised to
//! use transparent huge pages (one fault per 2 MiB where the kernel allows it; ordinary pages otherwise), and
//! small ones stay on the heap.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Element types a [`ZeroBuf`] may hold: plain numbers for which all-zero bytes are the value zero.
pub trait Zeroable: Copy + Default + Send + Sync + 'static + private::Sealed {}
impl Zeroable for f32 {}
impl Zeroable for f64 {}

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Buffers at least this large are mapped with huge pages.
const MAP_BYTES: usize = 2 << 20;

/// A fixed-length buffer of zeros (see the module docs).
pub struct ZeroBuf<T: Zeroable> {
    inner: Inner<T>,
}

enum Inner<T> {
    Heap(Vec<T>),
    Map { map: memmap2::MmapMut, len: usize },
}

impl<T: Zeroable> ZeroBuf<T> {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let bytes = len.saturating_mul(size_of::<T>());
        if bytes >= MAP_BYTES {
            if let Ok(map) = memmap2::MmapOptions::new().len(bytes).map_anon() {
                #[cfg(target_os = "linux")]
                // Only advice: without transparent huge pages the map works with ordinary pages.
                let _ = map.advise(memmap2::Advice::HugePage);
                return ZeroBuf { inner: Inner::Map { map, len } };
            }
        }
        ZeroBuf { inner: Inner::Heap(vec![T::default(); len]) }
    }
}

impl<T: Zeroable> Deref for ZeroBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.inner {
            Inner::Heap(v) => v,
            // SAFETY: the map is page-aligned (so aligned for `T`), holds `len * size_of::<T>()` bytes that the
            // kernel zeroed, and all-zero bytes are a valid `T` (`Zeroable` is sealed to f32 and f64).
            Inner::Map { map, len } => unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<T>(), *len) },
        }
    }
}

impl<T: Zeroable> DerefMut for ZeroBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.inner {
            Inner::Heap(v) => v,
            // SAFETY: as in `deref`; the map is exclusively borrowed.
            Inner::Map { map, len } => unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr().cast::<T>(), *len) },
        }
    }
}

impl<T: Zeroable> Clone for ZeroBuf<T> {
    fn clone(&self) -> Self {
        let mut b = ZeroBuf::zeros(self.len());
        b.copy_from_slice(self);
        b
    }
}

impl<T: Zeroable + PartialEq> PartialEq for ZeroBuf<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Zeroable + fmt::Debug> fmt::Debug for ZeroBuf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Zeroable> From<ZeroBuf<T>> for Vec<T> {
    fn from(b: ZeroBuf<T>) -> Vec<T> {
        match b.inner {
            Inner::Heap(v) => v,
            Inner::Map { .. } => b.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_buffers_start_at_zero_and_hold_values() {
        for len in [0, 1, 1000, MAP_BYTES / 8 + 3] {
            let mut b = ZeroBuf::<f64>::zeros(len);
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&v| v == 0.0));
            if len > 0 {
                b[len - 1] = 2.5;
                let c = b.clone();
                assert_eq!(c, b);
                assert_eq!(Vec::from(c)[len - 1], 2.5);
            }
        }
    }
}
