//! Short, readable forms of the analysis' method strings, and file-name slugs.

/// The step names of an instruction string: `instructions[(_inp111_data101, median), (_inp101_out101,
/// bipartition_spectral)]|MAD-last-sum` → `median → bipartition_spectral | MAD-last-sum`. Other strings are
/// returned unchanged.
pub fn short_method(method: &str) -> String {
    let (head, tail) = match method.find("]|") {
        Some(i) => (&method[..=i], Some(&method[i + 2..])),
        None => (method, None),
    };
    let Some(body) = head.strip_prefix("instructions[").and_then(|b| b.strip_suffix(']')) else {
        return method.to_string();
    };
    let mut steps = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('(') {
        // Each step is `(_io, NAME)`; NAME may itself contain parentheses, e.g. `biclustering(3,3)`.
        let after = &rest[open + 1..];
        let Some(comma) = after.find(", ") else { break };
        let name_start = &after[comma + 2..];
        let mut depth = 0usize;
        let mut end = name_start.len();
        for (i, ch) in name_start.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = i;
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        steps.push(&name_start[..end]);
        rest = &name_start[(end + 1).min(name_start.len())..];
    }
    if steps.is_empty() {
        return method.to_string();
    }
    let mut s = steps.join(" → ");
    if let Some(t) = tail {
        s.push_str(" | ");
        s.push_str(t);
    }
    s
}

/// A file-name slug: lowercase ASCII letters and digits separated by single `-`, at most `max` characters.
pub fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_methods() {
        assert_eq!(
            short_method("instructions[(_inp111_data101, median), (_inp101_out101, bipartition_spectral)]"),
            "median → bipartition_spectral"
        );
        assert_eq!(
            short_method("instructions[(_inp111_out101, folding022+biclustering(3,3)/folding200:Agg)]|MAD-union-dif"),
            "folding022+biclustering(3,3)/folding200:Agg | MAD-union-dif"
        );
        assert_eq!(short_method("wte|MAD-last-sum"), "wte|MAD-last-sum");
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("median → bipartition_spectral | MAD-last-sum", 80),
            "median-bipartition-spectral-mad-last-sum"
        );
        assert_eq!(slug("((", 10), "x");
        assert_eq!(slug("abc def ghi", 5), "abc-d");
        assert_eq!(slug("abc def", 4), "abc");
    }
}
