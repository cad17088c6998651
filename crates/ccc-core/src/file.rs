//! Reading and writing the `ccc/1` safetensors file (docs/tensor.md).
//!
//! Layout written: the 8-byte little-endian header length, the JSON header (padded with spaces, leaving room for
//! the metadata to grow so it can be updated in place), then the data of `lengths` (I64), `steps` (I64),
//! `mags` (F32) and `filled` (U8), contiguous. Any valid safetensors layout is accepted on reading.
//!
//! [`CccFile`] fills a column in place and then flips its `filled` byte, each synced to disk, so a run killed at
//! any point leaves a valid file that loses at most the checkpoint in flight. This module is the format and its
//! primitives (header, read, write, fill and mark, what merging needs); how a writer schedules its writes and
//! syncs, or claims a new file's disk space, is the writer's own policy (the summarizer's is in `ccc-summarize`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::atomic::{write_atomic, write_atomic_file};
use crate::error::{CoreError, Result};
use crate::meta::CccMeta;
use crate::tensor::CccTensor;

/// Largest header accepted (guards against a corrupt length field).
const MAX_HEADER: u64 = 256 << 20;

/// The metadata key of a file's spare checkpoint slots (docs/tensor.md §6.5): the last `spare` entries of the
/// steps axis are room to grow into, not checkpoints. Readers leave them out; the key never reaches [`CccMeta`].
pub const SPARE_KEY: &str = "spare";

/// Spare slots added, at least, when a file grows past its room (then half its checkpoints, so that growing one
/// checkpoint at a time rewrites the file a logarithmic number of times).
const MIN_SPARE: usize = 8;

/// The placeholder step of spare slot `j` of `spare`: the top of the `i64` range, so that steps stay strictly
/// increasing whatever the real steps are, and each slot keeps its value as the slots before it are taken.
fn spare_step(spare: usize, j: usize) -> i64 {
    i64::MAX - (spare - j) as i64 + 1
}

/// Where a tensor's bytes are, relative to the start of the data buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
}

/// Everything of a `ccc/1` file except the values of `mags`.
#[derive(Debug, Clone, PartialEq)]
pub struct CccHeader {
    /// Typed metadata.
    pub meta: CccMeta,
    /// Number of coordinates.
    pub n_coord: usize,
    /// Steps.
    pub steps: Vec<i64>,
    /// Component row lengths.
    pub lengths: Vec<i64>,
    /// Filled flags.
    pub filled: Vec<bool>,
    /// Spare checkpoint slots after the last step (room to grow in place; not in `steps`).
    spare: usize,
    header_len: u64,
    mags: Span,
    steps_span: Span,
    filled_span: Span,
}

impl CccHeader {
    /// `[n_coord, n_ckpt, n_comp]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.n_coord, self.steps.len(), self.meta.components.len()]
    }
    fn data_start(&self) -> u64 {
        8 + self.header_len
    }

    /// Where in the file the values (`mags`) are.
    pub fn values_range(&self) -> Range<u64> {
        self.data_start() + self.mags.start..self.data_start() + self.mags.end
    }

    /// Where in the file coordinate `c`'s values of checkpoint `t` start (`n_comp` little-endian f32 follow).
    pub fn row_pos(&self, c: usize, t: usize) -> u64 {
        let [_, _, k_n] = self.shape();
        self.data_start() + self.mags.start + (((c * self.slots() + t) * k_n) as u64) * 4
    }

    /// Spare checkpoint slots: checkpoints the file can gain in place.
    pub fn spare(&self) -> usize {
        self.spare
    }

    /// Checkpoint slots on disk: the steps and the spare slots.
    fn slots(&self) -> usize {
        self.steps.len() + self.spare
    }
}

fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

struct RawEntry {
    dtype: String,
    shape: Vec<u64>,
    span: Span,
}

