//! [`TorchSource`]: a PyTorch zip checkpoint as a [`WeightSource`], reading tensor bytes in place.

use std::path::{Path, PathBuf};

use crate::error::SummarizeError;
use crate::read_at::ReadMethod;
use crate::source::{StoredRows, TensorSink, WeightSource};
use crate::tensor::{DType, TensorInfo};

use super::pickle::{load_state_dict, PickleLimits, StateDict};
use super::zip::{FileAt, ReadAt, ZipIndex};
use crate::error::TorchError;

/// Default size of the window used to gather a strided view (see [`TorchSource::with_gather_window`]).
pub const DEFAULT_GATHER_WINDOW: usize = 16 << 20;

/// How one tensor lies in the file.
#[derive(Debug, Clone)]
struct Plan {
    /// File offset of element 0 of the storage.
    base: u64,
    /// Offset of the view in the storage, in elements.
    offset: u64,
    size: Vec<usize>,
    stride: Vec<usize>,
    /// Row-major contiguous: the tensor is one run of bytes.
    contiguous: bool,
}

/// A PyTorch (torch ≥ 1.6) zip checkpoint, opened and validated: the pickle has been run by the restricted
/// unpickler, every storage record located and every view checked against its record. Streaming reads the
/// tensors in place (mapped, or with positioned reads; see [`ReadMethod`]), in file order.
#[derive(Debug)]
pub struct TorchSource<R: ReadAt = FileAt> {
    reader: R,
    path: PathBuf,
    infos: Vec<TensorInfo>,
    plans: Vec<Plan>,
    total_bytes: u64,
    big_endian: bool,
    gather_window: usize,
}

impl TorchSource<FileAt> {
    /// Open a `.bin` / `.pt` / `.pth` file, its tensors to be read by `method`.
    pub fn open_with(path: &Path, method: ReadMethod) -> Result<Self, SummarizeError> {
        let io = |source| SummarizeError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let reader = FileAt::new(file).map_err(io)?.with_method(method);
        TorchSource::from_reader(reader, path.to_path_buf())
            .map_err(|source| SummarizeError::Torch { path: path.to_path_buf(), source })
    }
}

impl<R: ReadAt> TorchSource<R> {
    /// Open a checkpoint held by any random-access reader; `path` is used in messages only.
    pub fn from_reader(reader: R, path: PathBuf) -> Result<Self, TorchError> {
        Self::from_reader_with(reader, path, &PickleLimits::default())
    }

    /// As [`TorchSource::from_reader`], with explicit pickle limits.
    pub fn from_reader_with(reader: R, path: PathBuf, limits: &PickleLimits) -> Result<Self, TorchError> {
        check_magic(&reader)?;
        let zip = ZipIndex::parse(&reader)?;
        let pkl = find_data_pkl(&zip)?;
        let top = pkl.strip_suffix("/data.pkl").unwrap_or_default().to_owned();
        let big_endian = read_byteorder(&reader, &zip, &top)?;

        let entry = zip.get(&pkl).ok_or_else(|| TorchError::MissingRecord(pkl.clone()))?;
        let (at, len) = zip.data_range(&reader, entry)?;
        if len > limits.max_bytes as u64 {
            return Err(TorchError::Pickle(crate::error::PickleError::Malformed {
                at: 0,
                reason: format!("pickle of {len} bytes exceeds the limit of {}", limits.max_bytes),
            }));
        }
        let mut pickle = vec![0u8; len as usize];
        reader.read_exact_at(&mut pickle, at)?;
        let sd = load_state_dict(&pickle, limits)?;
        drop(pickle);

        let (infos, plans, total_bytes) = plan(&reader, &zip, &top, sd)?;
        Ok(TorchSource { reader, path, infos, plans, total_bytes, big_endian, gather_window: DEFAULT_GATHER_WINDOW })
    }

    /// Set the size of the storage window read at a time to gather a non-contiguous view (a transposed or
    /// sliced tensor), [`DEFAULT_GATHER_WINDOW`] by default. Memory use while streaming is at most this plus the
    /// chunk size; a smaller window means more passes over a transposed tensor's storage. (A knob for the tests
    /// and the fuzz targets, which use tiny windows.)
    #[cfg(any(test, feature = "internals"))]
    pub fn with_gather_window(mut self, bytes: usize) -> Self {
        self.gather_window = bytes.max(1);
        self
    }

