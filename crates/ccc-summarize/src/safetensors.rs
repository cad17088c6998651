//! The safetensors format: a validating header parser and two weight sources.
//!
//! - [`SafetensorsFile`] reads a local file in place: the sink gets [`StoredRows`] and maps them a chunk at a
//!   time (or reads them block by block into cache-sized buffers); memory stays bounded by the chunks.
//! - [`SafetensorsStream`] reads from any [`std::io::Read`] (a download in progress, a pipe) in data-offset
//!   order: the header first, then each tensor's bytes as they arrive; bytes of unwanted tensors are read and
//!   discarded. Memory is O(`chunk_bytes`).
//!
//! Both validate the whole header before any tensor data is touched ([`SafetensorsHeader::parse`]): checked
//! arithmetic for every size, offsets that must tile the data buffer exactly (no holes, no overlaps), known
//! dtypes, shapes whose byte size fits in `u64`/`usize`. A hostile file gives an error, never a panic.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::SummarizeError;
use crate::read_at::{FileAt, ReadAt, ReadMethod};
use crate::source::{StoredRows, TensorSink, WeightSource};
use crate::tensor::{DType, TensorInfo};

/// Largest JSON header accepted (the format's own limit is 100 MB).
pub(crate) const MAX_HEADER_LEN: u64 = 100 << 20;

/// One tensor of a safetensors header: what it is, and where its bytes are relative to the data buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Name, dtype and shape.
    pub info: TensorInfo,
    /// First byte, relative to the start of the data buffer.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// A validated safetensors header.
///
/// Layout of the format: 8 bytes little-endian `N`, then `N` bytes of JSON (an object mapping tensor names to
/// `{"dtype", "shape", "data_offsets": [begin, end]}`, plus an optional `__metadata__` string map), then the
/// data buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetensorsHeader {
    /// The JSON header length `N`.
    pub header_len: u64,
    /// The tensors, sorted by data offset (the order of their bytes in the file).
    pub tensors: Vec<TensorEntry>,
    /// The `__metadata__` map (empty when absent).
    pub metadata: BTreeMap<String, String>,
    /// Length of the data buffer the offsets describe (the end of the last tensor).
    pub data_len: u64,
}

impl SafetensorsHeader {
    /// Parse and validate the 8-byte length prefix.
    pub fn parse_len(prefix: [u8; 8]) -> Result<u64, String> {
        let n = u64::from_le_bytes(prefix);
        if n > MAX_HEADER_LEN {
            return Err(format!("header length {n} is larger than the {MAX_HEADER_LEN}-byte limit (corrupt file?)"));
        }
        if n < 2 {
            return Err(format!("header length {n} is too small for a JSON object"));
        }
        Ok(n)
    }

