pub mod planted;