fn parse_header(
    path: &Path,
    bytes: &[u8],
    data_len: u64,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, RawEntry>)> {
    let bad = |r: String| CoreError::bad(path, r);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("header is not UTF-8".into()))?;
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| bad("header is not a JSON object".into()))?;
    let mut meta = BTreeMap::new();
    let mut entries = BTreeMap::new();
    for (name, v) in obj {
        if name == "__metadata__" {
            meta = metadata_map(v).map_err(bad)?;
            continue;
        }
        let e = v.as_object().ok_or_else(|| bad(format!("tensor `{name}` is not an object")))?;
        let dtype =
            e.get("dtype").and_then(Value::as_str).ok_or_else(|| bad(format!("tensor `{name}` has no dtype")))?;
        let shape = e
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| bad(format!("tensor `{name}` has no valid shape")))?;
        let offs = e
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
            .filter(|o| o.len() == 2)
            .ok_or_else(|| bad(format!("tensor `{name}` has no valid data_offsets")))?;
        let span = Span { start: offs[0], end: offs[1] };
        if span.start > span.end || span.end > data_len {
            return Err(bad(format!(
                "tensor `{name}` has data_offsets [{}, {}] outside the {data_len}-byte data buffer",
                span.start, span.end
            )));
        }
        let size = dtype_size(dtype).ok_or_else(|| bad(format!("tensor `{name}` has unknown dtype `{dtype}`")))?;
        let bytes = shape.iter().try_fold(size, |acc, &d| acc.checked_mul(d));
        if bytes != Some(span.end - span.start) {
            return Err(bad(format!(
                "tensor `{name}` has shape {shape:?} ({dtype}) that does not match its data_offsets"
            )));
        }
        entries.insert(name.clone(), RawEntry { dtype: dtype.to_string(), shape, span });
    }
    Ok((meta, entries))
}

fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], pos: u64) -> Result<()> {
    file.read_exact_at(buf, pos).map_err(|e| CoreError::io(path, e))
}

fn read_i64s(file: &File, path: &Path, pos: u64, n: usize) -> Result<Vec<i64>> {
    let mut buf = vec![0u8; n * 8];
    read_exact_at(file, path, &mut buf, pos)?;
    Ok(buf.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
}

/// Read everything but `mags` from an open file.
pub(crate) fn read_header_from(file: &File, path: &Path) -> Result<CccHeader> {
    let file_len = file.metadata().map_err(|e| CoreError::io(path, e))?.len();
    if file_len < 8 {
        return Err(CoreError::bad(path, format!("file is {file_len} bytes, too short for a safetensors header")));
    }
    let mut n = [0u8; 8];
    read_exact_at(file, path, &mut n, 0)?;
    let header_len = u64::from_le_bytes(n);
    if header_len > MAX_HEADER || header_len > file_len - 8 {
        return Err(CoreError::bad(path, format!("header length {header_len} exceeds the file size {file_len}")));
    }
    let mut hb = vec![0u8; header_len as usize];
    read_exact_at(file, path, &mut hb, 8)?;
    let data_len = file_len - 8 - header_len;
    let (mut map, entries) = parse_header(path, &hb, data_len)?;
    let spare = match map.remove(SPARE_KEY) {
        None => 0,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .map_err(|_| CoreError::bad(path, format!("metadata `{SPARE_KEY}` is not a non-negative integer")))?,
    };
    let meta = CccMeta::from_map(&map).map_err(|r| CoreError::bad(path, r))?;
    let get = |name: &str, dtype: &str, ndim: usize| -> Result<&RawEntry> {
        let e = entries.get(name).ok_or_else(|| CoreError::bad(path, format!("tensor `{name}` is missing")))?;
        if e.dtype != dtype || e.shape.len() != ndim {
            return Err(CoreError::bad(
                path,
                format!("tensor `{name}` is {} with {} dims, expected {dtype} with {ndim}", e.dtype, e.shape.len()),
            ));
        }
        Ok(e)
    };
    let mags = get("mags", "F32", 3)?;
    let steps_e = get("steps", "I64", 1)?;
    let lengths_e = get("lengths", "I64", 1)?;
    let filled_e = get("filled", "U8", 1)?;
    let [c, t, k] = [mags.shape[0], mags.shape[1], mags.shape[2]].map(|d| d as usize);
    let n_comp = meta.components.len();
    if k != n_comp
        || steps_e.shape[0] as usize != t
        || lengths_e.shape[0] as usize != k
        || filled_e.shape[0] as usize != t
    {
        return Err(CoreError::bad(
            path,
            format!(
                "inconsistent shapes: mags {:?}, steps {:?}, lengths {:?}, filled {:?}, {n_comp} component names",
                mags.shape, steps_e.shape, lengths_e.shape, filled_e.shape
            ),
        ));
    }
    let data_start = 8 + header_len;
    if spare > t {
        return Err(CoreError::bad(
            path,
            format!("metadata `{SPARE_KEY}` is {spare}, but there are {t} checkpoint slots"),
        ));
    }
    let mut steps = read_i64s(file, path, data_start + steps_e.span.start, t)?;
    let lengths = read_i64s(file, path, data_start + lengths_e.span.start, k)?;
    let mut fb = vec![0u8; t];
    read_exact_at(file, path, &mut fb, data_start + filled_e.span.start)?;
    if let Some(w) = steps.windows(2).find(|w| w[0] >= w[1]) {
        return Err(CoreError::bad(path, format!("steps are not strictly increasing ({} then {})", w[0], w[1])));
    }
    steps.truncate(t - spare);
    fb.truncate(t - spare);
    Ok(CccHeader {
        meta,
        n_coord: c,
        steps,
        lengths,
        filled: fb.iter().map(|&b| b != 0).collect(),
        spare,
        header_len,
        mags: mags.span,
        steps_span: steps_e.span,
        filled_span: filled_e.span,
    })
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| CoreError::io(path, e))
}

