//! `ccc summarize`: checkpoints (local directories or `hf:` repositories) → `ccc/1` files.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::bail;
use ccc_core::{Mode, Progress, StepSelection, Summary};
use ccc_summarize::adapter::{self, AdapterMode};
use ccc_summarize::{local, outputs, shard, Checkpoint, Mapping, Output, ReadMethod, RunOptions, ShardSpec};

use super::hub_args::{adapter_run_dir, base_dir};
use crate::progress::CliProgress;

/// Flags of `ccc summarize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Checkpoint directories, parents of step directories (step1000/, stage1-step1000-tokens5B/, checkpoint-1000/,
    /// …), or hf:ORG/NAME.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output file. With two modes, `X.safetensors` becomes `X.full.safetensors` and `X.compact.safetensors`.
    /// An existing file is completed: only its missing steps are computed.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Modes: `full` (per head and layer), `compact` (per kind), or `full,compact` (one pass).
    #[arg(long, default_value = "full", value_name = "MODES")]
    pub mode: Modes,

    /// Row summary: mean_sq, l2sq, l2, l1, max_abs.
    #[arg(long, default_value = "mean_sq", value_name = "NAME")]
    pub summary: Summary,

    /// Steps to summarize: `0,1000,2000`, `1000..5000`, `%1000==0`, combined with commas (default: all).
    #[arg(long, value_name = "SEL")]
    pub steps: Option<StepSelection>,

    /// Leave out the norm gains (ln_1, ln_2).
    #[arg(long)]
    pub no_norms: bool,

    /// Architecture mapping file (TOML) for a model without a built-in mapping (see docs/summarize.md).
    #[arg(long, value_name = "FILE")]
    pub arch: Option<PathBuf>,

    /// The base model of a PEFT LoRA run, a checkpoint directory or `hf:ORG/NAME[@REV]` (downloaded once into
    /// the hub cache): the inputs are then adapter checkpoints (checkpoint-N/ with adapter_config.json and
    /// adapter_model.safetensors).
    #[arg(long, value_name = "DIR|hf:ORG/NAME")]
    pub base: Option<PathBuf>,

    /// With --base: `merged` summarizes W0 + ΔW (every component of the base), `delta` ΔW alone (the adapted
    /// components).
    #[arg(long, value_name = "MODE", requires = "base", default_value = "merged")]
    pub adapter: AdapterMode,

    /// Continue when a weight is NaN or Inf (the tensor is reported; its values propagate).
    #[arg(long)]
    pub allow_nonfinite: bool,

    /// Summarize only shard i of N of the selected checkpoints (balanced by size; combine with `ccc merge`).
    #[arg(long, value_name = "i/N")]
    pub shard: Option<ShardSpec>,

    /// The `model` name stored in the file (default: the input's name).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Checkpoints summarized at once (default: one per core, at most 4, as many as --max-memory holds; 1 for
    /// hub inputs).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<NonZeroUsize>,

    /// Memory the checkpoints in flight may hold together when --jobs is not given, e.g. 448M or 8G (one
    /// checkpoint is always summarized, however large its column). With --adapter merged: how many adapters share
    /// one pass over the base (each holds its column and its LoRA factors).
    #[arg(long, value_name = "SIZE", default_value = "448M", value_parser = parse_size)]
    pub max_memory: u64,

    /// Read weight files with positioned reads instead of memory maps: slower, but a file truncated or replaced
    /// by another process while it is read gives an error instead of ending the run.
    #[arg(long)]
    pub no_mmap: bool,

    /// Only warnings and errors.
    #[arg(short, long)]
    pub quiet: bool,

    /// Also list the step directories not selected by --steps or not chosen by --revisions.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub hub: super::hub_args::HubArgs,
}

/// The validated options of a run.
struct Options {
    outputs: Vec<Output>,
    steps: StepSelection,
    run: RunOptions,
}

/// The modes of `--mode`: distinct, in canonical order (`full` before `compact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modes(Vec<Mode>);

impl FromStr for Modes {
    type Err = String;

    /// A comma-separated list of modes (`full`, `compact`, `full,compact`); repeats and empty items are ignored.
    fn from_str(s: &str) -> Result<Self, String> {
        outputs::parse_modes(s).map(Modes)
    }
}

