//! `ccc info`: describe a `ccc/1` file without reading its values.

use std::path::PathBuf;

use ccc_core::file;

use super::inspect::group_components;

/// Flags of `ccc info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A ccc/1 file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// List every component name in order.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Steps as compact text: `0 1 2 4 … 13000` when long.
pub fn steps_text(steps: &[i64]) -> String {
    let s: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    if s.len() <= 12 {
        return s.join(" ");
    }
    format!("{} … {}", s[..6].join(" "), s[s.len() - 3..].join(" "))
}

/// Run `ccc info`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let h = file::read_header(&args.file)?;
    let m = &h.meta;
    let [c, t, k] = h.shape();
    let filled = h.filled.iter().filter(|&&f| f).count();
    println!("file          {}", args.file.display());
    println!("model         {}", if m.model.is_empty() { "(unnamed)" } else { &m.model });
    println!("architecture  {} (layers {}, heads {}, kv heads {})", m.architecture, m.n_layer, m.n_head, m.n_kv_head);
    println!("mode          {}, summary {}", m.mode, m.summary);
    if let Some(a) = m.extra.get("adapter") {
        let what = if a == "delta" { "ΔW alone (delta)" } else { "W0 + ΔW (merged)" };
        let base = m.extra.get("adapter_base").map(|b| format!(" on base {b}")).unwrap_or_default();
        println!("adapters      {what}{base}");
    }
    println!("shape         mags [{c}, {t}, {k}] (coordinates × checkpoints × components)");
    println!("steps         {t}: {}", steps_text(&h.steps));
    if filled == t {
        println!("filled        all {t}");
    } else {
        let missing: Vec<i64> = h.steps.iter().zip(&h.filled).filter(|(_, f)| !**f).map(|(s, _)| *s).collect();
        println!("filled        {filled} of {t}; missing: {}", steps_text(&missing));
    }
    if !m.duplicates.is_empty() {
        let d: Vec<String> = m.duplicates.iter().map(|d| format!("{} = {}", d.step, d.same_as)).collect();
        println!("duplicates    {}", d.join(", "));
    }
    println!("components    {k}");
    for line in group_components(&m.components, &h.lengths) {
        println!("  {line}");
    }
    if args.verbose {
        for (c, l) in m.components.iter().zip(&h.lengths) {
            println!("  {c} ({l})");
        }
    }
    for (key, v) in &m.extra {
        println!("{key:<13} {v}");
    }
    Ok(())
}