/// Read a file's header, steps, lengths and filled flags without reading the values.
pub fn read_header(path: &Path) -> Result<CccHeader> {
    read_header_from(&open(path)?, path)
}

/// Read a whole `ccc/1` file.
pub fn read(path: &Path) -> Result<CccTensor> {
    let file = open(path)?;
    let h = read_header_from(&file, path)?;
    let n = (h.mags.end - h.mags.start) as usize / 4;
    let start = h.data_start() + h.mags.start;
    let mut mags = if cfg!(target_endian = "little") {
        // One read straight into the values' memory (a fresh zeroed allocation costs nothing until touched).
        let mut mags = vec![0f32; n];
        read_exact_at(&file, path, bytemuck::cast_slice_mut(&mut mags), start)?;
        mags
    } else {
        read_values_converting(&file, path, start, n)?
    };
    if h.spare > 0 {
        // Leave the spare slots out: each coordinate's checkpoints move down to close the gaps.
        let (real, k) = (h.steps.len() * h.meta.components.len(), h.meta.components.len());
        let slots = h.slots() * k;
        for c in 0..h.n_coord {
            mags.copy_within(c * slots..c * slots + real, c * real);
        }
        mags.truncate(h.n_coord * real);
    }
    let t = CccTensor { meta: h.meta, n_coord: h.n_coord, steps: h.steps, lengths: h.lengths, filled: h.filled, mags };
    t.validate().map_err(|r| CoreError::bad(path, r))?;
    Ok(t)
}

