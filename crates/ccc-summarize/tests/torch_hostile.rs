//! The hostile `.bin` corpus in `tests/data/bad/torch/`: each file must be refused with a clear error naming the
//! problem, without a panic and without executing anything.
//!
//! This file is also the corpus's generator: [`corpus`] builds every file from opcodes and zip records (see
//! `ccc-torch-testkit`), and `corpus_matches_its_generator` checks the committed bytes against it. To regenerate
//! after changing the generator:
//!
//! ```text
//! CCC_WRITE_BAD_TORCH=1 cargo test --release -p ccc-summarize --test torch_hostile
//! ```

use std::path::{Path, PathBuf};

use ccc_summarize::local::WeightFiles;
use ccc_summarize::{SummarizeError, TensorInfo, TensorSink};
use ccc_torch_testkit::*;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/bad/torch")
}

/// A command a malicious pickle would run; its marker file must never appear.
const CANARY: &str = "ccc-torch-pwned";

/// `<module>.<name>(arg)`: GLOBAL, the argument, TUPLE1, REDUCE — the classic pickle exploit.
fn call_global(proto: u8, module: &str, name: &str, arg: &str) -> Vec<u8> {
    let mut p = Pickler::new(proto);
    p.global(module, name);
    p.str(arg);
    p.op(op::TUPLE1).op(op::REDUCE);
    p.finish()
}

fn in_zip(pickle: &[u8]) -> Vec<u8> {
    torch_zip("m", pickle, &[])
}

fn small_valid() -> (Vec<TensorSpec>, Vec<(&'static str, Vec<u8>)>) {
    let specs = vec![
        TensorSpec::contiguous("w", "0", "FloatStorage", &[4, 3]),
        TensorSpec::contiguous("b", "1", "FloatStorage", &[4]),
    ];
    (specs, vec![("0", f32_bytes(&[0.5; 12])), ("1", f32_bytes(&[1.0; 4]))])
}

/// `(file name, bytes, what the error must say)`.
fn corpus() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    let touch = format!("touch {CANARY}");

    // 1–4. The exploits: a global that runs a command, called with REDUCE.
    out.push(("os_system.bin", in_zip(&call_global(2, "os", "system", &touch)), "refusing to load global `os.system`"));
    let code = format!("open('{CANARY}', 'w')");
    out.push(("builtins_exec.bin", in_zip(&call_global(2, "builtins", "exec", &code)), "`builtins.exec`"));
    out.push(("posix_system.bin", in_zip(&call_global(2, "posix", "system", &touch)), "`posix.system`"));
    // Protocol 4: STACK_GLOBAL inside a FRAME.
    out.push(("subprocess_popen.bin", in_zip(&call_global(4, "subprocess", "Popen", &touch)), "`subprocess.Popen`"));

    // 5–6. Classes outside the whitelist: a user class, and a whole pickled module (`torch.save(model)`).
    let mut p = Pickler::new(2);
    p.global("__main__", "Evil").op(op::EMPTY_TUPLE).op(op::NEWOBJ);
    out.push(("unknown_class.bin", in_zip(&p.finish()), "`__main__.Evil`"));
    let mut p = Pickler::new(2);
    p.global("torch.nn.modules.linear", "Linear").op(op::EMPTY_TUPLE).op(op::REDUCE);
    out.push(("pickled_module.bin", in_zip(&p.finish()), "`torch.nn.modules.linear.Linear`"));

    // 7. REDUCE on values that are not whitelisted callables: a storage class, and a string.
    let mut p = Pickler::new(2);
    p.global("torch", "FloatStorage").op(op::EMPTY_TUPLE).op(op::REDUCE);
    out.push(("reduce_storage_class.bin", in_zip(&p.finish()), "refusing to call"));
    let mut p = Pickler::new(2);
    p.str("os.system").str("ls").op(op::TUPLE1).op(op::REDUCE);
    out.push(("reduce_string.bin", in_zip(&p.finish()), "not a callable"));

    // 8. A zip without data.pkl.
    out.push(("missing_data_pkl.bin", write_zip(&[("m/data/0", &[0u8; 16])]), "no `<dir>/data.pkl`"));

    // 9. A storage whose record is absent.
    let (specs, storages) = small_valid();
    let pickle = state_dict_pickle(2, &specs, &Container::Dict);
    out.push(("missing_record.bin", torch_zip("m", &pickle, &storages[..1]), "record `m/data/1`"));

    // 10. A record shorter than its storage claims (4 floats declared as 400).
    let mut specs2 = specs.clone();
    specs2[1].storage_numel = 400;
    let pickle2 = state_dict_pickle(2, &specs2, &Container::Dict);
    out.push(("short_record.bin", torch_zip("m", &pickle2, &storages), "fewer than its storage"));

    // 11. A view whose offset lies past the end of its storage.
    let mut specs3 = specs.clone();
    specs3[1].offset = 1000;
    let pickle3 = state_dict_pickle(2, &specs3, &Container::Dict);
    out.push(("offset_past_end.bin", torch_zip("m", &pickle3, &storages), "reaches element 1003"));

    // 12. An expanded (stride 0) float view of 10^12 elements over a 4-element storage.
    let mut specs4 = specs.clone();
    specs4[1].size = vec![1_000_000, 1_000_000];
    specs4[1].stride = vec![0, 0];
    let pickle4 = state_dict_pickle(2, &specs4, &Container::Dict);
    out.push(("expanded_view.bin", torch_zip("m", &pickle4, &storages), "repeats elements"));

    // 13. Zip-bomb-like headers: a record claiming 2^60 bytes (zip64 extra field), and a directory claiming
    //     2^40 records.
    let mut bomb = write_zip_with(&[("m/data.pkl", &pickle)], ZipOpts { force_zip64: true, ..Default::default() });
    let z = bomb.windows(4).rposition(|w| w == [1, 0, 24, 0]).expect("zip64 extra field");
    bomb[z + 4..z + 12].copy_from_slice(&(1u64 << 60).to_le_bytes());
    bomb[z + 12..z + 20].copy_from_slice(&(1u64 << 60).to_le_bytes());
    out.push(("bomb_record_size.bin", bomb, "past the data area"));
    let mut bomb = write_zip(&[("m/data.pkl", &pickle)]);
    let z64 = bomb.windows(4).rposition(|w| w == 0x0606_4b50u32.to_le_bytes()).unwrap();
    bomb[z64 + 24..z64 + 40].copy_from_slice(&[&(1u64 << 40).to_le_bytes()[..], &(1u64 << 40).to_le_bytes()].concat());
    out.push(("bomb_entry_count.bin", bomb, "1099511627776 records"));

    // 14. Deep nesting: 10,000 MARKs, and 10,000 nested 1-tuples (no recursion anywhere: a clean error).
    let mut p = Pickler::new(2);
    for _ in 0..10_000 {
        p.op(op::MARK);
    }
    out.push(("deep_marks.bin", in_zip(&p.finish()), "MARKs nested deeper than"));
    let mut p = Pickler::new(2);
    p.op(op::EMPTY_TUPLE);
    for _ in 0..10_000 {
        p.op(op::TUPLE1);
    }
    out.push(("deep_tuples.bin", in_zip(&p.finish()), "not a dict"));

    // 15. A memo reference to nothing.
    let mut p = Pickler::new(2);
    p.op(op::EMPTY_DICT).get(7);
    out.push(("memo_missing.bin", in_zip(&p.finish()), "memo entry 7 was never stored"));

    // 16. Truncation: a valid checkpoint cut at 70 %, and a pickle cut inside an opcode.
    let full = torch_zip("m", &pickle, &storages);
    out.push(("truncated_zip.bin", full[..full.len() * 7 / 10].to_vec(), "no end-of-central-directory"));
    out.push(("truncated_pickle.bin", in_zip(&pickle[..pickle.len() / 2]), "truncated"));

    // 17. A legacy (torch < 1.6) file: PROTO 2, LONG1 of the magic number 0x1950a86a20f9469cfc6c, STOP.
    let legacy = [&[0x80, 2, 0x8a, 10][..], &0x1950a86a20f9469cfc6cu128.to_le_bytes()[..10], b"."].concat();
    out.push(("legacy_format.bin", legacy, "re-save the checkpoint with torch ≥ 1.6"));

    // 18. A deflate-compressed record (the method field says 8).
    let recs: Vec<(&str, &[u8])> = vec![("m/data.pkl", &pickle)];
    out.push(("compressed_record.bin", write_zip_with(&recs, ZipOpts { method: 8, ..Default::default() }), "method 8"));

    // 19. A storage key that tries to name another record.
    let mut specs5 = specs.clone();
    specs5[0].key = "../data.pkl".into();
    let pickle5 = state_dict_pickle(2, &specs5, &Container::Dict);
    out.push(("storage_key_traversal.bin", torch_zip("m", &pickle5, &storages), "is not a record name"));

    out
}