    fn stream_tensor(
        &self,
        plan: &Plan,
        info: &TensorInfo,
        sink: &mut dyn TensorSink,
        chunk_bytes: usize,
        buf: &mut Vec<u8>,
        window: &mut Vec<u8>,
    ) -> Result<(), SummarizeError> {
        let e = info.dtype.size();
        let row_len = info.row_len();
        let n_rows = info.n_rows();
        let row_bytes = row_len * e;
        if row_bytes == 0 || n_rows == 0 {
            return sink.end_tensor(info);
        }
        let mut rows_per = (chunk_bytes / row_bytes).max(1);
        if !plan.contiguous && plan.size.len() > 2 {
            // A strided view is gathered along its first dimension: chunks of whole first-dimension slices
            // (a 3-D `[E, a, b]` is `E·a` rows of `b`).
            let per_slice = (n_rows / plan.size[0].max(1)).max(1);
            rows_per = rows_per.div_ceil(per_slice) * per_slice;
        }
        let mut r0 = 0;
        while r0 < n_rows {
            let k = rows_per.min(n_rows - r0);
            if plan.contiguous && !(self.big_endian && e > 1) {
                // The rows lie as they are in the file: the sink reads them itself, in parallel blocks.
                let at = plan.base + (plan.offset + (r0 * row_len) as u64) * e as u64;
                sink.rows_at(info, r0, StoredRows::new(&self.reader, at, k * row_bytes, &self.path))?;
                r0 += k;
                continue;
            }
            buf.clear();
            buf.resize(k * row_bytes, 0);
            if plan.contiguous {
                let at = plan.base + (plan.offset + (r0 * row_len) as u64) * e as u64;
                self.reader.read_exact_at(buf, at).map_err(|source| self.io_err(source))?;
            } else {
                self.gather(plan, e, r0, k, buf, window)?;
            }
            if self.big_endian && e > 1 {
                swap_elements(buf, info.dtype);
            }
            sink.rows(info, r0, buf)?;
            r0 += k;
        }
        sink.end_tensor(info)
    }

    /// Copy rows `[r0, r0 + k)` of a strided view into `out`, reading the storage span they touch in windows of
    /// at most `gather_window` bytes (so memory stays bounded even for a transposed tensor, whose
    /// rows are spread over the whole storage).
    fn gather(
        &self,
        plan: &Plan,
        e: usize,
        r0: usize,
        k: usize,
        out: &mut [u8],
        window: &mut Vec<u8>,
    ) -> Result<(), SummarizeError> {
        // The dims of this chunk: rank ≥ 2 → the first dim narrowed to the chunk's rows (whole first-dim slices
        // of `per_slice` rows each, see `stream_tensor`).
        let mut size = plan.size.clone();
        let stride = &plan.stride;
        let mut start = plan.offset;
        if size.len() >= 2 {
            let per_slice: usize = size[1..size.len() - 1].iter().product::<usize>().max(1);
            size[0] = k / per_slice;
            start += ((r0 / per_slice) * stride[0]) as u64;
        }
        // Innermost run of consecutive elements.
        let (run, outer) = match (size.last(), stride.last()) {
            (Some(&n), Some(&s)) if s == 1 || n == 1 => (n, size.len() - 1),
            _ => (1, size.len()),
        };
        let extent: u64 = size.iter().zip(stride).map(|(&d, &s)| ((d.max(1) - 1) * s) as u64).sum();
        let (lo, hi) = (start, start + extent + 1);
        let window_elems = (self.gather_window / e).max(1) as u64;
        let mut w0 = lo;
        while w0 < hi {
            let w1 = (w0 + window_elems).min(hi);
            window.clear();
            window.resize(((w1 - w0) as usize) * e, 0);
            self.reader.read_exact_at(window, plan.base + w0 * e as u64).map_err(|source| self.io_err(source))?;
            // Odometer over the outer dims; `s` is the storage index of the current run's first element.
            let mut idx = vec![0usize; outer];
            let mut s = start;
            let mut j = 0usize;
            'runs: loop {
                let (a, b) = (s.max(w0), (s + run as u64).min(w1));
                if a < b {
                    let src = ((a - w0) as usize) * e..((b - w0) as usize) * e;
                    let dst = (j + (a - s) as usize) * e;
                    out[dst..dst + src.len()].copy_from_slice(&window[src]);
                }
                j += run;
                let mut d = outer;
                loop {
                    if d == 0 {
                        break 'runs;
                    }
                    d -= 1;
                    idx[d] += 1;
                    s += stride[d] as u64;
                    if idx[d] < size[d] {
                        continue 'runs;
                    }
                    s -= (stride[d] * size[d]) as u64;
                    idx[d] = 0;
                }
            }
            w0 = w1;
        }
        Ok(())
    }

    fn io_err(&self, source: std::io::Error) -> SummarizeError {
        SummarizeError::Io { path: self.path.clone(), source }
    }
}

impl<R: ReadAt + Send> WeightSource for TorchSource<R> {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    fn stream(&mut self, sink: &mut dyn TensorSink, chunk_bytes: usize) -> Result<(), SummarizeError> {
        let mut buf = Vec::new();
        let mut window = Vec::new();
        for (plan, info) in self.plans.iter().zip(&self.infos) {
            if sink.wants(info) {
                self.stream_tensor(plan, info, sink, chunk_bytes, &mut buf, &mut window)?;
            }
        }
        Ok(())
    }
}