/// `n` little-endian `f32` at `start`, converted to the machine's order a chunk at a time.
fn read_values_converting(file: &File, path: &Path, start: u64, n: usize) -> Result<Vec<f32>> {
    let mut mags = Vec::with_capacity(n);
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    r.seek(SeekFrom::Start(start)).map_err(|e| CoreError::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = n * 4;
    while left > 0 {
        let m = left.min(buf.len());
        r.read_exact(&mut buf[..m]).map_err(|e| CoreError::io(path, e))?;
        mags.extend(buf[..m].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        left -= m;
    }
    Ok(mags)
}

/// Parse a `ccc/1` file from bytes in memory (e.g. data embedded in a binary).
pub fn from_bytes(bytes: &[u8]) -> Result<CccTensor> {
    // Through a temporary file keeps one validated code path; embedded data is small.
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| CoreError::io("<temp>", e))?;
    tmp.write_all(bytes).map_err(|e| CoreError::io(tmp.path(), e))?;
    read(tmp.path())
}

/// Header bytes (JSON, space-padded to a multiple of 8 plus `reserve` bytes) and the data spans.
pub(crate) fn header_bytes(t: &CccTensor, reserve: usize) -> Vec<u8> {
    header_bytes_for(&t.meta, t.n_coord, t.n_ckpt(), 0, reserve)
}

/// [`header_bytes`] of a tensor with this metadata, `c` coordinates and `n_t` checkpoint slots, `spare` of them
/// spare.
fn header_bytes_for(meta: &CccMeta, c: usize, n_t: usize, spare: usize, reserve: usize) -> Vec<u8> {
    let k = meta.components.len();
    let spans = [
        ("lengths", "I64", vec![k], k * 8),
        ("steps", "I64", vec![n_t], n_t * 8),
        ("mags", "F32", vec![c, n_t, k], c * n_t * k * 4),
        ("filled", "U8", vec![n_t], n_t),
    ];
    let mut obj = Map::new();
    let mut map = meta.to_map();
    if spare > 0 {
        map.insert(SPARE_KEY.into(), spare.to_string());
    }
    let meta: Map<String, Value> = map.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    obj.insert("__metadata__".into(), Value::Object(meta));
    let mut off = 0usize;
    for (name, dtype, shape, len) in spans {
        let mut e = Map::new();
        e.insert("dtype".into(), Value::String(dtype.into()));
        e.insert("shape".into(), Value::Array(shape.into_iter().map(Value::from).collect()));
        e.insert("data_offsets".into(), Value::Array(vec![Value::from(off), Value::from(off + len)]));
        obj.insert(name.into(), Value::Object(e));
        off += len;
    }
    let mut h = serde_json::to_vec(&Value::Object(obj)).unwrap_or_default();
    let padded = (h.len() + reserve).div_ceil(8) * 8;
    h.resize(padded, b' ');
    h
}

fn write_body(w: &mut dyn Write, t: &CccTensor, header: &[u8]) -> std::io::Result<()> {
    w.write_all(&(header.len() as u64).to_le_bytes())?;
    w.write_all(header)?;
    for v in t.lengths.iter().chain(&t.steps) {
        w.write_all(&v.to_le_bytes())?;
    }
    let mut buf = Vec::new();
    for chunk in t.mags.chunks(1 << 14) {
        w.write_all(le_bytes(chunk, &mut buf))?;
    }
    let filled: Vec<u8> = t.filled.iter().map(|&f| f as u8).collect();
    w.write_all(&filled)
}

/// [`write_body`] at offsets, leaving all-zero stretches of `mags` as holes (the same bytes when read).
fn write_body_sparse(f: &File, t: &CccTensor, header: &[u8]) -> std::io::Result<()> {
    write_head(f, t, header)?;
    let mags_start = (8 + header.len() + 8 * (t.lengths.len() + t.steps.len())) as u64;
    const RUN: usize = 1 << 14;
    let mut buf = Vec::new();
    for (i, chunk) in t.mags.chunks(RUN).enumerate() {
        if chunk.iter().all(|v| v.to_bits() == 0) {
            continue;
        }
        f.write_all_at(le_bytes(chunk, &mut buf), mags_start + (i * RUN * 4) as u64)?;
    }
    Ok(())
}

/// The parts of a file before and after `mags` — header, `lengths`, `steps`, `filled` — with `mags` left a hole
/// (zeros).
pub(crate) fn write_head(f: &File, t: &CccTensor, header: &[u8]) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(8 + header.len() + 8 * (t.lengths.len() + t.steps.len()));
    head.extend_from_slice(&(header.len() as u64).to_le_bytes());
    head.extend_from_slice(header);
    for v in t.lengths.iter().chain(&t.steps) {
        head.extend_from_slice(&v.to_le_bytes());
    }
    f.write_all_at(&head, 0)?;
    let [c, n_t, k] = t.shape();
    let filled_start = head.len() as u64 + (c as u64) * (n_t as u64) * (k as u64) * 4;
    let filled: Vec<u8> = t.filled.iter().map(|&f| f as u8).collect();
    f.set_len(filled_start + filled.len() as u64)?;
    f.write_all_at(&filled, filled_start)
}

