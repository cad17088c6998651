//! Writers for PyTorch checkpoints, byte by byte, without PyTorch: used by the unit tests of `ccc-summarize`'s
//! `.bin` reader, its `torch_*` integration tests, and the generator of the hostile corpus in
//! `tests/data/bad/torch/`. A dev-dependency only: nothing here is compiled into `ccc`.
//!
//! What `torch.save(obj, f)` (torch ≥ 1.6, `_use_new_zipfile_serialization=True`) writes, and what these
//! functions reproduce:
//!
//! * A zip archive (PyTorch's `PyTorchStreamWriter`, built on miniz) of **stored** (uncompressed) records named
//!   `<top>/…`, where `<top>` is the file stem (or `archive`). Each local header has flags `0x0808` (UTF-8 name;
//!   sizes in a data descriptor) with zero CRC and sizes, an extra field `FB` padding the data to a 64-byte
//!   boundary, then the data, then a data descriptor `PK\x07\x08 crc size size`. The central directory holds the
//!   real CRC and sizes; it is followed by a zip64 end-of-central-directory record, its locator, and the classic
//!   end record.
//! * Records: `data.pkl` (the pickle), `.format_version` (`1`), `.storage_alignment` (`64`), `byteorder`
//!   (`little`), `data/<key>` (the raw little-endian bytes of each storage), `version` (`3\n`),
//!   `.data/serialization_id`.
//! * The pickle (protocol 2 by default) of a dict `{name: tensor}`, each tensor written by `Tensor.__reduce_ex__`
//!   as `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)`,
//!   the storage as a persistent id `('storage', torch.FloatStorage, '<key>', 'cpu', numel)` (`BINPERSID`),
//!   and `backward_hooks` as `collections.OrderedDict()`.
//!
//! Compare with `python -m pickletools` on `data.pkl` of any torch.save output (the committed
//! `tests/data/fixtures/tiny-neox/variants/step0-bin/pytorch_model.bin` is one).

#![deny(missing_docs)]

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Options of [`write_zip_with`].
#[derive(Debug, Clone, Copy)]
pub struct ZipOpts {
    /// Write 0xFFFFFFFF in the central directory's 32-bit size and offset fields and the real values in a zip64
    /// extra field (what a > 4 GiB checkpoint has).
    pub force_zip64: bool,
    /// Compression method written for every record (0 = stored; anything else mimics a re-zipped file — the data
    /// is left as is).
    pub method: u16,
    /// Data alignment (torch: 64).
    pub align: usize,
}

impl Default for ZipOpts {
    fn default() -> Self {
        ZipOpts { force_zip64: false, method: 0, align: 64 }
    }
}

/// A stored zip archive laid out as `torch.save` lays it out.
pub fn write_zip(records: &[(&str, &[u8])]) -> Vec<u8> {
    write_zip_with(records, ZipOpts::default())
}

/// [`write_zip`] with options.
pub fn write_zip_with(records: &[(&str, &[u8])], opts: ZipOpts) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in records {
        let header_at = out.len() as u64;
        let crc = crc32(data);
        // Local file header: signature, version needed, flags, method, time, date, crc, csize, usize (the last
        // three zero: they follow in the data descriptor), name length, extra length.
        let unpadded = out.len() + 30 + name.len() + 4;
        let pad = (opts.align - unpadded % opts.align) % opts.align;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x0808u16.to_le_bytes());
        out.extend_from_slice(&opts.method.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&((4 + pad) as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        // Extra field `FB` (PyTorch's padding block): id 0x4246, length, `Z` × length.
        out.extend_from_slice(b"FB");
        out.extend_from_slice(&(pad as u16).to_le_bytes());
        out.extend(std::iter::repeat_n(b'Z', pad));
        assert_eq!(out.len() % opts.align, 0);
        out.extend_from_slice(data);
        // Data descriptor.
        out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());

        // Central directory header: signature, version made by, version needed, flags, method, time, date, crc,
        // csize, usize, name length, extra length, comment length, disk, internal attrs, external attrs, offset.
        let (size32, off32, extra) = if opts.force_zip64 {
            let mut z = Vec::new();
            z.extend_from_slice(&1u16.to_le_bytes());
            z.extend_from_slice(&24u16.to_le_bytes());
            z.extend_from_slice(&(data.len() as u64).to_le_bytes());
            z.extend_from_slice(&(data.len() as u64).to_le_bytes());
            z.extend_from_slice(&header_at.to_le_bytes());
            (0xFFFF_FFFFu32, 0xFFFF_FFFFu32, z)
        } else {
            (data.len() as u32, header_at as u32, Vec::new())
        };
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes());
        central.extend_from_slice(&0x002du16.to_le_bytes());
        central.extend_from_slice(&0x0808u16.to_le_bytes());
        central.extend_from_slice(&opts.method.to_le_bytes());
        central.extend_from_slice(&[0u8; 4]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size32.to_le_bytes());
        central.extend_from_slice(&size32.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&off32.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&extra);
    }
    let cd_at = out.len() as u64;
    out.extend_from_slice(&central);
    let n = records.len() as u64;
    // Zip64 end of central directory record: signature, size of the rest (44), versions, disk numbers, entry
    // counts, central directory size and offset.
    let z64_at = out.len() as u64;
    out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&0x031eu16.to_le_bytes());
    out.extend_from_slice(&0x002du16.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u64).to_le_bytes());
    out.extend_from_slice(&cd_at.to_le_bytes());
    // Zip64 locator: signature, disk, offset of the zip64 record, number of disks.
    out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&z64_at.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    // End of central directory: signature, disk numbers, entry counts, size, offset, comment length.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&(cd_at as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The records of a `torch.save` archive around a pickle and its storages.