/// `--jobs N`: at least one (without the flag, the number is chosen from the cores and the memory budget).
fn parse_jobs(s: &str) -> Result<NonZeroUsize, String> {
    let n: usize = s.trim().parse().map_err(|_| format!("`{s}` is not a number of checkpoints (e.g. 2)"))?;
    NonZeroUsize::new(n).ok_or_else(|| "must be at least 1 (leave --jobs out to choose automatically)".into())
}

fn validate(args: &Args) -> anyhow::Result<Options> {
    let steps = args.steps.clone().unwrap_or_else(StepSelection::all);
    if args.output.is_dir() {
        bail!("-o {}: is a directory; give a file name such as run.safetensors", args.output.display());
    }
    if let Some(parent) = args.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!("-o {}: the directory {} does not exist", args.output.display(), parent.display());
        }
    }
    let mapping = args.arch.as_deref().map(Mapping::load).transpose()?;
    let outputs = outputs::output_paths(&args.output, &args.mode.0);
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| outputs::default_model_name(args.inputs.first().map_or("", |s| s.as_str())));
    let mut run = RunOptions::new(outputs.clone(), model);
    run.summary = args.summary;
    run.norms = !args.no_norms;
    run.allow_nonfinite = args.allow_nonfinite;
    run.mapping = mapping;
    run.jobs = args.jobs;
    run.memory_budget = args.max_memory;
    Ok(Options { outputs, steps, run })
}

/// A size in bytes: a number with an optional binary unit, `K`, `M`, `G` or `T` (`KiB`, `MB`, … are read the
/// same way).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use K, M, G or T, e.g. 512M)")),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 512M, 8G)"))?;
    let bytes = n * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes >= u64::MAX as f64 {
        return Err(format!("`{s}` is not a usable size (e.g. 512M, 8G)"));
    }
    Ok(bytes as u64)
}

