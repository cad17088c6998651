//! Write the planted synthetic tensor of the search's tests (docs/search.md §6) to a file.
//!
//! ```text
//! cargo run --release -p ccc-analyze --example planted_tensor -- OUT.safetensors [C T LAYERS HEADS SEED]
//! ```
//! The default shape is pythia-70m's: 512 coordinates × 40 checkpoints × 218 components.

#[path = "../tests/common/planted.rs"]
mod planted;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or("usage: planted_tensor OUT.safetensors [C T LAYERS HEADS SEED]")?;
    let num = |i: usize, default: usize| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |v| v.parse().map_err(|_| format!("`{v}` is not a number")))
    };
    let (c, t, l, h, seed) = (num(1, 512)?, num(2, 40)?, num(3, 6)?, num(4, 8)?, num(5, 0)?);
    let (tensor, truth) = planted::planted(c, t, l, h, seed as u64);
    ccc_core::file::write(std::path::Path::new(out), &tensor)?;
    eprintln!(
        "wrote {out}: {c} × {t} × {} with {} planted outliers, groups of {} and {} components",
        tensor.n_comp(),
        truth.coords_out.len(),
        truth.grp1.len(),
        truth.grp2.len()
    );
    Ok(())
}