pub fn torch_zip(top: &str, pickle: &[u8], storages: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut names = vec![format!("{top}/data.pkl"), format!("{top}/.format_version")];
    names.push(format!("{top}/.storage_alignment"));
    names.push(format!("{top}/byteorder"));
    for (k, _) in storages {
        names.push(format!("{top}/data/{k}"));
    }
    names.push(format!("{top}/version"));
    names.push(format!("{top}/.data/serialization_id"));
    let mut data: Vec<&[u8]> = vec![pickle, b"1", b"64", b"little"];
    for (_, bytes) in storages {
        data.push(bytes);
    }
    data.push(b"3\n");
    data.push(b"1234567890123456789012345678901234567890");
    let records: Vec<(&str, &[u8])> = names.iter().map(String::as_str).zip(data).collect();
    write_zip(&records)
}

/// Pickle opcodes (names and bytes as in CPython's `Lib/pickle.py`).
#[allow(missing_docs)]
pub mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const DUP: u8 = b'2';
    pub const NONE: u8 = b'N';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const BINUNICODE: u8 = b'X';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const EMPTY_DICT: u8 = b'}';
    pub const EMPTY_LIST: u8 = b']';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const APPEND: u8 = b'a';
    pub const SETITEM: u8 = b's';
    pub const SETITEMS: u8 = b'u';
    pub const TUPLE: u8 = b't';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
}

/// Emits pickle opcodes one by one, the way CPython's `pickle.Pickler` would for the same objects.
#[derive(Debug, Clone)]
pub struct Pickler {
    /// Protocol (2–5).
    pub proto: u8,
    /// The opcodes written so far, after `PROTO`.
    pub body: Vec<u8>,
    /// Next memo index.
    pub memo: u32,
}

impl Pickler {
    /// Start a pickle of this protocol.
    pub fn new(proto: u8) -> Self {
        Pickler { proto, body: Vec::new(), memo: 0 }
    }

    /// One raw opcode byte.
    pub fn op(&mut self, b: u8) -> &mut Self {
        self.body.push(b);
        self
    }

