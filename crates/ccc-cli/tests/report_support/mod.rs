//! Helpers of the report tests: an analysis output directory built from the golden results, and a small
//! WebDriver client for headless Chromium.
#![allow(dead_code)]

pub mod fixture;
pub mod webdriver;