struct All;

impl TensorSink for All {
    fn wants(&self, _info: &TensorInfo) -> bool {
        true
    }

    fn rows(&mut self, _info: &TensorInfo, _first_row: usize, _bytes: &[u8]) -> Result<(), SummarizeError> {
        Ok(())
    }
}

fn load(path: &Path) -> Result<(), SummarizeError> {
    let mut source = WeightFiles::Torch(path.to_path_buf()).open()?;
    source.stream(&mut All, 1 << 16)
}

#[test]
fn corpus_matches_its_generator() {
    let dir = corpus_dir();
    let write = std::env::var_os("CCC_WRITE_BAD_TORCH").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let files = corpus();
    assert!(files.len() >= 12);
    for (name, bytes, _) in &files {
        let path = dir.join(name);
        if write {
            std::fs::write(&path, bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(&committed == bytes, "{name} differs from its generator (regenerate with CCC_WRITE_BAD_TORCH=1)");
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    on_disk.sort();
    let mut generated: Vec<String> = files.iter().map(|(n, _, _)| n.to_string()).collect();
    generated.sort();
    assert_eq!(on_disk, generated, "files in tests/data/bad/torch/ without a generator");
}

#[test]
fn every_hostile_file_is_refused_with_a_clear_error() {
    for (name, _, expect) in corpus() {
        let path = corpus_dir().join(name);
        let err = match load(&path) {
            Ok(()) => panic!("{name}: loaded without error"),
            Err(e) => e,
        };
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(msg.contains(expect), "{name}: error `{msg}` does not say `{expect}`");
        assert!(msg.contains(name), "{name}: error `{msg}` does not name the file");
        assert!(!msg.contains('\n'), "{name}: error is not one line: {msg}");
    }
    // Nothing a pickle asked for was executed.
    assert!(!Path::new(CANARY).exists());
    assert!(!corpus_dir().join(CANARY).exists());
}

#[test]
fn the_valid_base_of_the_corpus_loads() {
    // The hostile files are small edits of this checkpoint: it must load, so each failure is due to its edit.
    let (specs, storages) = small_valid();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.bin");
    std::fs::write(&path, torch_zip("m", &state_dict_pickle(2, &specs, &Container::Dict), &storages)).unwrap();
    load(&path).unwrap();
}