/// One line per run directory naming each subdirectory passed over, and why.
fn skipped_notice(skipped: &[local::Skipped]) -> Option<String> {
    let mut by_dir: Vec<(&Path, Vec<String>)> = Vec::new();
    for s in skipped {
        let parent = s.path.parent().unwrap_or(Path::new(""));
        let name = s.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let entry = format!("{name} ({})", s.reason);
        match by_dir.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, names)) => names.push(entry),
            None => by_dir.push((parent, vec![entry])),
        }
    }
    let lines: Vec<String> = by_dir
        .into_iter()
        .map(|(dir, names)| {
            let what = if names.len() == 1 { "subdirectory" } else { "subdirectories" };
            format!("{}: skipped {} {what}: {}", dir.display(), names.len(), names.join(", "))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Run `ccc summarize`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut opts = validate(&args)?;
    let progress = CliProgress::new(args.quiet);
    let (hf, paths): (Vec<&String>, Vec<&String>) = args.inputs.iter().partition(|i| i.starts_with("hf:"));
    if !hf.is_empty() && args.jobs.is_none() && args.base.is_none() {
        // Remote checkpoints are fetched one at a time: disk and bandwidth, not cores, are the limit there.
        opts.run.jobs = Some(NonZeroUsize::MIN);
    }
    let mut checkpoints: Vec<Box<dyn Checkpoint>> = Vec::new();
    let mut merged_base = None;
    let read = if args.no_mmap { ReadMethod::Pread } else { ReadMethod::Map };
    if let Some(base) = &args.base {
        let base = adapter::Base::open(&base_dir(base, &args.hub.conn)?, opts.run.mapping.as_ref(), read)?;
        let mut paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        // Adapter runs on the hub: their chosen checkpoint-N/ folders, fetched into the hub cache, are local runs.
        let names = args.hub.name_filter()?;
        for input in &hf {
            paths.push(adapter_run_dir(input, &args.hub.conn, &|name, step| {
                names.matches(name) && opts.steps.contains(step)
            })?);
        }
        let found = adapter::discover(&paths, &opts.steps, &args.hub.name_filter()?, &base, args.adapter)?;
        if args.adapter == adapter::AdapterMode::Merged {
            merged_base = Some(base.clone());
        }
        for (dir, why) in &found.skipped {
            progress.message(&format!("skipped {}: {why}", dir.display()));
        }
        if args.verbose {
            for s in &found.unselected {
                progress.message(&format!("not selected by --steps or --revisions: {}", s.display()));
            }
        }
        checkpoints
            .extend(found.checkpoints.into_iter().map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>));
    } else if let Some((p, config)) =
        paths.iter().find_map(|p| adapter::first_adapter_config(Path::new(p.as_str())).map(|c| (p, c)))
    {
        // The adapter names its base as it was given to peft: a hub id, or a path on the machine that trained it.
        let named = adapter::AdapterConfig::load(&config).ok().and_then(|c| c.base_model).map_or(String::new(), |b| {
            if Path::new(&b).is_dir() {
                format!(" (adapter_config.json names `{b}`: --base {b})")
            } else {
                format!(" (adapter_config.json names `{b}`: --base hf:{b} if that is a hub model)")
            }
        });
        bail!(
            "{p} holds PEFT adapters (adapter_config.json): give the base model they were trained from with --base DIR \
             or --base hf:ORG/NAME{named} (and --adapter merged or delta)"
        );
    }
    if !paths.is_empty() && args.base.is_none() {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        let found = local::discover_with(&paths, &opts.steps, &args.hub.name_filter()?)?;
        if let Some(notice) = skipped_notice(&found.skipped) {
            progress.message(&notice);
        }
        if args.verbose {
            for s in &found.unselected {
                progress.message(&format!("not selected by --steps: {}", s.display()));
            }
            for s in &found.unmatched {
                progress.message(&format!("not chosen by --revisions: {}", s.display()));
            }
        }
        checkpoints
            .extend(found.checkpoints.into_iter().map(|c| Box::new(c.with_read_method(read)) as Box<dyn Checkpoint>));
    }
    // With --base, hub inputs were adapter runs (above).
    for spec in hf.iter().filter(|_| args.base.is_none()) {
        checkpoints.extend(super::hub_args::resolve(&args.hub, spec, &opts.steps, &progress)?);
    }
    let have: Vec<i64> = checkpoints.iter().map(|c| c.step()).collect();
    let missing: Vec<String> =
        outputs::missing_listed_steps(&opts.steps, &have).iter().map(|s| s.to_string()).collect();
    if !missing.is_empty() {
        progress.warn(&format!("--steps names steps that were not found: {}", missing.join(", ")));
    }
    if checkpoints.is_empty() {
        bail!("no checkpoints selected (check the inputs and --steps)");
    }
    checkpoints.sort_by_key(|c| c.step());
    if let Some(spec) = args.shard {
        let n = checkpoints.len();
        checkpoints = shard(checkpoints, |c| c.size_hint(), spec);
        progress.message(&format!("shard {spec}: {} of {n} checkpoints", checkpoints.len()));
        if checkpoints.is_empty() {
            progress.warn(&format!("shard {spec} has no checkpoints; nothing to do"));
            return Ok(());
        }
    }
    let report = ccc_summarize::run(&checkpoints, &opts.run, &progress)?;
    let names: Vec<String> = opts.outputs.iter().map(|o| o.path.display().to_string()).collect();
    if report.computed.is_empty() {
        progress.message(&format!(
            "{}: all {} steps already filled; nothing to do",
            names.join(", "),
            report.already.len()
        ));
    } else {
        let rate = report.bytes as f64 / report.seconds.max(1e-9) / 1e6;
        progress.message(&format!(
            "wrote {} ({} architecture; {} checkpoints summarized, {} already there) in {:.1} s ({rate:.0} MB/s)",
            names.join(", "),
            report.architecture,
            report.computed.len(),
            report.already.len(),
            report.seconds
        ));
        if let Some(base) = merged_base.filter(|b| b.passes() > 0) {
            let n = base.passes();
            let hint = if n > 1 { " (a larger --max-memory holds more adapters per pass)" } else { "" };
            progress.message(&format!(
                "base {} read {n} time{} for {} adapters{hint}",
                base.dir().display(),
                if n == 1 { "" } else { "s" },
                report.computed.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("448M"), Ok(448 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512 MB"), Ok(512 << 20));
        for bad in ["", "M", "12X", "-1G", "0", "1e9", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_flag() {
        assert_eq!("compact, full".parse::<Modes>().unwrap(), Modes(vec![Mode::Full, Mode::Compact]));
        assert_eq!("full,,full".parse::<Modes>().unwrap(), Modes(vec![Mode::Full]));
        assert!("fast".parse::<Modes>().unwrap_err().contains("unknown mode `fast`"));
        assert!(" , ".parse::<Modes>().is_err());
    }

    #[test]
    fn jobs() {
        assert_eq!(parse_jobs("3"), Ok(NonZeroUsize::new(3).unwrap()));
        assert!(parse_jobs("0").unwrap_err().contains("at least 1"));
        assert!(parse_jobs("-1").is_err() && parse_jobs("two").is_err());
    }
}
