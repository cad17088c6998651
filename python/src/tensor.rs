//! The tensor between Python and Rust: a `ccc/1` file read into numpy arrays (one read, no copy after it), and
//! an opened tensor (`ccc.Tensor`, possibly changed in Python) back into a [`CccTensor`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccc_core::{CccMeta, CccTensor};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, to_py};
use crate::work;

/// Where an analysis or a score gets its tensor: a file, or a tensor opened in Python.
pub enum TensorArg {
    /// A `ccc/1` file, read by the work itself (off the GIL).
    Path(PathBuf),
    /// A tensor already in memory.
    Memory(Box<CccTensor>),
}

impl TensorArg {
    /// A path (`str` or `os.PathLike`) or an object with the attributes of `ccc.Tensor`.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let os = obj.py().import("os")?;
        if let Ok(p) = os.call_method1("fspath", (obj,)) {
            return Ok(TensorArg::Path(p.extract::<PathBuf>()?));
        }
        let attr = |name: &str| {
            obj.getattr(name).map_err(|_| {
                invalid(format!(
                    "expected a path to a ccc/1 file or a tensor from ccc.open(), got a `{}` without `{name}`",
                    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                ))
            })
        };
        let mags: PyReadonlyArray3<f32> = attr("mags")?
            .extract()
            .map_err(|_| invalid("`mags` must be a 3-D float32 numpy array (coords, ckpts, comps)"))?;
        let steps: PyReadonlyArray1<i64> =
            attr("steps")?.extract().map_err(|_| invalid("`steps` must be a 1-D int64 numpy array"))?;
        let lengths: PyReadonlyArray1<i64> =
            attr("lengths")?.extract().map_err(|_| invalid("`lengths` must be a 1-D int64 numpy array"))?;
        let filled: PyReadonlyArray1<bool> =
            attr("filled")?.extract().map_err(|_| invalid("`filled` must be a 1-D bool numpy array"))?;
        let metadata: BTreeMap<String, String> = attr("metadata")?.extract()?;
        let meta = CccMeta::from_map(&metadata).map_err(|r| invalid(format!("tensor metadata: {r}")))?;
        let [_, t_n, k_n] = [mags.shape()[0], mags.shape()[1], mags.shape()[2]];
        let n_coord = mags.shape()[0];
        // A C-contiguous array is one copy; a view (e.g. a slice of the checkpoints) is gathered.
        let values = match mags.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => mags.as_array().iter().copied().collect(),
        };
        let t = CccTensor {
            meta,
            n_coord,
            steps: steps.as_array().to_vec(),
            lengths: lengths.as_array().to_vec(),
            filled: filled.as_array().to_vec(),
            mags: values,
        };
        if t.n_ckpt() != t_n || t.n_comp() != k_n {
            return Err(invalid(format!(
                "`mags` has shape ({n_coord}, {t_n}, {k_n}) but there are {} steps and {} components",
                t.n_ckpt(),
                t.n_comp()
            )));
        }
        t.validate().map_err(|r| invalid(format!("bad tensor: {r}")))?;
        Ok(TensorArg::Memory(Box::new(t)))
    }

    /// The tensor (reading the file for a path).
    pub fn load(self) -> PyResult<CccTensor> {
        match self {
            TensorArg::Path(p) => ccc_core::file::read(&p).map_err(|e| to_py(&e)),
            TensorArg::Memory(t) => Ok(*t),
        }
    }
}

/// Read a `ccc/1` file: a dict of `mags` (float32, coords × ckpts × comps), `steps`, `lengths` (int64),
/// `filled` (bool) and `metadata` (the file's string map).
#[pyfunction]
pub fn read_tensor<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let t = work::run(py, None, move |_| ccc_core::file::read(&path).map_err(|e| to_py(&e)))?;
    tensor_dict(py, t)
}

/// Read a `ccc/1` file's header: a dict of `metadata`, `steps`, `lengths`, `filled` (of the checkpoints), and
/// where the values are — `values_offset` (bytes from the start of the file), `shape` (coords, checkpoint slots,
/// comps; the slots include the spare ones, docs/tensor.md §6.5) — for a memory map of them.
#[pyfunction]
pub fn read_header<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let h = ccc_core::file::read_header(&path).map_err(|e| to_py(&e))?;
    let [c, t, k] = h.shape();
    let d = PyDict::new(py);
    d.set_item("metadata", h.meta.to_map())?;
    d.set_item("values_offset", h.values_range().start)?;
    d.set_item("shape", (c, t + h.spare(), k))?;
    d.set_item("steps", PyArray1::from_vec(py, h.steps))?;
    d.set_item("lengths", PyArray1::from_vec(py, h.lengths))?;
    d.set_item("filled", PyArray1::from_vec(py, h.filled))?;
    Ok(d)
}

/// A tensor as the dict [`read_tensor`] returns; `mags` takes over the tensor's memory.
pub fn tensor_dict(py: Python<'_>, t: CccTensor) -> PyResult<Bound<'_, PyDict>> {
    let shape = t.shape();
    let d = PyDict::new(py);
    d.set_item("metadata", t.meta.to_map())?;
    d.set_item("steps", PyArray1::from_vec(py, t.steps))?;
    d.set_item("lengths", PyArray1::from_vec(py, t.lengths))?;
    d.set_item("filled", PyArray1::from_vec(py, t.filled))?;
    d.set_item("mags", PyArray1::from_vec(py, t.mags).reshape(shape)?)?;
    Ok(d)
}