    /// Parse and validate the JSON header (`header_len` bytes after the length prefix).
    ///
    /// Checks: UTF-8 JSON object; `__metadata__` (if any) a map of strings; every tensor with a known dtype, a
    /// shape of non-negative integers whose byte size does not overflow, `data_offsets` `[begin, end]` with
    /// `end - begin` equal to that size; and the offsets, sorted, tile `[0, data_len)` exactly.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(json).map_err(|e| format!("header is not UTF-8: {e}"))?;
        if !text.trim_start().starts_with('{') {
            serde_json::from_str::<serde::de::IgnoredAny>(text)
                .map_err(|e| format!("header is not valid JSON: {e}"))?;
            return Err("header is not a JSON object".into());
        }
        // Entry by entry, each checked and dropped as it is read: a tree of the whole header (thousands of tensors
        // in a large model) would cost more than the checks.
        let mut invalid = None;
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = serde::Deserializer::deserialize_map(&mut de, HeaderVisitor { invalid: &mut invalid })
            .and_then(|v| de.end().map(|()| v));
        let (metadata, mut tensors) = match (parsed, invalid) {
            (_, Some(why)) => return Err(why),
            (Err(e), None) => return Err(format!("header is not valid JSON: {e}")),
            (Ok(v), None) => v,
        };
        let mut names: Vec<&str> = tensors.iter().map(|t| t.info.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("tensor `{}` appears twice in the header", w[0]));
        }
        // Ties (empty tensors) in name order, so that the order does not depend on the header's.
        tensors.sort_by(|a, b| (a.start, a.end, &a.info.name).cmp(&(b.start, b.end, &b.info.name)));
        let mut pos = 0u64;
        for t in &tensors {
            if t.start != pos {
                let what = if t.start < pos { "overlaps the previous tensor" } else { "leaves a hole before it" };
                return Err(format!(
                    "tensor `{}` has data_offsets [{}, {}] that {what} (previous tensor ends at {pos})",
                    t.info.name, t.start, t.end
                ));
            }
            pos = t.end;
        }
        Ok(SafetensorsHeader { header_len: json.len() as u64, tensors, metadata, data_len: pos })
    }

    /// Offset in the file of the data buffer.
    pub fn data_start(&self) -> u64 {
        8 + self.header_len
    }

    /// Check that a file of `file_len` bytes holds exactly the header and the data it describes.
    pub fn check_file_len(&self, file_len: u64) -> Result<(), String> {
        let expected = self.data_start().checked_add(self.data_len).ok_or("data length overflows")?;
        if file_len < expected {
            return Err(format!(
                "file is truncated: {file_len} bytes, but the header describes {expected} (tensor data ends at {})",
                self.data_len
            ));
        }
        if file_len > expected {
            return Err(format!(
                "file has {} bytes after the last tensor's data (size {file_len}, expected {expected})",
                file_len - expected
            ));
        }
        Ok(())
    }
}

/// The dtype names of the format, mapped to [`DType`].
pub(crate) fn parse_dtype(s: &str) -> Option<DType> {
    Some(match s {
        "F64" => DType::F64,
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "I64" => DType::I64,
        "I32" => DType::I32,
        "I16" => DType::I16,
        "I8" => DType::I8,
        "U8" => DType::U8,
        "BOOL" => DType::Bool,
        "U64" => DType::Other(8),
        "U32" => DType::Other(4),
        "U16" => DType::Other(2),
        "F8_E4M3" | "F8_E5M2" | "F8_E8M0" => DType::Other(1),
        _ => return None,
    })
}

/// The header's top-level object, read entry by entry. An entry that is valid JSON but not a valid tensor or
/// metadata map stops the parse with its reason in `invalid` (serde's own errors would add a JSON position to it).
struct HeaderVisitor<'a> {
    invalid: &'a mut Option<String>,
}

impl<'de> serde::de::Visitor<'de> for HeaderVisitor<'_> {
    type Value = (BTreeMap<String, String>, Vec<TensorEntry>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of tensors")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut metadata = BTreeMap::new();
        let mut tensors = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let mut fail = |why: String| {
            *self.invalid = Some(why);
            <A::Error as serde::de::Error>::custom("invalid header entry")
        };
        while let Some(name) = map.next_key::<String>()? {
            let v: Value = map.next_value()?;
            if name == "__metadata__" {
                metadata = ccc_core::file::metadata_map(&v).map_err(&mut fail)?;
                continue;
            }
            tensors.push(parse_entry(&name, &v).map_err(&mut fail)?);
        }
        Ok((metadata, tensors))
    }
}

fn parse_entry(name: &str, v: &Value) -> Result<TensorEntry, String> {
    let e = v.as_object().ok_or_else(|| format!("tensor `{name}` is not a JSON object"))?;
    let dtype_s = e.get("dtype").and_then(Value::as_str).ok_or_else(|| format!("tensor `{name}` has no dtype"))?;
    let dtype = parse_dtype(dtype_s).ok_or_else(|| format!("tensor `{name}` has unknown dtype `{dtype_s}`"))?;
    let shape = e
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>())
        .ok_or_else(|| format!("tensor `{name}` has no valid shape (an array of non-negative integers)"))?;
    let offs = e
        .get("data_offsets")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
        .filter(|o| o.len() == 2)
        .ok_or_else(|| format!("tensor `{name}` has no valid data_offsets (two non-negative integers)"))?;
    let (start, end) = (offs[0], offs[1]);
    if start > end {
        return Err(format!("tensor `{name}` has data_offsets [{start}, {end}] that end before they begin"));
    }
    let bytes = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| u64::try_from(b).is_ok() && isize::try_from(b).is_ok())
        .ok_or_else(|| format!("tensor `{name}` has shape {shape:?} whose byte size overflows"))?;
    if bytes as u64 != end - start {
        return Err(format!(
            "tensor `{name}` has shape {shape:?} ({dtype_s}, {bytes} bytes) but data_offsets [{start}, {end}] ({} bytes)",
            end - start
        ));
    }
    Ok(TensorEntry { info: TensorInfo { name: name.to_string(), dtype, shape }, start, end })
}

