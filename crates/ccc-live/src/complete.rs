//! When a checkpoint directory is complete: written to its last byte, so it can be summarized.
//!
//! A trainer writes a checkpoint over seconds (or minutes), may pause in the middle of a file, and writes shards
//! one after another. A directory is complete when
//!
//! - `config.json` is there and parses;
//! - its weights are found (as the summarizer finds them) and every weight file is whole: a safetensors file is
//!   exactly as long as its header says (8 + header + the largest data offset), an index parses and every shard it
//!   lists is there and whole, a PyTorch zip ends with its end-of-central-directory record;
//! - and nothing changed between two looks (sizes and modification times of those files), so a writer that
//!   rewrites a file in place is waited for too.
//!
//! Hugging Face's Trainer writes `tmp-checkpoint-N` and renames it to `checkpoint-N` when done: names starting
//! with `tmp-` are never checkpoints.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ccc_summarize::local::WeightFiles;

/// What a look at a checkpoint directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// Every file is whole; the fingerprint must be seen twice before the directory counts as complete.
    Whole(Fingerprint),
    /// Not yet: why (for `--verbose` messages and tests).
    Incomplete(String),
}

/// The sizes and modification times of a checkpoint's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

/// Whether a directory name is a trainer's temporary one (`tmp-checkpoint-N`), never a checkpoint.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with("tmp-") || name.starts_with('.') || name.ends_with(".tmp")
}

/// Look at checkpoint directory `dir` (a PEFT adapter's when it has `adapter_config.json`: then that and
/// `adapter_model.safetensors` or `adapter_model.bin`, whole).
pub fn look(dir: &Path) -> Look {
    if let Some(files) = adapter_files(dir) {
        return look_at(files);
    }
    let config = dir.join("config.json");
    let parsed = std::fs::read(&config).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    if !parsed.is_some_and(|v| v.is_object()) {
        return Look::Incomplete("no complete config.json yet".into());
    }
    let weights = match WeightFiles::find(dir) {
        Ok(w) => w,
        Err(_) => return Look::Incomplete("no weights yet".into()),
    };
    let mut files = weights.files();
    match &weights {
        WeightFiles::SafetensorsIndex(index) | WeightFiles::TorchIndex(index) => {
            if files.is_empty() {
                return Look::Incomplete(format!("{} is not complete yet", index.display()));
            }
            files.push(index.clone());
        }
        WeightFiles::Safetensors(_) | WeightFiles::Torch(_) => {}
    }
    files.push(config);
    look_at(Ok(files))
}

/// The files of a PEFT adapter checkpoint, once its config parses (None: not an adapter's directory).
fn adapter_files(dir: &Path) -> Option<Result<Vec<PathBuf>, String>> {
    let config = dir.join("adapter_config.json");
    if !config.exists() {
        return None;
    }
    let parsed = std::fs::read(&config).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    if !parsed.is_some_and(|v| v.is_object()) {
        return Some(Err("no complete adapter_config.json yet".into()));
    }
    let weights =
        ["adapter_model.safetensors", "adapter_model.bin"].map(|n| dir.join(n)).into_iter().find(|p| p.exists());
    Some(weights.map(|w| vec![w, config]).ok_or_else(|| "no adapter weights yet".to_string()))
}

/// Whether every file of `files` is whole, and their fingerprint.
fn look_at(files: Result<Vec<PathBuf>, String>) -> Look {
    let files = match files {
        Ok(f) => f,
        Err(why) => return Look::Incomplete(why),
    };
    let mut print = Vec::with_capacity(files.len());
    for f in files {
        let Ok(meta) = std::fs::metadata(&f) else {
            return Look::Incomplete(format!("{} is not there yet", f.display()));
        };
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let whole = if name.ends_with(".safetensors") {
            safetensors_whole(&f, meta.len())
        } else if name.ends_with(".bin") || name.ends_with(".pt") {
            zip_whole(&f, meta.len())
        } else {
            Ok(())
        };
        if let Err(why) = whole {
            return Look::Incomplete(format!("{}: {why}", f.display()));
        }
        print.push((f, meta.len(), meta.modified().ok()));
    }
    Look::Whole(Fingerprint(print))
}