/// A safetensors header's `__metadata__` value as a map of strings; the reason, if it is anything else.
pub fn metadata_map(v: &Value) -> std::result::Result<BTreeMap<String, String>, String> {
    let m = v.as_object().ok_or("`__metadata__` is not a JSON object")?;
    m.iter()
        .map(|(k, v)| {
            v.as_str().map(|s| (k.clone(), s.to_string())).ok_or_else(|| format!("metadata `{k}` is not a string"))
        })
        .collect()
}

/// Write checkpoint `t`'s column (`n_coord × n_comp`, row-major) into `mags` of a file laid out as `header`
/// says, without syncing. Coordinate `c`'s values are contiguous, and the whole column is when there is one
/// checkpoint.
pub(crate) fn write_values(f: &File, header: &CccHeader, t: usize, col: &[f32]) -> std::io::Result<()> {
    write_rows(f, header, t, 0, col, &mut Vec::new())
}

/// Write `rows` (whole rows, row-major) as checkpoint `t`'s values of coordinates `c0..`: with one write when the
/// file holds one checkpoint (its rows are then contiguous), else one per row.
fn write_rows(
    f: &File,
    header: &CccHeader,
    t: usize,
    c0: usize,
    rows: &[f32],
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let k_n = header.shape()[2];
    if header.slots() == 1 {
        return f.write_all_at(le_bytes(rows, buf), header.row_pos(c0, t));
    }
    for (c, row) in (c0..).zip(rows.chunks_exact(k_n.max(1))) {
        f.write_all_at(le_bytes(row, buf), header.row_pos(c, t))?;
    }
    Ok(())
}

/// `vals` as little-endian bytes: the values' own memory on a little-endian machine (no copy of a column of
/// tens of MB at the end of a checkpoint), else converted into `buf`.
fn le_bytes<'a>(vals: &'a [f32], buf: &'a mut Vec<u8>) -> &'a [u8] {
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice(vals)
    } else {
        buf.clear();
        buf.extend(vals.iter().flat_map(|v| v.to_le_bytes()));
        buf
    }
}

/// [`CccTensor::validate`] for a tensor description whose `mags` is not in memory (left empty).
pub(crate) fn check_shape(t: &CccTensor) -> Result<()> {
    let bytes =
        t.n_coord.checked_mul(t.n_ckpt()).and_then(|x| x.checked_mul(t.n_comp())).and_then(|x| x.checked_mul(4));
    if bytes.is_none() {
        return Err(CoreError::Shape(format!("{} × {} × {} values overflow", t.n_coord, t.n_ckpt(), t.n_comp())));
    }
    t.validate_layout().map_err(CoreError::Shape)
}

/// Room left in the header for the metadata to grow in place (e.g. `duplicates` found while filling).
pub(crate) const HEADER_RESERVE: usize = 4096;

/// Write a whole tensor atomically (temporary file + rename), in the same layout as [`CccFile::create`], so that
/// a file merged from shards is byte-identical to one written by a single run.
pub fn write(path: &Path, t: &CccTensor) -> Result<()> {
    t.validate().map_err(CoreError::Shape)?;
    let header = header_bytes(t, HEADER_RESERVE);
    write_atomic(path, |w| write_body(w, t, &header))
}

/// An open `ccc/1` file whose columns are filled in place (for resumable summarizing).
#[derive(Debug)]
pub struct CccFile {
    file: File,
    path: PathBuf,
    header: CccHeader,
}

