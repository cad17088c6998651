//! Shared test helpers. Each test binary uses a part of them.
#![allow(dead_code)]
pub mod emerging;
pub mod planted;
