//! What `ccc summarize` and `ccc.summarize` share at their edges: the modes of `--mode`, the output file of each
//! mode, the default model name, and the listed steps that were not found.

use std::path::Path;

use ccc_core::{Mode, StepSelection};

use crate::engine::Output;
use crate::local;

/// The modes of a comma-separated `--mode` (`full`, `compact`, `full,compact`): distinct, in canonical order
/// (`full` before `compact`); repeats and empty items are ignored. The error is the user's one line.
pub fn parse_modes(s: &str) -> Result<Vec<Mode>, String> {
    let mut modes = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let m: Mode = part.parse().map_err(|e: ccc_core::CoreError| e.to_string())?;
        if !modes.contains(&m) {
            modes.push(m);
        }
    }
    if modes.is_empty() {
        return Err("no mode given: use `full`, `compact` or `full,compact`".into());
    }
    modes.sort_by_key(|m| Mode::ALL.iter().position(|x| x == m));
    Ok(modes)
}

/// The output file of each mode: `output` itself for one mode; `X.full.safetensors`, `X.compact.safetensors` for
/// two.
pub fn output_paths(output: &Path, modes: &[Mode]) -> Vec<Output> {
    if let [mode] = modes {
        return vec![Output { mode: *mode, path: output.to_path_buf() }];
    }
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    modes
        .iter()
        .map(|&mode| Output { mode, path: output.with_file_name(format!("{stem}.{mode}.safetensors")) })
        .collect()
}

/// The model name stored when none is given, from the first input: `hf:org/name@rev` → `org/name`; a run
/// directory → its name; a checkpoint directory whose name is a step → its parent's name.
pub fn default_model_name(first_input: &str) -> String {
    if let Some(hf) = first_input.strip_prefix("hf:") {
        return hf.split('@').next().unwrap_or(hf).to_string();
    }
    let p = Path::new(first_input);
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(&p) {
        Some(n) if local::parse_step(&n).is_some() => p.parent().and_then(name).unwrap_or(n),
        Some(n) => n,
        None => first_input.to_string(),
    }
}

/// The steps `steps` lists one by one that are not among the found checkpoints' steps `have` (for a warning).
pub fn missing_listed_steps(steps: &StepSelection, have: &[i64]) -> Vec<i64> {
    steps.listed_steps().into_iter().filter(|s| !have.contains(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_distinct_and_canonical() {
        assert_eq!(parse_modes("compact, full,compact").unwrap(), vec![Mode::Full, Mode::Compact]);
        assert_eq!(parse_modes("compact").unwrap(), vec![Mode::Compact]);
        assert!(parse_modes(" , ").unwrap_err().contains("no mode given"));
        assert!(parse_modes("full,dense").unwrap_err().contains("dense"));
    }

    #[test]
    fn two_modes_name_two_files() {
        let one = output_paths(Path::new("d/run.safetensors"), &[Mode::Compact]);
        assert_eq!(one[0].path, Path::new("d/run.safetensors"));
        let two = output_paths(Path::new("d/run.safetensors"), &[Mode::Full, Mode::Compact]);
        assert_eq!(two[0].path, Path::new("d/run.full.safetensors"));
        assert_eq!(two[1].path, Path::new("d/run.compact.safetensors"));
    }

    #[test]
    fn model_names() {
        assert_eq!(default_model_name("hf:EleutherAI/pythia-70m@step1000"), "EleutherAI/pythia-70m");
        assert_eq!(default_model_name("/nowhere/runs/pythia-14m"), "pythia-14m");
        assert_eq!(default_model_name("/nowhere/pythia-14m/step1000"), "pythia-14m");
    }

    #[test]
    fn missing_steps_are_the_listed_ones_not_found() {
        let s: StepSelection = "0,1000,2000..3000".parse().unwrap();
        assert_eq!(missing_listed_steps(&s, &[0, 2500]), vec![1000]);
    }
}