impl CccFile {
    /// Create `path` (atomically) holding `t`, with room in the header for metadata to grow, and open it.
    ///
    /// Runs of zeros in `mags` (all of it, for a tensor from [`CccTensor::empty`]) are left as holes of the file,
    /// which read as zeros: creating the output of a large run writes and syncs only what is not zero.
    pub fn create(path: &Path, t: &CccTensor) -> Result<Self> {
        t.validate().map_err(CoreError::Shape)?;
        let header = header_bytes(t, HEADER_RESERVE);
        write_atomic_file(path, |f| write_body_sparse(f, t, &header))?;
        Self::open(path)
    }

    /// Create `path` (atomically) holding a tensor with no values yet — every checkpoint unfilled, `mags` zeros —
    /// and open it. Memory is the header's, whatever the tensor's size.
    ///
    /// The values are left a hole of the file (which reads as zeros): whether to claim their disk space, and how,
    /// is the writer's choice ([`CccHeader::values_range`] says where they are; the file's descriptor is
    /// [`AsFd::as_fd`]).
    pub fn create_empty(
        path: &Path,
        meta: CccMeta,
        n_coord: usize,
        steps: Vec<i64>,
        lengths: Vec<i64>,
    ) -> Result<Self> {
        let t_n = steps.len();
        let shape = CccTensor { meta, n_coord, steps, lengths, filled: vec![false; t_n], mags: Vec::new() };
        check_shape(&shape)?;
        let header = header_bytes(&shape, HEADER_RESERVE);
        write_atomic_file(path, |f| write_head(f, &shape, &header))?;
        Self::open(path)
    }

    /// Add checkpoints `steps` (those not in the file yet), unfilled; filled columns keep their values.
    ///
    /// Steps after the last one **grow the file**: in place, into its spare slots, when it has enough (each new
    /// step's value is written and synced, then the header's spare count is lowered and synced, so a crash leaves
    /// either the old file or the new one); else by an atomic rewrite that also leaves spare slots for the next
    /// ones (half as many as the checkpoints, at least 8). Any other new step rewrites the file atomically with the
    /// union of steps. A rewrite copies the columns one at a time, so memory is one column whatever the file's
    /// size.
    pub fn add_steps(&mut self, steps: &[i64]) -> Result<()> {
        let mut new: Vec<i64> = steps.iter().copied().filter(|s| self.header.steps.binary_search(s).is_err()).collect();
        new.sort_unstable();
        new.dedup();
        let (Some(&first), Some(&last)) = (new.first(), new.last()) else { return Ok(()) };
        let mut all: Vec<i64> = self.header.steps.iter().chain(&new).copied().collect();
        all.sort_unstable();
        let appends = self.header.steps.last().is_none_or(|&l| first > l);
        let spare = (all.len() / 2).max(MIN_SPARE);
        // Placeholders stay above every step (a step near `i64::MAX` is not grown into spare slots).
        if appends && last <= i64::MAX - spare.max(self.header.spare) as i64 {
            if new.len() <= self.header.spare && self.grow_in_place(&new)? {
                return Ok(());
            }
            return self.rewrite_with(self.header.meta.clone(), all, spare, HEADER_RESERVE);
        }
        self.rewrite(self.header.meta.clone(), all, HEADER_RESERVE)
    }

    /// Take the first `new.len()` spare slots for steps `new` (increasing, after the last step); `false` when
    /// the header has no room for the change (nothing was written then).
    fn grow_in_place(&mut self, new: &[i64]) -> Result<bool> {
        let h = &self.header;
        let spare = h.spare - new.len();
        let mut header = header_bytes_for(&h.meta, h.n_coord, h.slots(), spare, 0);
        if header.len() > h.header_len as usize || h.mags.start != (h.lengths.len() + h.slots()) as u64 * 8 {
            return Ok(false);
        }
        header.resize(h.header_len as usize, b' ');
        let at = h.data_start() + h.steps_span.start + 8 * h.steps.len() as u64;
        let values: Vec<u8> = new.iter().flat_map(|s| s.to_le_bytes()).collect();
        let io = |e| CoreError::io(&self.path, e);
        // The slots' values first: until the header says otherwise they are spare, whatever they hold.
        self.file.write_all_at(&values, at).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.file.write_all_at(&header, 8).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.header = read_header_from(&self.file, &self.path)?;
        Ok(true)
    }

