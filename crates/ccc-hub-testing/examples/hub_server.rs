//! Serve checkpoint directories as a Hugging Face hub on loopback (for benchmarks and manual tests).
//!
//! ```text
//! cargo run --release -p ccc-hub-testing --example hub_server -- ORG/NAME=DIR [ORG/NAME=DIR ...]
//! ```
//!
//! Each `DIR` holds step directories (`step0/`, `step1000/`, … with config.json and weights), served as branches
//! `step0`, `step1000`, …. The endpoint (`http://127.0.0.1:PORT`, for `HF_ENDPOINT`) is printed on stdout; the server
//! runs until killed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut pairs = Vec::new();
    for arg in std::env::args().skip(1) {
        let (repo, dir) = arg.split_once('=').ok_or("arguments are ORG/NAME=DIR")?;
        pairs.push((repo.to_string(), PathBuf::from(dir)));
    }
    if pairs.is_empty() {
        return Err("usage: hub_server ORG/NAME=DIR [ORG/NAME=DIR ...]".into());
    }
    let server = ccc_hub_testing::serve_dirs(&pairs)?;
    println!("{}", server.endpoint());
    loop {
        std::thread::park();
    }
}