/// Tell a zip checkpoint from the legacy formats before parsing anything.
fn check_magic<R: ReadAt + ?Sized>(r: &R) -> Result<(), TorchError> {
    let mut head = [0u8; 4];
    if r.len() < 4 {
        return Err(TorchError::NotZip);
    }
    r.read_exact_at(&mut head, 0)?;
    if head == *b"PK\x03\x04" {
        return Ok(());
    }
    // torch < 1.6 wrote a bare pickle stream (protocol 2: `\x80\x02` then a magic number); older versions a tar.
    if head[0] == 0x80 && (2..=5).contains(&head[1]) {
        return Err(TorchError::Legacy("a bare pickle stream"));
    }
    let mut tar = [0u8; 5];
    if r.len() >= 262 && r.read_exact_at(&mut tar, 257).is_ok() && tar == *b"ustar" {
        return Err(TorchError::Legacy("a tar archive"));
    }
    Err(TorchError::NotZip)
}

/// The name of the `<top>/data.pkl` record (exactly one directory level).
fn find_data_pkl(zip: &ZipIndex) -> Result<String, TorchError> {
    let found: Vec<&str> = zip
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| n.strip_suffix("/data.pkl").is_some_and(|top| !top.is_empty() && !top.contains('/')))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(TorchError::NoDataPkl),
        many => Err(TorchError::AmbiguousDataPkl(many.join("`, `"))),
    }
}

/// `<top>/byteorder`: `little` (also the default when absent) or `big`.
fn read_byteorder<R: ReadAt + ?Sized>(r: &R, zip: &ZipIndex, top: &str) -> Result<bool, TorchError> {
    let Some(entry) = zip.get(&format!("{top}/byteorder")) else { return Ok(false) };
    let (at, len) = zip.data_range(r, entry)?;
    if len > 16 {
        return Err(TorchError::ByteOrder(format!("a {len}-byte record")));
    }
    let mut b = vec![0u8; len as usize];
    r.read_exact_at(&mut b, at)?;
    match b.as_slice() {
        b"little" => Ok(false),
        b"big" => Ok(true),
        other => Err(TorchError::ByteOrder(String::from_utf8_lossy(other).into_owned())),
    }
}

type Planned = (Vec<TensorInfo>, Vec<Plan>, u64);

/// Locate each storage's record, check it holds the whole storage, and order the tensors by file position.
fn plan<R: ReadAt + ?Sized>(r: &R, zip: &ZipIndex, top: &str, sd: StateDict) -> Result<Planned, TorchError> {
    let mut bases = Vec::with_capacity(sd.storages.len());
    for s in &sd.storages {
        let record = format!("{top}/data/{}", s.key);
        let entry = zip.get(&record).ok_or_else(|| TorchError::MissingRecord(record.clone()))?;
        let (at, have) = zip.data_range(r, entry)?;
        let need = s.numel.checked_mul(s.dtype.size() as u64);
        if need.is_none_or(|need| need > have) {
            return Err(TorchError::RecordTooShort { record, have, numel: s.numel, dtype: s.dtype });
        }
        bases.push(at);
    }
    let too_big = |name: &str| TorchError::Unsupported(format!("tensor `{name}` is too large for this platform"));
    let mut items = Vec::with_capacity(sd.tensors.len());
    let mut total = 0u64;
    for (name, t) in sd.tensors {
        let dtype: DType = sd.storages[t.storage].dtype;
        let to_usize = |v: &[u64]| v.iter().map(|&x| usize::try_from(x)).collect::<Result<Vec<_>, _>>();
        let size = to_usize(&t.size).map_err(|_| too_big(&name))?;
        // The stride of a dimension of size 1 is never used to address an element, and may be anything (even
        // huge): zero it so no offset arithmetic ever touches it.
        let stride: Vec<usize> = t
            .stride
            .iter()
            .zip(&t.size)
            .map(|(&st, &d)| if d == 1 { Ok(0) } else { usize::try_from(st) })
            .collect::<Result<_, _>>()
            .map_err(|_| too_big(&name))?;
        // Byte size and every storage index were checked against the storage (and so the record) when the
        // pickle was read; here only their conversion to `usize` remains.
        let numel = size.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| too_big(&name))?;
        let bytes = numel.checked_mul(dtype.size()).ok_or_else(|| too_big(&name))?;
        let mut expect = 1usize;
        let mut contiguous = true;
        for (&d, &s) in size.iter().zip(&stride).rev() {
            if d != 1 && s != expect {
                contiguous = false;
            }
            expect = expect.saturating_mul(d);
        }
        total = total.saturating_add(bytes as u64);
        let base = bases[t.storage];
        let plan = Plan { base, offset: t.offset, size: size.clone(), stride, contiguous };
        items.push((TensorInfo { name, dtype, shape: size }, plan));
    }
    items.sort_by_key(|(_, p)| (p.base, p.offset));
    let (infos, plans) = items.into_iter().unzip();
    Ok((infos, plans, total))
}

/// Reverse the bytes of every element (big-endian file → little-endian rows).
fn swap_elements(buf: &mut [u8], dtype: DType) {
    for el in buf.chunks_exact_mut(dtype.size()) {
        el.reverse();
    }
}