    /// Rewrite the file atomically with `meta` and `steps` (a superset of the file's), copying the filled
    /// columns one at a time.
    fn rewrite(&mut self, meta: CccMeta, steps: Vec<i64>, reserve: usize) -> Result<()> {
        self.rewrite_with(meta, steps, 0, reserve)
    }

    /// [`CccFile::rewrite`] with `spare` spare slots after the steps.
    fn rewrite_with(&mut self, meta: CccMeta, mut steps: Vec<i64>, spare: usize, reserve: usize) -> Result<()> {
        let old = &self.header;
        steps.extend((0..spare).map(|j| spare_step(spare, j)));
        let filled: Vec<bool> = steps.iter().map(|s| old.steps.binary_search(s).is_ok_and(|i| old.filled[i])).collect();
        let shape =
            CccTensor { meta, n_coord: old.n_coord, steps, lengths: old.lengths.clone(), filled, mags: Vec::new() };
        check_shape(&shape)?;
        let header = header_bytes_for(&shape.meta, shape.n_coord, shape.n_ckpt(), spare, reserve);
        let path = self.path.clone();
        write_atomic_file(&path, |f| {
            write_head(f, &shape, &header)?;
            let new = read_header_from(f, &path).map_err(std::io::Error::other)?;
            for (ti, &step) in self.header.steps.iter().enumerate() {
                if !self.header.filled[ti] {
                    continue;
                }
                let to = new.steps.binary_search(&step).map_err(|_| std::io::Error::other("lost a step"))?;
                let col = self.read_column(ti).map_err(std::io::Error::other)?;
                write_values(f, &new, to, &col)?;
            }
            Ok(())
        })?;
        *self = Self::open(&path)?;
        Ok(())
    }

