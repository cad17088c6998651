//! placeholder
#![deny(missing_docs)]

pub mod axis;
pub mod error;
pub mod grid;
pub mod input;
pub mod lines;
pub mod memberships;
pub mod names;
pub mod options;
pub mod output;
pub mod overview;
pub mod panel;
pub mod render;
pub mod report;
pub mod scores;
pub mod sheet;
pub mod style;

pub use error::FigureError;
pub use options::{FigureOptions, FigureSet, Format};
pub use output::{save, to_raster, to_svg, Figure, Raster};
pub use render::{render_analysis, Analysis, FigureIndex, RunEntry, RunKind, SheetEntry};
pub use sheet::{Sheet, SheetInput, SheetLayout};
