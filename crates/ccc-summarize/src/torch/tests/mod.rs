//! Tests of the `.bin` reader as a whole: views checked byte by byte against the storages, and property tests
//! over arbitrary and mutated bytes.

mod props;
mod views;
