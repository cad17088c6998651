//! Rust errors → Python exceptions, with the CLI's one-line message.
//!
//! A missing path is `FileNotFoundError`; everything else the user can get wrong (a bad file, a bad option,
//! groups that do not fit) is `ccc.CccError`, a `ValueError`; a failure of the machine (disk full, permission)
//! is `OSError`.

use std::error::Error as StdError;
use std::io::ErrorKind;

use pyo3::exceptions::{PyFileNotFoundError, PyOSError};
use pyo3::{create_exception, PyErr};

create_exception!(
    ccc,
    CccError,
    pyo3::exceptions::PyValueError,
    "A bad input file, option or grouping; the message is the one line the `ccc` command prints."
);

/// The error and its causes as one line, outermost first, each part once (as `ccc` prints it after `error: `).
pub fn one_line(err: &(dyn StdError + 'static)) -> String {
    let mut line = String::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let part = e.to_string();
        if !line.contains(&part) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&part);
        }
        cur = e.source();
    }
    line
}

/// The I/O error at the root of `err`, if any.
fn io_kind(err: &(dyn StdError + 'static)) -> Option<ErrorKind> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = e.source();
    }
    None
}

/// The Python exception for a library error.
pub fn to_py(err: &(dyn StdError + 'static)) -> PyErr {
    let msg = one_line(err);
    match io_kind(err) {
        Some(ErrorKind::NotFound) => PyFileNotFoundError::new_err(msg),
        Some(ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof) | None => {
            CccError::new_err(msg)
        }
        Some(_) => PyOSError::new_err(msg),
    }
}

/// A `ccc.CccError` with this message (an option checked in this layer).
pub fn invalid(msg: impl Into<String>) -> PyErr {
    CccError::new_err(msg.into())
}

/// A `FileNotFoundError` naming `path`, as the CLI words it.
pub fn not_found(path: &std::path::Path) -> PyErr {
    PyFileNotFoundError::new_err(format!("{}: No such file or directory (os error 2)", path.display()))
}
