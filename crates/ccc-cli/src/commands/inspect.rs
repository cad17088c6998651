//! `ccc inspect`: what `summarize` would do with a checkpoint — the architecture found, the components it
//! produces (experts and routers of mixture-of-experts models too), and the tensors it ignores.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use ccc_core::{Component, Mode, StepSelection};
use ccc_summarize::adapter::{self, AdapterCheckpoint, AdapterMode, Base, TargetModules};
use ccc_summarize::{local, Checkpoint, Mapping, Plan, ReadMethod};

/// Flags of `ccc inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A checkpoint directory, or a parent of step directories (its first checkpoint is inspected).
    #[arg(value_name = "DIR")]
    pub input: PathBuf,

    /// Architecture mapping file (TOML) instead of detecting the architecture from config.json.
    #[arg(long, value_name = "FILE")]
    pub arch: Option<PathBuf>,

    /// The base model of a PEFT LoRA adapter (DIR is then an adapter checkpoint or run), a directory or
    /// `hf:ORG/NAME[@REV]`: shows which base weights the adapter changes, with rank, scaling and components.
    #[arg(long, value_name = "DIR|hf:ORG/NAME")]
    pub base: Option<PathBuf>,

    /// How to reach the hub for an `hf:` --base.
    #[command(flatten)]
    pub conn: super::hub_args::HubConnArgs,

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
            let experts: Vec<usize> = cs.iter().filter_map(|(c, _)| c.expert).collect();
            let range = |v: &[usize], p: &str| match (v.iter().min(), v.iter().max()) {
                (Some(a), Some(b)) if a == b => format!("{p}{a}"),
                (Some(a), Some(b)) => format!("{p}{a}–{p}{b}"),
                _ => String::new(),
            };
            let mut shape = range(&layers, "L");
            if !heads.is_empty() {
                shape = format!("{shape} × {}", range(&heads, "H"));
            }
            if !experts.is_empty() {
                // A mixture-of-experts MLP: how many are experts' and how many dense (or shared-expert) ones.
                let dense = cs.len() - experts.len();
                let shared = if dense > 0 { format!(", {dense} dense/shared") } else { String::new() };
                shape = format!("{shape} × {}{shared}", range(&experts, "E"));
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

/// The first adapter checkpoint of an adapter directory or run.
fn first_adapter(input: &std::path::Path) -> Option<PathBuf> {
    if input.join(adapter::ADAPTER_CONFIG).is_file() {
        return Some(input.to_path_buf());
    }
    let mut subs: Vec<(i64, PathBuf)> = std::fs::read_dir(input)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(adapter::ADAPTER_CONFIG).is_file())
        .filter_map(|p| Some((local::parse_step(&p.file_name()?.to_string_lossy())?, p)))
        .collect();
    subs.sort();
    subs.into_iter().next().map(|(_, p)| p)
}

/// `ccc inspect` of a PEFT adapter: its configuration, and with `--base` the base weights it changes.
fn inspect_adapter(args: &Args, dir: &std::path::Path, mapping: Option<&Mapping>) -> anyhow::Result<()> {
    let config = adapter::AdapterConfig::load(&dir.join(adapter::ADAPTER_CONFIG))?;
    println!("adapter       {} ({})", dir.display(), if config.use_dora { "DoRA" } else { "LoRA" });
    let targets = match &config.target_modules {
        Some(TargetModules::List(v)) => v.join(", "),
        Some(TargetModules::Regex(r)) => format!("regex `{r}`"),
        None => "(not given)".into(),
    };
    println!(
        "lora          r {}, alpha {}{}{}; target_modules {targets}",
        config.r,
        config.lora_alpha,
        if config.use_rslora { ", rsLoRA (alpha/√r)" } else { "" },
        if config.fan_in_fan_out { ", fan_in_fan_out" } else { "" }
    );
    for (k, v) in &config.rank_pattern {
        println!("  rank_pattern  {k}: {v}");
    }
    for (k, v) in &config.alpha_pattern {
        println!("  alpha_pattern {k}: {v}");
    }
    if let Some(b) = &config.base_model {
        println!("trained on    {b}");
    }
    let Some(base_dir) = &args.base else {
        println!("(give the base model with --base DIR to see the weights and components it changes)");
        return Ok(());
    };
    let base = Base::open(&super::hub_args::base_dir(base_dir, &args.conn)?, mapping, ReadMethod::default())?;
    let ckpt = AdapterCheckpoint::open(dir, None, base.clone(), AdapterMode::Delta)?;
    let plan = base.plan();
    println!("base          {} ({})", base.dir().display(), plan.architecture());
    let adapted = ckpt.adapted()?;
    let n_comp: usize = adapted.iter().map(|a| a.components.len()).sum();
    println!(
        "adapted       {} weights, {n_comp} components (delta mode; merged mode has all {})",
        adapted.len(),
        plan.components(Mode::Full).len()
    );
    for a in adapted {
        let comps = match a.components.as_slice() {
            [] => "not a summarized weight".to_string(),
            [one] => one.clone(),
            [first, .., last] => format!("{first} … {last} ({})", a.components.len()),
        };
        if a.full_copy {
            println!("  {} {:?}: trained whole (modules_to_save) → {comps}", a.weight, a.shape);
            continue;
        }
        let dora = if a.dora { ", DoRA magnitude" } else { "" };
        println!("  {} {:?}: rank {}, scale {:.4}{dora} → {comps}", a.weight, a.shape, a.rank, a.scale);
    }
    Ok(())
}

/// Run `ccc inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(dir) = first_adapter(&args.input) {
        let mapping = args.arch.as_deref().map(Mapping::load).transpose()?;
        return inspect_adapter(&args, &dir, mapping.as_ref());
    }
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
        "dimensions    hidden {}, layers {}, heads {}, kv heads {}, head dim {}{}{}{}",
        d.hidden,
        d.layers,
        d.heads,
        d.kv_heads,
        d.head_dim,
        d.vocab.map(|v| format!(", vocab {v}")).unwrap_or_default(),
        if d.tied { ", tied embeddings" } else { "" },
        d.experts.map(|e| format!(", {e} experts per MoE layer")).unwrap_or_default()
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