    /// Open an existing file for filling.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| CoreError::io(path, e))?;
        let header = read_header_from(&file, path)?;
        Ok(CccFile { file, path: path.to_path_buf(), header })
    }

    /// The header as last read or written.
    pub fn header(&self) -> &CccHeader {
        &self.header
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write checkpoint `t`'s column (`n_coord × n_comp`, row-major) and then mark it filled; both reach the disk
    /// before this returns.
    pub fn write_column(&mut self, t: usize, col: &[f32]) -> Result<()> {
        self.write_column_data(t, col)?;
        self.mark_filled(&[t])
    }

    /// The first half of [`CccFile::write_column`]: write the column's values and sync them, without marking it
    /// filled (a crash now leaves the column unfilled, to be computed again). Several files can be written this
    /// way at once, and then marked.
    pub fn write_column_data(&mut self, t: usize, col: &[f32]) -> Result<()> {
        self.write_column_values(t, col)?;
        self.sync_values()
    }

    /// [`CccFile::write_column_data`] without the sync: the values are in the page cache only, until
    /// [`CccFile::sync_values`]. (Work that does not touch the file can then overlap with the sync.)
    pub fn write_column_values(&mut self, t: usize, col: &[f32]) -> Result<()> {
        self.check_column(t, col.len())?;
        write_values(&self.file, &self.header, t, col).map_err(|e| CoreError::io(&self.path, e))
    }

    /// Write whole rows of checkpoint `t` — the values of coordinates `first_coord..`, `n_comp` each, row-major —
    /// without syncing (as [`CccFile::write_column_values`] does for a whole column). Takes `&self`, so that
    /// several threads can write different rows of one file at once.
    pub fn write_rows(&self, t: usize, first_coord: usize, rows: &[f32]) -> Result<()> {
        let [c_n, t_n, k_n] = self.header.shape();
        let n_rows = rows.len().checked_div(k_n).unwrap_or(0);
        if t >= t_n || n_rows * k_n != rows.len() || first_coord.saturating_add(n_rows) > c_n {
            return Err(CoreError::Shape(format!(
                "{} values from coordinate {first_coord} for checkpoint {t} of {t_n}: not whole rows of {k_n} \
                 within {c_n} coordinates",
                rows.len()
            )));
        }
        write_rows(&self.file, &self.header, t, first_coord, rows, &mut Vec::new())
            .map_err(|e| CoreError::io(&self.path, e))
    }

    /// Sync the values written so far to the disk: before [`CccFile::mark_filled`].
    pub fn sync_values(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| CoreError::io(&self.path, e))
    }

    fn check_column(&self, t: usize, len: usize) -> Result<()> {
        let [c_n, t_n, k_n] = self.header.shape();
        if t >= t_n || len != c_n * k_n {
            return Err(CoreError::Shape(format!(
                "column of {len} values for checkpoint {t} of {t_n}, expected {c_n} × {k_n}"
            )));
        }
        Ok(())
    }

    /// The second half of [`CccFile::write_column`]: mark checkpoints `ts` filled, with one sync for them all.
    /// Call only after their values were written and synced ([`CccFile::write_column_data`], or the values and
    /// then [`CccFile::sync_values`]).
    pub fn mark_filled(&mut self, ts: &[usize]) -> Result<()> {
        let n = self.header.filled.len();
        if let Some(&t) = ts.iter().find(|&&t| t >= n) {
            return Err(CoreError::Shape(format!("checkpoint {t} out of range {n}")));
        }
        let base = self.header.data_start() + self.header.filled_span.start;
        for &t in ts {
            self.file.write_all_at(&[1], base + t as u64).map_err(|e| CoreError::io(&self.path, e))?;
        }
        self.file.sync_data().map_err(|e| CoreError::io(&self.path, e))?;
        for &t in ts {
            self.header.filled[t] = true;
        }
        Ok(())
    }

    /// Read checkpoint `t`'s column back (`n_coord × n_comp`, row-major).
    pub fn read_column(&self, t: usize) -> Result<Vec<f32>> {
        let [c_n, t_n, k_n] = self.header.shape();
        if t >= t_n {
            return Err(CoreError::Shape(format!("checkpoint {t} out of range {t_n}")));
        }
        let mut out = Vec::with_capacity(c_n * k_n);
        let mut buf = vec![0u8; k_n * 4];
        for c in 0..c_n {
            read_exact_at(&self.file, &self.path, &mut buf, self.header.row_pos(c, t))?;
            out.extend(buf.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        }
        Ok(out)
    }

    /// Replace the metadata: in place when the new header fits the old one's space, else by an atomic rewrite.
    pub fn set_meta(&mut self, meta: CccMeta) -> Result<()> {
        if meta.components != self.header.meta.components {
            return Err(CoreError::Shape("set_meta cannot change the components".into()));
        }
        let old = &self.header;
        let mut h = header_bytes_for(&meta, old.n_coord, old.slots(), old.spare, 0);
        let old_len = old.header_len as usize;
        let same_layout = old.mags.start == (old.lengths.len() + old.slots()) as u64 * 8;
        if h.len() <= old_len && same_layout {
            h.resize(old_len, b' ');
            self.file.write_all_at(&h, 8).map_err(|e| CoreError::io(&self.path, e))?;
            self.file.sync_data().map_err(|e| CoreError::io(&self.path, e))?;
        } else {
            let (steps, spare) = (old.steps.clone(), old.spare);
            return self.rewrite_with(meta, steps, spare, HEADER_RESERVE);
        }
        self.header = read_header_from(&self.file, &self.path)?;
        Ok(())
    }

    /// Read the whole tensor.
    pub fn to_tensor(&self) -> Result<CccTensor> {
        read(&self.path)
    }
}

/// The open file, for a writer's own calls on it (e.g. claiming disk space, starting writeback early).
impl AsFd for CccFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}
