//! `ccc._ccc`: the native part of the Python package `ccc` (python/ccc), a thin layer over the ccc crates.
//!
//! Everything is computed by the crates; this layer converts arguments (checked as the CLI checks its flags),
//! runs long calls off the GIL with Ctrl-C checked ([`work`]), and maps errors to Python exceptions
//! ([`errors`]).

mod analysis;
mod errors;
mod search;
mod summarize;
mod tensor;
mod work;

use pyo3::prelude::*;

/// The native module; `ccc/__init__.py` wraps it in the documented API.
#[pymodule]
fn _ccc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CccError", m.py().get_type::<errors::CccError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(tensor::read_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::read_header, m)?)?;
    m.add_function(wrap_pyfunction!(summarize::summarize, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::analyze, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::score, m)?)?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    m.add_class::<analysis::NativeAnalysis>()?;
    m.add_class::<search::NativeSearch>()?;
    Ok(())
}