/// Bytes of one row of a tensor (see [`TensorInfo::row_len`]); sizes were validated when the header was parsed.
fn row_bytes(info: &TensorInfo) -> usize {
    info.row_len().saturating_mul(info.dtype.size())
}

/// Rows per chunk for a tensor: as many whole rows as fit in `chunk_bytes`, at least one.
fn rows_per_chunk(info: &TensorInfo, chunk_bytes: usize) -> usize {
    let rb = row_bytes(info);
    if rb == 0 {
        return info.n_rows().max(1);
    }
    (chunk_bytes / rb).max(1)
}

/// A local safetensors file, read in place.
///
/// Each wanted tensor is handed to the sink as [`StoredRows`] runs of at most `chunk_bytes`, in the sink's
/// order ([`TensorSink::rank`]); the summarizer maps each run and unmaps it when done, or with
/// [`ReadMethod::Pread`] reads it block by block from its worker threads into cache-sized buffers, so memory stays
/// bounded whatever the checkpoint size. A mapped file must not be truncated by another process while it is read
/// (see [`ReadMethod::Map`]); read with `pread`, that gives an I/O error naming the file.
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    file: FileAt,
    header: SafetensorsHeader,
    infos: Vec<TensorInfo>,
}

impl SafetensorsFile {
    /// Open a file and validate its header against its size; its tensors will be mapped (see
    /// [`SafetensorsFile::open_with`]).
    pub fn open(path: &Path) -> Result<Self, SummarizeError> {
        Self::open_with(path, ReadMethod::default())
    }

    /// [`SafetensorsFile::open`], with the tensors read by `method`.
    pub fn open_with(path: &Path, method: ReadMethod) -> Result<Self, SummarizeError> {
        let bad = |reason: String| SummarizeError::BadWeights { path: path.to_path_buf(), reason };
        let io = |source| SummarizeError::Io { path: path.to_path_buf(), source };
        let file = FileAt::new(File::open(path).map_err(io)?).map_err(io)?.with_method(method);
        let file_len = file.len();
        if file_len < 8 {
            return Err(bad(format!("file is {file_len} bytes, too short for a safetensors header")));
        }
        let mut prefix = [0u8; 8];
        file.read_exact_at(&mut prefix, 0).map_err(io)?;
        let header_len = SafetensorsHeader::parse_len(prefix).map_err(bad)?;
        if header_len > file_len - 8 {
            return Err(bad(format!("header length {header_len} is past the end of the {file_len}-byte file")));
        }
        let mut json = vec![0u8; header_len as usize];
        file.read_exact_at(&mut json, 8).map_err(io)?;
        let header = SafetensorsHeader::parse(&json).map_err(bad)?;
        header.check_file_len(file_len).map_err(bad)?;
        let infos = header.tensors.iter().map(|t| t.info.clone()).collect();
        Ok(SafetensorsFile { path: path.to_path_buf(), file, header, infos })
    }
}

impl WeightSource for SafetensorsFile {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.header.data_len
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        let base = self.header.data_start();
        let mut wanted: Vec<_> = self.header.tensors.iter().filter(|t| sink.wants(&t.info)).collect();
        wanted.sort_by_key(|t| sink.rank(&t.info));
        for t in wanted {
            let n_rows = t.info.n_rows();
            let rb = row_bytes(&t.info);
            let per = rows_per_chunk(&t.info, chunk_bytes);
            let mut row = 0;
            while row < n_rows && rb > 0 {
                let n = per.min(n_rows - row);
                let pos = base + t.start + (row * rb) as u64;
                sink.rows_at(&t.info, row, StoredRows::new(&self.file, pos, n * rb, &self.path))?;
                row += n;
            }
            sink.end_tensor(&t.info)?;
        }
        Ok(())
    }
}

