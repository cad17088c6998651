//! Progress display: a bar on a terminal, plain log lines otherwise, nothing but warnings with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use ccc_core::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
pub struct CliProgress {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    plain: Mutex<Option<(String, u64, u64, Instant)>>,
    terminal: bool,
}

impl CliProgress {
    /// Progress for a command; `quiet` shows only warnings.
    pub fn new(quiet: bool) -> Self {
        CliProgress { quiet, bar: Mutex::new(None), plain: Mutex::new(None), terminal: std::io::stderr().is_terminal() }
    }
}

impl Progress for CliProgress {
    fn start(&self, phase: &str, total: u64, unit: &str) {
        if self.quiet {
            return;
        }
        if self.terminal {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = if unit == "bytes" {
                "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
            } else {
                "{msg:>12} [{bar:30}] {pos}/{len} {unit} ({per_sec}) ETA {eta} {prefix}"
            };
            let template = template.replace("{unit}", unit);
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(phase.to_string());
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(bar);
            }
        } else {
            eprintln!("{phase}: 0/{total} {unit}");
            if let Ok(mut p) = self.plain.lock() {
                *p = Some((phase.to_string(), total, 0, Instant::now()));
            }
        }
    }

    fn advance(&self, n: u64) {
        if self.quiet {
            return;
        }
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.inc(n);
                return;
            }
        }
        if let Ok(mut p) = self.plain.lock() {
            if let Some((_, _, done, _)) = p.as_mut() {
                *done += n;
            }
        }
    }

    fn message(&self, msg: &str) {
        if self.quiet {
            return;
        }
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.println(msg);
                return;
            }
        }
        eprintln!("{msg}");
    }

    fn status(&self, text: &str) {
        if self.quiet {
            return;
        }
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.set_prefix(text.to_string());
            }
        }
    }

    fn warn(&self, msg: &str) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.println(format!("warning: {msg}"));
                return;
            }
        }
        eprintln!("warning: {msg}");
    }

    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
        if let Ok(mut p) = self.plain.lock() {
            if let Some((phase, total, done, t0)) = p.take() {
                if !self.quiet {
                    eprintln!("{phase}: {done}/{total} done in {:.1} s", t0.elapsed().as_secs_f64());
                }
            }
        }
    }
}