    /// Raw bytes (an opcode's argument).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.body.extend_from_slice(b);
        self
    }

    /// Store the top of the stack in the memo: `BINPUT i` / `LONG_BINPUT i` (protocol ≤ 3) or `MEMOIZE` (4+).
    /// Returns the index.
    pub fn put(&mut self) -> u32 {
        let i = self.memo;
        self.memo += 1;
        if self.proto >= 4 {
            self.op(op::MEMOIZE);
        } else if i < 256 {
            self.op(op::BINPUT).raw(&[i as u8]);
        } else {
            self.op(op::LONG_BINPUT).raw(&i.to_le_bytes());
        }
        i
    }

    /// Push a memoized value: `BINGET i` / `LONG_BINGET i`.
    pub fn get(&mut self, i: u32) -> &mut Self {
        if i < 256 {
            self.op(op::BINGET).raw(&[i as u8])
        } else {
            self.op(op::LONG_BINGET).raw(&i.to_le_bytes())
        }
    }

    /// An int, as `save_long` writes it: `BININT1` (0..256), `BININT2` (..65536), `BININT` (i32), else `LONG1`.
    pub fn int(&mut self, v: i64) -> &mut Self {
        if (0..256).contains(&v) {
            self.op(op::BININT1).raw(&[v as u8])
        } else if (0..65536).contains(&v) {
            self.op(op::BININT2).raw(&(v as u16).to_le_bytes())
        } else if i32::try_from(v).is_ok() {
            self.op(op::BININT).raw(&(v as i32).to_le_bytes())
        } else {
            let b = v.to_le_bytes();
            // Shortest two's complement encoding.
            let mut n = 8;
            while n > 1 && ((b[n - 1] == 0 && b[n - 2] & 0x80 == 0) || (b[n - 1] == 0xFF && b[n - 2] & 0x80 != 0)) {
                n -= 1;
            }
            self.op(op::LONG1).raw(&[n as u8]).raw(&b[..n])
        }
    }

    /// A str: `SHORT_BINUNICODE` (protocol 4+, < 256 bytes) or `BINUNICODE`.
    pub fn str(&mut self, s: &str) -> &mut Self {
        if self.proto >= 4 && s.len() < 256 {
            self.op(op::SHORT_BINUNICODE).raw(&[s.len() as u8]).raw(s.as_bytes())
        } else {
            self.op(op::BINUNICODE).raw(&(s.len() as u32).to_le_bytes()).raw(s.as_bytes())
        }
    }

    /// A global: `GLOBAL 'module\nname\n'` (protocol ≤ 3) or `str module; str name; STACK_GLOBAL` (4+).
    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        if self.proto >= 4 {
            self.str(module);
            self.str(name);
            self.op(op::STACK_GLOBAL)
        } else {
            self.op(op::GLOBAL).raw(format!("{module}\n{name}\n").as_bytes())
        }
    }

    /// A tuple of the values pushed by `items`: `EMPTY_TUPLE`, `TUPLE1..3`, or `MARK … TUPLE`.
    pub fn tuple(&mut self, n: usize, items: impl FnOnce(&mut Self)) -> &mut Self {
        if n == 0 {
            items(self);
            return self.op(op::EMPTY_TUPLE);
        }
        if n > 3 {
            self.op(op::MARK);
        }
        items(self);
        match n {
            1 => self.op(op::TUPLE1),
            2 => self.op(op::TUPLE2),
            3 => self.op(op::TUPLE3),
            _ => self.op(op::TUPLE),
        }
    }

    /// `PROTO n`, the body (in one `FRAME` for protocol 4+, as `pickle.py`'s framer does for small pickles),
    /// and `STOP`.
    pub fn finish(&self) -> Vec<u8> {
        let mut body = self.body.clone();
        body.push(op::STOP);
        let mut out = vec![op::PROTO, self.proto];
        if self.proto >= 4 {
            out.push(op::FRAME);
            out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        }
        out.extend_from_slice(&body);
        out
    }
}

/// How a tensor is wrapped in the pickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    /// `_rebuild_tensor_v2(...)` (a plain tensor in a state dict).
    Plain,
    /// `_rebuild_parameter(_rebuild_tensor_v2(...), True, OrderedDict())` (an `nn.Parameter`).
    Parameter,
    /// `_rebuild_from_type_v2(_rebuild_tensor_v2, torch.nn.parameter.Parameter, (args…), {})` (a tensor subclass).
    FromType,
}

/// One tensor of a state dict to pickle.
#[derive(Debug, Clone)]
pub struct TensorSpec {
    /// State-dict key.
    pub name: String,
    /// Storage record key (`data/<key>`).
    pub key: String,
    /// Storage class in module `torch`, e.g. `FloatStorage`.
    pub class: String,
    /// Elements in the storage.
    pub storage_numel: u64,
    /// View offset, size and stride (elements).
    pub offset: u64,
    /// Shape.
    pub size: Vec<u64>,
    /// Strides.
    pub stride: Vec<u64>,
    /// Wrapping.
    pub wrap: Wrap,
}

impl TensorSpec {
    /// A contiguous tensor that owns its storage.
    pub fn contiguous(name: &str, key: &str, class: &str, size: &[u64]) -> Self {
        let mut stride = vec![1u64; size.len()];
        for i in (0..size.len().saturating_sub(1)).rev() {
            stride[i] = stride[i + 1] * size[i + 1];
        }
        TensorSpec {
            name: name.into(),
            key: key.into(),
            class: class.into(),
            storage_numel: size.iter().product(),
            offset: 0,
            size: size.to_vec(),
            stride,
            wrap: Wrap::Plain,
        }
    }
}

/// The top-level container of the pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Container {
    /// `{name: tensor}` (`EMPTY_DICT … SETITEMS`).
    Dict,
    /// `collections.OrderedDict()` then `SETITEMS`, then `BUILD` with the `_metadata` attribute, as
    /// `model.state_dict()` pickles.
    OrderedDict,
    /// `{"epoch": 3, <key>: {name: tensor}}`: a state dict nested under a key.
    NestedUnder(String),
}

/// Push a global, memoized the first time and fetched with `BINGET` afterwards (as `pickle.py` does).
fn memo_global(p: &mut Pickler, memo: &mut std::collections::HashMap<String, u32>, m: &str, n: &str) {
    let k = format!("{m}.{n}");
    if let Some(&i) = memo.get(&k) {
        p.get(i);
    } else {
        p.global(m, n);
        let i = p.put();
        memo.insert(k, i);
    }
}

