//! Shared test helpers.
pub mod planted;
