//! `ccc inspect`: what `summarize` would do with a checkpoint — the architecture found, the components it
//! produces, and the tensors it ignores.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use ccc_core::{Component, Mode, StepSelection};
use ccc_summarize::{local, Checkpoint, Mapping, Plan};

/// Flags of `ccc inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A checkpoint directory, or a parent of step directories (its first checkpoint is inspected).
    #[arg(value_name = "DIR")]
    pub input: PathBuf,

    /// Architecture mapping file (TOML) instead of detecting the architecture from config.json.
    #[arg(long, value_name = "FILE")]
    pub arch: Option<PathBuf>,

    /// Leave out the norm gains, as `summarize --no-norms` would.
    #[arg(long)]
    pub no_norms: bool,

    /// List every component and every tensor used.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Components grouped by kind: `Q: 24 (L0–L5 × H0–H3), length 32`.
pub fn group_components(components: &[Component], lengths: &[i64]) -> Vec<String> {
    let mut groups: BTreeMap<ccc_core::ComponentKind, Vec<(Component, i64)>> = BTreeMap::new();
    for (c, &l) in components.iter().zip(lengths) {
        groups.entry(c.kind).or_default().push((*c, l));
    }
    groups
        .into_iter()
        .map(|(kind, cs)| {
            let layers: Vec<usize> = cs.iter().filter_map(|(c, _)| c.layer).collect();
            let heads: Vec<usize> = cs.iter().filter_map(|(c, _)| c.head).collect();
            let range = |v: &[usize], p: &str| match (v.iter().min(), v.iter().max()) {
                (Some(a), Some(b)) if a == b => format!("{p}{a}"),
                (Some(a), Some(b)) => format!("{p}{a}–{p}{b}"),
                _ => String::new(),
            };
            let mut shape = range(&layers, "L");
            if !heads.is_empty() {
                shape = format!("{shape} × {}", range(&heads, "H"));
            }
            let mut ls: Vec<i64> = cs.iter().map(|(_, l)| *l).collect();
            ls.sort_unstable();
            ls.dedup();
            let len = ls.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("/");
            let shape = if shape.is_empty() { String::new() } else { format!(" ({shape})") };
            format!("{:>8}: {:>4}{shape}, length {len}", kind.name(), cs.len())
        })
        .collect()
}

/// Run `ccc inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let found = local::discover(std::slice::from_ref(&args.input), &StepSelection::all())?;
    let ckpt = found
        .checkpoints
        .into_iter()
        .next()
        .with_context(|| format!("{}: no checkpoint found", args.input.display()))?;
    let mapping = args.arch.as_deref().map(Mapping::load).transpose()?;
    let config = ckpt.config()?;
    let source = ckpt.open()?;
    let plan = Plan::for_checkpoint(&config, source.tensors(), mapping.as_ref(), !args.no_norms)
        .map_err(|e| anyhow::anyhow!("{}: {e}", ckpt.label()))?;
    let d = plan.dims();
    println!("checkpoint    {} (step {})", ckpt.label(), ckpt.step());
    println!(
        "weights       {} ({} tensors, {:.1} MB)",
        source.describe(),
        source.tensors().len(),
        source.total_bytes() as f64 / 1e6
    );
    println!("architecture  {}", plan.architecture());
    println!(
        "dimensions    hidden {}, layers {}, heads {}, kv heads {}, head dim {}{}{}",
        d.hidden,
        d.layers,
        d.heads,
        d.kv_heads,
        d.head_dim,
        d.vocab.map(|v| format!(", vocab {v}")).unwrap_or_default(),
        if d.tied { ", tied embeddings" } else { "" }
    );
    let (full, lengths) = (plan.components(Mode::Full), plan.lengths(Mode::Full));
    println!("components    {} full, {} compact", full.len(), plan.components(Mode::Compact).len());
    for line in group_components(full, lengths) {
        println!("  {line}");
    }
    let used = plan.tensors_used();
    println!("tensors used  {}", used.len());
    if args.verbose {
        for t in used {
            println!("  {t}");
        }
        println!("components (in order):");
        for (c, l) in full.iter().zip(lengths) {
            println!("  {c} ({l})");
        }
    }
    println!("ignored       {}", plan.ignored().len());
    for i in plan.ignored() {
        println!("  {}: {}", i.name, i.reason);
    }
    Ok(())
}