/// The argument tuple of `_rebuild_tensor_v2`: `(storage, offset, size, stride, requires_grad=False,
/// OrderedDict())`, following the layout of the committed torch.save fixture.
fn write_rebuild_args(p: &mut Pickler, t: &TensorSpec, memo: &mut std::collections::HashMap<String, u32>) {
    p.op(op::MARK);
    // The persistent id ('storage', torch.<Class>, key, 'cpu', numel), then BINPERSID.
    p.op(op::MARK);
    p.str("storage");
    memo_global(p, memo, "torch", &t.class);
    p.str(&t.key);
    p.str("cpu");
    p.int(t.storage_numel as i64);
    p.op(op::TUPLE);
    p.op(op::BINPERSID);
    p.int(t.offset as i64);
    let size = t.size.clone();
    p.tuple(size.len(), |p| {
        for &d in &size {
            p.int(d as i64);
        }
    });
    let stride = t.stride.clone();
    p.tuple(stride.len(), |p| {
        for &d in &stride {
            p.int(d as i64);
        }
    });
    p.op(op::NEWFALSE);
    memo_global(p, memo, "collections", "OrderedDict");
    p.op(op::EMPTY_TUPLE).op(op::REDUCE);
    p.op(op::TUPLE);
}

/// `_rebuild_tensor_v2` and its arguments (`REDUCE` not included).
fn write_rebuild(p: &mut Pickler, t: &TensorSpec, memo: &mut std::collections::HashMap<String, u32>) {
    memo_global(p, memo, "torch._utils", "_rebuild_tensor_v2");
    write_rebuild_args(p, t, memo);
}

/// The pickle `torch.save` writes for a state dict of these tensors.
pub fn state_dict_pickle(proto: u8, tensors: &[TensorSpec], container: &Container) -> Vec<u8> {
    let mut p = Pickler::new(proto);
    let mut memo = std::collections::HashMap::new();
    match container {
        Container::Dict => {
            p.op(op::EMPTY_DICT);
            p.put();
        }
        Container::OrderedDict => {
            p.global("collections", "OrderedDict");
            let i = p.put();
            memo.insert("collections.OrderedDict".to_string(), i);
            p.op(op::EMPTY_TUPLE).op(op::REDUCE);
            p.put();
        }
        Container::NestedUnder(key) => {
            p.op(op::EMPTY_DICT);
            p.put();
            p.op(op::MARK);
            p.str("epoch").int(3);
            p.str(key);
            p.op(op::EMPTY_DICT);
            p.put();
        }
    }
    p.op(op::MARK);
    for t in tensors {
        p.str(&t.name);
        match t.wrap {
            Wrap::Plain => {
                write_rebuild(&mut p, t, &mut memo);
                p.op(op::REDUCE);
            }
            Wrap::Parameter => {
                p.global("torch._utils", "_rebuild_parameter");
                write_rebuild(&mut p, t, &mut memo);
                p.op(op::REDUCE);
                p.op(op::NEWTRUE);
                p.global("collections", "OrderedDict");
                p.op(op::EMPTY_TUPLE).op(op::REDUCE);
                p.op(op::TUPLE3).op(op::REDUCE);
            }
            Wrap::FromType => {
                // _rebuild_from_type_v2(func, new_type, args, state): args is the tuple that
                // `write_rebuild` builds after the function, so build it by hand here.
                p.global("torch._tensor", "_rebuild_from_type_v2");
                p.op(op::MARK);
                memo_global(&mut p, &mut memo, "torch._utils", "_rebuild_tensor_v2");
                p.global("torch.nn.parameter", "Parameter");
                write_rebuild_args(&mut p, t, &mut memo);
                p.op(op::EMPTY_DICT);
                p.op(op::TUPLE);
                p.op(op::REDUCE);
            }
        }
        p.put();
    }
    p.op(op::SETITEMS);
    match container {
        Container::OrderedDict => {
            // BUILD with the state {'_metadata': OrderedDict([('', {'version': 1})])}.
            p.op(op::EMPTY_DICT);
            p.str("_metadata");
            p.get(memo["collections.OrderedDict"]);
            p.op(op::EMPTY_TUPLE).op(op::REDUCE);
            p.str("");
            p.op(op::EMPTY_DICT).str("version").int(1).op(op::SETITEM);
            p.op(op::SETITEM);
            p.op(op::SETITEM);
            p.op(op::BUILD);
        }
        Container::NestedUnder(_) => {
            p.op(op::SETITEMS);
        }
        Container::Dict => {}
    }
    p.finish()
}

/// Little-endian bytes of `f32` values.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
