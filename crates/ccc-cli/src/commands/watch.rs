//! `ccc watch`: follow a run directory as a trainer writes checkpoints into it; grow the tensor, re-analyze,
//! alert.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use ccc_analyze::consensus::CompGroup;
use ccc_core::{Mode, Summary};
use ccc_figures::FigureSet;
use ccc_live::{follow, Event, FollowOptions, Live, LiveOptions, Stop};
use ccc_summarize::adapter::{AdapterMode, Base};
use ccc_summarize::ReadMethod;

use crate::progress::CliProgress;

/// Flags of `ccc watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory the trainer writes checkpoints into (`checkpoint-500/`, `step1000/`, …).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,

    /// The run's tensor: created by the first checkpoint, grown in place by each next one.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Mode of the tensor: `full` or `compact`.
    #[arg(long, default_value = "full", value_name = "MODE")]
    pub mode: Mode,

    /// Row summary: mean_sq, l2sq, l2, l1, max_abs.
    #[arg(long, default_value = "mean_sq", value_name = "NAME")]
    pub summary: Summary,

    /// Leave out the norm gains (ln_1, ln_2).
    #[arg(long)]
    pub no_norms: bool,

    /// The `model` name stored in the file (default: the run directory's name).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Re-analyze after every N new checkpoints (default: 1 with --report, else never).
    #[arg(long, value_name = "N")]
    pub analyze_every: Option<usize>,

    /// Write the analysis, the run figures and a report page that reloads itself into DIR after each analysis.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Seed of the analysis.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Stop after SECS seconds without a new checkpoint (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<f64>,

    /// Look at the directory at least every SECS seconds (changes are also noticed through file notifications).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub poll: f64,

    /// Only warnings, errors and alerts.
    #[arg(short, long)]
    pub quiet: bool,

    /// The base model of a PEFT run (its checkpoints are adapters): a checkpoint directory or `hf:ORG/NAME[@REV]`.
    #[arg(long, value_name = "DIR|hf:ORG/NAME")]
    pub base: Option<PathBuf>,

    /// With --base: `merged` (W0 + ΔW, every component) or `delta` (ΔW alone, the adapted components).
    #[arg(long, value_name = "MODE", requires = "base", default_value = "merged")]
    pub adapter: AdapterMode,

    /// How to reach the hub for an `hf:` --base.
    #[command(flatten)]
    pub conn: super::hub_args::HubConnArgs,
}

/// Set by Ctrl-C: the checkpoint in flight is finished, then `ccc watch` ends (a second Ctrl-C ends it at once;
/// the tensor is valid either way).
static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

fn install_ctrl_c() {
    #[cfg(unix)]
    // SAFETY: a zeroed `sigaction` with a handler that only touches an atomic and calls `_exit`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

fn seconds(flag: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} {s}: give seconds > 0"))
}

/// Run `ccc watch`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.run_dir.is_dir() {
        bail!("{}: not a directory (give the directory the trainer writes checkpoints into)", args.run_dir.display());
    }
    if args.output.is_dir() {
        bail!("-o {}: is a directory; give a file name such as run.safetensors", args.output.display());
    }
    let follow_opts = FollowOptions {
        poll: seconds("--poll", args.poll)?,
        idle_exit: args.idle_exit.map(|s| seconds("--idle-exit", s)).transpose()?,
        ..FollowOptions::default()
    };
    let model = args.model.clone().unwrap_or_else(|| {
        let p = args.run_dir.canonicalize().unwrap_or_else(|_| args.run_dir.clone());
        p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    });
    let mut opts = LiveOptions::new(&args.output, model);
    opts.mode = args.mode;
    opts.summary = args.summary;
    opts.norms = !args.no_norms;
    opts.analyze_every = args.analyze_every.unwrap_or(usize::from(args.report.is_some()));
    opts.report = args.report.clone();
    opts.figures = FigureSet::Summary;
    opts.seed = args.seed;
    if let Some(base) = &args.base {
        let dir = super::hub_args::base_dir(base, &args.conn)?;
        opts.adapter = Some((Base::open(&dir, None, ReadMethod::default())?, args.adapter));
    } else if ccc_summarize::adapter::is_adapter_run(&args.run_dir) {
        bail!(
            "{} holds PEFT adapters (adapter_config.json): give the base model they are trained from with --base",
            args.run_dir.display()
        );
    }
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create --report {}", dir.display()))?;
    }
    install_ctrl_c();
    // The work inside shows only warnings: one line per checkpoint is the progress here.
    let inner = CliProgress::new(true);
    let quiet = args.quiet;
    let mut live = Live::new(opts);
    if !quiet {
        eprintln!("watching {} → {} (Ctrl-C to stop)", args.run_dir.display(), args.output.display());
    }
    let mut on = |e: Event<'_>| match e {
        Event::Polling(msg) if !quiet => eprintln!("{msg}"),
        Event::Polling(_) => {}
        Event::Added { step, seconds, .. } if !quiet => eprintln!("step {step}: added in {seconds:.2} s"),
        Event::Added { .. } => {}
        Event::Skipped { step, dir, error } => {
            eprintln!("warning: step {step} ({}) skipped: {error}", dir.display())
        }
        Event::Analyzed(u) => {
            for &c in &u.changes.new_outliers {
                println!("alert: step {}: coordinate {c} is now an outlier by consensus", u.step);
            }
            for s in &u.changes.switched {
                let first = &u.first_component;
                let group = |g: CompGroup| match g {
                    CompGroup::WithFirst => format!("the group of {first}"),
                    CompGroup::Other => format!("the group opposed to {first}"),
                    CompGroup::Discarded => "neither group".to_string(),
                };
                println!(
                    "alert: step {}: component {} moved from {} to {}",
                    u.step,
                    s.name,
                    group(s.from),
                    group(s.to)
                );
            }
            if !quiet {
                let report = u.report.as_ref().map(|p| format!("; report {}", p.display())).unwrap_or_default();
                eprintln!(
                    "analyzed {} checkpoints (to step {}) in {:.1} s: {} consensus outliers, top {:?}{report}",
                    u.checkpoints,
                    u.step,
                    u.seconds,
                    u.outliers.len(),
                    u.top
                );
            }
        }
        Event::AnalysisFailed(e) => eprintln!("warning: {e}"),
    };
    let stop = follow(&args.run_dir, &mut live, &follow_opts, &STOP, &inner, &mut on)?;
    if !quiet {
        let n = live.filled_steps()?.len();
        match stop {
            Stop::Idle => eprintln!(
                "no new checkpoint for {:.0} s; {} holds {n} checkpoints",
                args.idle_exit.unwrap_or(0.0),
                args.output.display()
            ),
            Stop::Interrupted => eprintln!("stopped; {} holds {n} checkpoints", args.output.display()),
        }
    }
    Ok(())
}