/// A safetensors file read from any buffered byte stream (not seekable), in data-offset order.
///
/// `new` reads and validates the header; [`WeightSource::stream`] then reads the data buffer front to back,
/// handing each wanted tensor to the sink straight from the reader's buffer (whole rows; only a row split
/// between two buffers is copied) and skipping unwanted bytes. Memory is the reader's buffer plus one row (plus
/// the header). A stream that ends early gives a "truncated" error naming the tensor. A plain [`Read`] can be
/// given through [`std::io::BufReader`].
///
/// ```
/// use ccc_summarize::{SafetensorsStream, TensorInfo, TensorSink, WeightSource, SummarizeError};
///
/// // A file with one 2×2 f32 tensor, built by hand.
/// let json = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
/// let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
/// bytes.extend_from_slice(json);
/// for v in [1.0f32, 2.0, 3.0, 4.0] { bytes.extend_from_slice(&v.to_le_bytes()); }
///
/// struct Sum(f64);
/// impl TensorSink for Sum {
///     fn wants(&self, _: &TensorInfo) -> bool { true }
///     fn rows(&mut self, _: &TensorInfo, _: usize, b: &[u8]) -> Result<(), SummarizeError> {
///         self.0 += b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).sum::<f64>();
///         Ok(())
///     }
/// }
/// let mut src = SafetensorsStream::new(&bytes[..], "example")?; // `&[u8]` is a `BufRead`
/// assert_eq!(src.tensors()[0].shape, vec![2, 2]);
/// let mut sum = Sum(0.0);
/// src.stream(&mut sum, 8)?;
/// assert_eq!(sum.0, 10.0);
/// # Ok::<(), SummarizeError>(())
/// ```
pub struct SafetensorsStream<R> {
    reader: R,
    label: String,
    header: SafetensorsHeader,
    infos: Vec<TensorInfo>,
    consumed: bool,
}

impl<R: BufRead + Send> SafetensorsStream<R> {
    /// Read and validate the header from `reader`; `label` names the stream in errors (e.g. a URL or a path).
    pub fn new(mut reader: R, label: impl Into<String>) -> Result<Self, SummarizeError> {
        let label = label.into();
        let bad = |reason: String| SummarizeError::BadWeights { path: PathBuf::from(&label), reason };
        let mut prefix = [0u8; 8];
        read_full(&mut reader, &mut prefix).map_err(|e| bad(format!("cannot read the 8-byte header length: {e}")))?;
        let header_len = SafetensorsHeader::parse_len(prefix).map_err(bad)?;
        let mut json = Vec::new();
        (&mut reader).take(header_len).read_to_end(&mut json).map_err(|e| bad(format!("cannot read header: {e}")))?;
        if json.len() as u64 != header_len {
            return Err(bad(format!(
                "header length {header_len} is past the end of the data ({} header bytes present)",
                json.len()
            )));
        }
        let header = SafetensorsHeader::parse(&json).map_err(bad)?;
        let infos = header.tensors.iter().map(|t| t.info.clone()).collect();
        Ok(SafetensorsStream { reader, label, header, infos, consumed: false })
    }

    /// The reader, e.g. to read what follows the data once the tensors are streamed.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<()> {
    r.read_exact(buf)
}

