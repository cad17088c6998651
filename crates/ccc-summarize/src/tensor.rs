//! What a checkpoint's tensors are: their element type, name and shape. Every reader and the planner use these;
//! they depend on nothing else in the crate.

use std::fmt;

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 64-bit float.
    F64,
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// 64-bit integer.
    I64,
    /// 32-bit integer.
    I32,
    /// 16-bit integer.
    I16,
    /// 8-bit integer.
    I8,
    /// Unsigned byte.
    U8,
    /// Boolean (one byte).
    Bool,
    /// Any other non-float type with the given element size in bytes.
    Other(usize),
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::Other(n) => n,
        }
    }

    /// Whether the type holds floating-point weights (others are skipped, never summarized).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F64 | DType::F32 | DType::F16 | DType::BF16)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Other(n) => write!(f, "other({n} bytes)"),
            d => write!(f, "{}", format!("{d:?}").to_lowercase()),
        }
    }
}

/// Name, type and shape of a stored tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The name in the checkpoint, e.g. `gpt_neox.layers.0.attention.dense.weight`.
    pub name: String,
    /// Element type as stored (trusted over `torch_dtype` in config.json).
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Number of elements (saturating; sources reject shapes whose byte size overflows).
    pub fn numel(&self) -> usize {
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Elements per row: the last dimension (a tensor of more than two dimensions is read as the matrix of its
    /// last dimension's rows, e.g. `[E, out, in]` as `E·out` rows of `in`), the whole vector for 1-D ones.
    pub fn row_len(&self) -> usize {
        match self.shape.len() {
            0 => 1,
            n => self.shape[n - 1],
        }
    }

    /// Number of rows (see [`TensorInfo::row_len`]).
    pub fn n_rows(&self) -> usize {
        match self.shape.len() {
            0 | 1 => 1,
            n => self.shape[..n - 1].iter().fold(1usize, |a, &d| a.saturating_mul(d)),
        }
    }
}