/// A safetensors file is whole when it is exactly as long as its header declares.
fn safetensors_whole(path: &Path, len: u64) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(|_| "shorter than a header".to_string())?;
    let n = u64::from_le_bytes(n);
    if n > len.saturating_sub(8) || n > 256 << 20 {
        return Err(format!("{len} bytes, the header alone needs {}", n.saturating_add(8)));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|_| "the header is not written yet".to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&header).map_err(|_| "the header is not written yet")?;
    let end = v
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| *k != "__metadata__")
                .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_u64())
                .max()
                .unwrap_or(0)
        })
        .ok_or("the header is not a JSON object")?;
    let want = 8 + n + end;
    if len != want {
        return Err(format!("{len} of {want} bytes"));
    }
    Ok(())
}

/// A zip file (PyTorch's format) is whole when its end-of-central-directory record is in its last bytes.
fn zip_whole(path: &Path, len: u64) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    // The record is 22 bytes plus a comment of at most 65535.
    let tail = len.min(22 + 65_535);
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    f.seek(SeekFrom::Start(len - tail)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; tail as usize];
    f.read_exact(&mut buf).map_err(|e| e.to_string())?;
    if buf.len() >= 22 && buf.windows(4).rev().any(|w| w == EOCD) {
        Ok(())
    } else {
        Err("the zip archive has no end record yet".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures").join(rel)
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    #[test]
    fn a_checkpoint_is_whole_only_when_every_byte_is_there() {
        let d = tempfile::tempdir().unwrap();
        let ck = d.path().join("checkpoint-8");
        copy_dir(&fixture("tiny-neox/step8"), &ck);
        let Look::Whole(a) = look(&ck) else { panic!("{:?}", look(&ck)) };
        assert_eq!(look(&ck), Look::Whole(a));
        // Cut the weights anywhere: not whole.
        let w = ck.join("model.safetensors");
        let bytes = std::fs::read(&w).unwrap();
        for cut in [0, 5, 100, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&w, &bytes[..cut]).unwrap();
            assert!(matches!(look(&ck), Look::Incomplete(_)), "cut at {cut}");
        }
        std::fs::write(&w, &bytes).unwrap();
        assert!(matches!(look(&ck), Look::Whole(_)));
        std::fs::write(ck.join("config.json"), b"{\"model_type\": ").unwrap();
        assert!(matches!(look(&ck), Look::Incomplete(r) if r.contains("config.json")));
        std::fs::remove_file(ck.join("config.json")).unwrap();
        assert!(matches!(look(&ck), Look::Incomplete(_)));
    }

    #[test]
    fn a_sharded_checkpoint_waits_for_every_shard() {
        let d = tempfile::tempdir().unwrap();
        let ck = d.path().join("checkpoint-1");
        std::fs::create_dir_all(&ck).unwrap();
        std::fs::copy(fixture("tiny-neox/step8/config.json"), ck.join("config.json")).unwrap();
        let shard = std::fs::read(fixture("tiny-neox/step8/model.safetensors")).unwrap();
        let index = r#"{"metadata": {}, "weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}}"#;
        std::fs::write(ck.join("model.safetensors.index.json"), index).unwrap();
        std::fs::write(ck.join("model-1.safetensors"), &shard).unwrap();
        assert!(matches!(look(&ck), Look::Incomplete(r) if r.contains("model-2")));
        std::fs::write(ck.join("model-2.safetensors"), &shard[..shard.len() - 10]).unwrap();
        assert!(matches!(look(&ck), Look::Incomplete(r) if r.contains("model-2")));
        std::fs::write(ck.join("model-2.safetensors"), &shard).unwrap();
        assert!(matches!(look(&ck), Look::Whole(_)));
    }

    #[test]
    fn temporary_names_are_never_checkpoints() {
        assert!(is_temporary("tmp-checkpoint-500"));
        assert!(!is_temporary("checkpoint-500"));
        assert!(!is_temporary("step1000"));
    }
}
