//! Tick positions and labels: "nice" numeric ticks, compact step numbers, checkpoint axes that do not overlap.

/// Up to about `target` ticks at multiples of 1, 2 or 5 × 10ⁿ covering `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || target == 0 {
        return if lo.is_finite() { vec![lo] } else { vec![] };
    }
    let raw = (hi - lo) / target as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let count = |s: f64| ((hi / s + 1e-9).floor() - (lo / s - 1e-9).ceil() + 1.0).max(0.0);
    // The 1-2-5 step whose tick count is closest to the target (ties: fewer ticks).
    let step = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
        .iter()
        .map(|m| m * mag)
        .filter(|&s| count(s) >= 2.0)
        .min_by(|&a, &b| {
            (count(a) - target as f64).abs().total_cmp(&(count(b) - target as f64).abs()).then(b.total_cmp(&a))
        })
        .unwrap_or(raw);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v }).collect()
}

/// Format a tick value with as many decimals as the tick spacing needs.
pub fn format_tick(v: f64, spacing: f64) -> String {
    let decimals = if spacing > 0.0 && spacing < 1.0 { (-spacing.log10()).ceil().max(0.0) as usize } else { 0 };
    let decimals = decimals.min(6);
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// A compact training-step label: `512`, `9500`, `13k`, `730k`, `1.2M`.
pub fn step_label(step: i64) -> String {
    let a = step.unsigned_abs();
    let sign = if step < 0 { "-" } else { "" };
    let short = |v: u64, unit: u64, suffix: &str| {
        if v % unit == 0 {
            format!("{sign}{}{suffix}", v / unit)
        } else if (v * 10) % unit == 0 {
            format!("{sign}{:.1}{suffix}", v as f64 / unit as f64)
        } else {
            format!("{sign}{v}")
        }
    };
    if a >= 1_000_000 && (a * 10) % 1_000_000 == 0 {
        short(a, 1_000_000, "M")
    } else if a >= 10_000 {
        short(a, 1_000, "k")
    } else {
        format!("{step}")
    }
}

/// Which checkpoint positions get a label on an axis where checkpoint `i` sits at `i × spacing` pixels and a label
/// needs `label_px(i)` pixels: greedy from the first, always the last, never two closer than their labels.
pub fn checkpoint_ticks(n: usize, spacing: f64, label_px: impl Fn(usize) -> f64) -> Vec<usize> {
    if n == 0 {
        return vec![];
    }
    let gap = 10.0;
    let fits = |a: usize, b: usize| (b - a) as f64 * spacing >= (label_px(a) + label_px(b)) / 2.0 + gap;
    let mut out = vec![0];
    for i in 1..n {
        if fits(*out.last().unwrap_or(&0), i) && (i == n - 1 || fits(i, n - 1)) {
            out.push(i);
        }
    }
    if n > 1 && *out.last().unwrap_or(&0) != n - 1 {
        // The last checkpoint matters most: replace the previous label if they collide.
        if out.len() > 1 && !fits(out[out.len() - 1], n - 1) {
            out.pop();
        }
        out.push(n - 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside() {
        let t = nice_ticks(-4.6, -3.3, 6);
        assert_eq!(t.len(), 7);
        assert!((t[0] + 4.6).abs() < 1e-9 || t[0] > -4.6);
        assert!(t.iter().all(|&v| (-4.6 - 1e-9..=-3.3 + 1e-9).contains(&v)));
        let d = t[1] - t[0];
        assert!((d - 0.2).abs() < 1e-9, "{d}");
        assert_eq!(format_tick(-4.0, 0.2), "-4.0");
        assert_eq!(format_tick(-0.0000001, 0.2), "0.0");
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
    }

    #[test]
    fn step_labels() {
        assert_eq!(step_label(512), "512");
        assert_eq!(step_label(9500), "9500");
        assert_eq!(step_label(13000), "13k");
        assert_eq!(step_label(12500), "12.5k");
        assert_eq!(step_label(730000), "730k");
        assert_eq!(step_label(1_200_000), "1.2M");
        assert_eq!(step_label(12_345), "12345");
    }

    #[test]
    fn checkpoint_ticks_do_not_overlap() {
        let t = checkpoint_ticks(37, 20.0, |_| 35.0);
        assert_eq!(t[0], 0);
        assert_eq!(*t.last().unwrap(), 36);
        assert!(t.windows(2).all(|w| (w[1] - w[0]) as f64 * 20.0 >= 45.0));
        assert_eq!(checkpoint_ticks(1, 10.0, |_| 100.0), vec![0]);
        assert_eq!(checkpoint_ticks(3, 100.0, |_| 10.0), vec![0, 1, 2]);
    }
}
