//! One module per subcommand.

pub mod analyze;
pub mod demo;
pub mod hub_args;
pub mod info;
pub mod inspect;
pub mod merge;
pub mod plot;
pub mod report;
pub mod revisions;
pub mod score;
pub mod search;
pub mod summarize;
pub mod trajectory_args;
pub mod watch;
