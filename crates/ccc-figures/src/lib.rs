//! # ccc-figures: the pictures of a ccc analysis
//!
//! Draws every figure of docs/figures.md with [`plotters`], as PNG or SVG, with text in the embedded DejaVu Sans so no system
//! font is needed. PNGs are indexed colour ([`palette`]) at screen size ([`Resolution`]; [`scaled`] draws a figure
//! at another size than it is laid out for), so a run of 301 sheets stays small:
//!
//! - the 2×2 trajectory [`Sheet`] of one experiment: inliers with their mean trajectory coloured by checkpoint,
//!   outliers with the inlier box, the flow field with the score pair, the component-group grid;
//! - per run: the [`scores`] scatter, the outlier and component [`memberships`] heatmaps with their Gram products,
//!   the 1-D aggregate and one component ([`lines`]), and the classification [`overview`].
//!
//! [`render_analysis`] reads an analysis output directory (`experiments.json`, `summary.json`, through their owner
//! types in `ccc_analyze::files`), draws the sheets in parallel and writes `figures/index.json` ([`FigureIndex`]). Every figure implements [`Figure`], so it can also
//! be drawn alone with [`to_raster`], [`to_svg`] or [`save`].
//!
//! ```
//! use ccc_core::{CccMeta, CccTensor, Component, ComponentKind::*, Mode, Summary};
//! use ccc_figures::{adhoc_sheet, to_raster, to_svg, AdhocGroups};
//!
//! let components = Component::compact_list(&[EmbIn, Q, V, O, MlpIn, MlpOut]);
//! let meta = CccMeta {
//!     model: "toy".into(), architecture: "gpt_neox".into(), mode: Mode::Compact, n_layer: 1, n_head: 1,
//!     n_kv_head: 1, summary: Summary::MeanSq, components, duplicates: vec![], extra: Default::default(),
//! };
//! let mut t = CccTensor::empty(meta, 8, vec![0, 10, 100, 1000], vec![16; 6])?;
//! for (i, v) in t.mags.iter_mut().enumerate() {
//!     *v = 1.0 + (i % 7) as f32 * 0.1 + (i / 24) as f32 * 0.05;
//! }
//! t.filled.iter_mut().for_each(|f| *f = true);
//! let groups = AdhocGroups {
//!     grp1: vec![0], grp2: vec![1, 2, 3], outliers: Some("MAD-last-sum".parse()?),
//!     aggregation: Default::default(), grid: 100, seed: 0, label: "emb_in vs attention".into(),
//! };
//! let sheet = adhoc_sheet(&t, &groups, None)?;
//! let png = to_raster(&sheet)?;
//! assert_eq!((png.width, png.height), (2000, 1900));
//! assert!(to_svg(&sheet)?.contains("emb_in vs attention"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod axis;
pub mod error;
pub mod grid;
pub mod lines;
pub mod memberships;
pub mod names;
pub mod options;
pub mod output;
pub mod overview;
pub mod palette;
pub mod panel;
pub mod render;
pub mod report;
pub mod scaled;
pub mod scores;
pub mod search_scores;
pub mod search_sheets;
pub mod sheet;
pub mod style;
pub mod timeline;

pub use error::FigureError;
pub use options::{FigureOptions, FigureSet, Format, Resolution};
pub use output::{save, to_raster, to_raster_at, to_svg, Figure, Raster};
pub use render::{adhoc_sheet, render_analysis, AdhocGroups, Analysis, FigureIndex, RunEntry, RunKind, SheetEntry};
pub use sheet::{Sheet, SheetInput, SheetLayout};