impl<R: BufRead + Send> WeightSource for SafetensorsStream<R> {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.header.data_len
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        let path = PathBuf::from(&self.label);
        if self.consumed {
            return Err(SummarizeError::BadWeights { path, reason: "the stream was already read".into() });
        }
        self.consumed = true;
        let truncated = |name: &str, e: std::io::Error| SummarizeError::BadWeights {
            path: path.clone(),
            reason: if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!("data ends inside tensor `{name}` (truncated?): {e}")
            } else {
                format!("cannot read tensor `{name}`: {e}")
            },
        };
        let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let mut row_buf: Vec<u8> = Vec::new();
        for t in &self.header.tensors {
            let len = t.end - t.start;
            if !sink.wants(&t.info) {
                let mut left = len;
                while left > 0 {
                    let avail = self.reader.fill_buf().map_err(|e| truncated(&t.info.name, e))?;
                    if avail.is_empty() {
                        return Err(truncated(&t.info.name, eof()));
                    }
                    let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.reader.consume(n);
                    left -= n as u64;
                }
                continue;
            }
            let n_rows = t.info.n_rows();
            let rb = row_bytes(&t.info);
            let per = rows_per_chunk(&t.info, chunk_bytes);
            let mut row = 0;
            while row < n_rows && rb > 0 {
                let avail = self.reader.fill_buf().map_err(|e| truncated(&t.info.name, e))?;
                if avail.is_empty() {
                    return Err(truncated(&t.info.name, eof()));
                }
                let k = (avail.len() / rb).min(n_rows - row).min(per);
                if k > 0 {
                    // Whole rows in the reader's buffer: summarized where they are.
                    sink.rows(&t.info, row, &avail[..k * rb])?;
                    self.reader.consume(k * rb);
                    row += k;
                } else {
                    // A row split between two buffers: assembled here.
                    row_buf.resize(rb, 0);
                    self.reader.read_exact(&mut row_buf).map_err(|e| truncated(&t.info.name, e))?;
                    sink.rows(&t.info, row, &row_buf)?;
                    row += 1;
                }
            }
            sink.end_tensor(&t.info)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str, data: &[u8]) -> Vec<u8> {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn rejects_bad_headers() {
        let cases = [
            (r#"[1]"#, "not a JSON object"),
            (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, "data_offsets [0, 4] (4 bytes)"),
            (r#"{"a":{"dtype":"X","shape":[1],"data_offsets":[0,4]}}"#, "unknown dtype"),
            (r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "hole"),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}"#,
                "overlaps",
            ),
            (r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#, "overflows"),
            (r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, "no valid shape"),
            (r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, "end before"),
            (r#"{"__metadata__":{"x":1}}"#, "not a string"),
            (r#"{"__metadata__":[]}"#, "`__metadata__` is not a JSON object"),
            (r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#, "not valid JSON"),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                "appears twice",
            ),
            (r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#, "not valid JSON"),
            (r#"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#, "tensor `a` has no dtype"),
        ];
        for (json, want) in cases {
            let err = SafetensorsHeader::parse(json.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn stream_reports_truncation() {
        let b = file(r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, &[0u8; 10]);
        struct All;
        impl TensorSink for All {
            fn wants(&self, _: &TensorInfo) -> bool {
                true
            }
            fn rows(&mut self, _: &TensorInfo, _: usize, _: &[u8]) -> Result<(), SummarizeError> {
                Ok(())
            }
        }
        let mut s = SafetensorsStream::new(&b[..], "t").unwrap();
        let err = s.stream(&mut All, 8).unwrap_err().to_string();
        assert!(err.contains("data ends inside tensor `a`"), "{err}");
    }

    /// A local file delivers the wanted tensors in the sink's rank order (ties in storage order), each whole.
    #[test]
    fn local_file_follows_the_sinks_rank() {
        let json = r#"{"c":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"skip":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"d":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}}"#;
        let values: Vec<u8> = (1..=6).flat_map(|v| (v as f32).to_le_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, file(json, &values)).unwrap();
        struct Log(Vec<(String, Vec<f32>)>);
        impl TensorSink for Log {
            fn wants(&self, info: &TensorInfo) -> bool {
                info.name != "skip"
            }
            fn rank(&self, info: &TensorInfo) -> u64 {
                match info.name.as_str() {
                    "a" | "d" => 0,
                    _ => 1,
                }
            }
            fn rows(&mut self, info: &TensorInfo, _: usize, b: &[u8]) -> Result<(), SummarizeError> {
                let v = b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                self.0.push((info.name.clone(), v));
                Ok(())
            }
        }
        let mut log = Log(Vec::new());
        SafetensorsFile::open(&path).unwrap().stream(&mut log, 1 << 20).unwrap();
        let want = [("a", vec![2.0, 3.0]), ("d", vec![6.0]), ("c", vec![1.0]), ("b", vec![5.0])];
        let want: Vec<(String, Vec<f32>)> = want.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        assert_eq!(log.0, want);
    }
}
