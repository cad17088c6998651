//! How one tensor is summarized: which axis is the residual coordinate, and which runs of the other axis belong to
//! which component. The planner writes these; the kernels read them.

/// Which axis of a 2-D weight is the residual coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoordAxis {
    /// Rows are coordinates; each row's entries are split into segments.
    Rows,
    /// Columns are coordinates; each row (an entry) belongs to one segment.
    Cols,
    /// Several matrices stacked along the rows, each of `C` rows that are coordinates (a layer's experts in one
    /// tensor, `[E, C, F]`): row `g` is coordinate `g % C` of matrix `g / C`, whose whole row goes to segment
    /// `g / C` (one segment per matrix, each the whole row).
    StackedRows,
}

/// A run `[start, end)` of entries (along the non-coordinate axis) that belongs to one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// First entry.
    pub(crate) start: usize,
    /// One past the last entry.
    pub(crate) end: usize,
    /// The component's index in [`Plan::components`](crate::Plan::components).
    pub(crate) slot: usize,
}

/// How one tensor is summarized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TensorPlan {
    /// A weight matrix.
    Matrix {
        /// The coordinate axis.
        axis: CoordAxis,
        /// The segments, sorted, covering every entry.
        segments: Vec<Segment>,
    },
    /// A norm gain vector, summarized as `(w - median)²` into one component.
    Norm {
        /// The component's index.
        slot: usize,
    },
}
