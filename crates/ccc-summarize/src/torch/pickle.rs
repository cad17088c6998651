//! A restricted unpickler: a stack machine over pickle protocols 2–5 that builds plain data and nothing else.
//!
//! A pickle is a program for Python's `pickle` virtual machine, and `GLOBAL` + `REDUCE` let it call any
//! importable function. This machine never calls anything: it resolves only the globals that `torch.save`
//! writes for a state dict (see [`Global`]), refuses every other global by name, and gives those it accepts a
//! meaning of its own (a tensor *description*: storage key, offset, size, stride). Every container lives in a
//! flat arena and is referred to by index, so `DUP`/`BINGET` are O(1), shared references alias exactly as in
//! Python, no structure is ever walked recursively, and dropping is flat. Stack, mark depth, memo, object count
//! and input size are bounded by [`PickleLimits`].
//!
//! Opcode semantics follow CPython's `Lib/pickle.py` (`_Unpickler`) and `Lib/pickletools.py`.

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::PickleError;
use crate::tensor::DType;

/// Bounds on the resources a pickle may use.
#[derive(Debug, Clone, Copy)]
pub struct PickleLimits {
    /// Maximum pickle size in bytes.
    pub max_bytes: usize,
    /// Maximum number of values on the stack.
    pub max_stack: usize,
    /// Maximum nesting of `MARK`s.
    pub max_marks: usize,
    /// Maximum number of memo entries.
    pub max_memo: usize,
    /// Maximum number of containers and tensors created.
    pub max_objects: usize,
    /// Maximum tensor rank.
    pub max_rank: usize,
    /// Maximum number of values copied into containers or argument lists over the whole run (bounds the time
    /// and memory of pickles that reuse a large memoized container again and again).
    pub max_work: usize,
}

impl Default for PickleLimits {
    fn default() -> Self {
        // A state dict's pickle is about 200 bytes per tensor (a 70B model: < 1 MB) and nests 3–4 levels deep.
        PickleLimits {
            max_bytes: 256 << 20,
            max_stack: 1 << 20,
            max_marks: 256,
            max_memo: 1 << 22,
            max_objects: 1 << 22,
            max_rank: 16,
            max_work: 1 << 26,
        }
    }
}

/// The globals a torch checkpoint may name; each one has a meaning defined here, never by Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    RebuildTensorV2,
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state)`.
    RebuildParameterWithState,
    /// `torch._tensor._rebuild_from_type_v2(func, new_type, args, state)`.
    RebuildFromTypeV2,
    /// `torch.Tensor` / `torch.nn.parameter.Parameter`: a type tag for `_rebuild_from_type_v2`, never called.
    TensorType,
    /// `collections.OrderedDict`: builds a dict.
    OrderedDict,
    /// A storage class such as `torch.FloatStorage`: names the element type in a persistent id.
    Storage(DType),
}

/// The element type named by a storage class of the `torch` module, e.g. `FloatStorage` → f32.
pub fn storage_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "DoubleStorage" => DType::F64,
        "FloatStorage" => DType::F32,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "LongStorage" => DType::I64,
        "IntStorage" => DType::I32,
        "ShortStorage" => DType::I16,
        "CharStorage" => DType::I8,
        "ByteStorage" => DType::U8,
        "BoolStorage" => DType::Bool,
        "ComplexDoubleStorage" => DType::Other(16),
        "ComplexFloatStorage" | "UInt64Storage" => DType::Other(8),
        "UInt32Storage" | "QInt32Storage" => DType::Other(4),
        "UInt16Storage" => DType::Other(2),
        "QInt8Storage"
        | "QUInt8Storage"
        | "QUInt4x2Storage"
        | "QUInt2x4Storage"
        | "Float8_e5m2Storage"
        | "Float8_e4m3fnStorage"
        | "Float8_e5m2fnuzStorage"
        | "Float8_e4m3fnuzStorage" => DType::Other(1),
        _ => return None,
    })
}

/// Resolve `module.name` against the whitelist.
pub fn resolve_global(module: &str, name: &str) -> Option<Global> {
    Some(match (module, name) {
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch._tensor", "_rebuild_from_type_v2") => Global::RebuildFromTypeV2,
        ("torch", "Tensor") | ("torch._tensor", "Tensor") | ("torch.nn.parameter", "Parameter") => Global::TensorType,
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch", storage) => Global::Storage(storage_dtype(storage)?),
        _ => return None,
    })
}

/// A storage named by a persistent id: `('storage', torch.FloatStorage, '0', 'cpu', 32768)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDecl {
    /// The record key: its bytes are `<top>/data/<key>`.
    pub key: String,
    /// Element type.
    pub dtype: DType,
    /// Number of elements.
    pub numel: u64,
}

/// A tensor: a strided view of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorDecl {
    /// Index into [`StateDict::storages`].
    pub storage: usize,
    /// Offset of element `[0, 0, …]` in the storage, in elements.
    pub offset: u64,
    /// Shape.
    pub size: Vec<u64>,
    /// Stride of each dimension, in elements.
    pub stride: Vec<u64>,
}

/// The tensors of a state dict, by name, in the pickle's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateDict {
    /// Storages referenced by the tensors (possibly shared).
    pub storages: Vec<StorageDecl>,
    /// `(name, tensor)`.
    pub tensors: Vec<(String, TensorDecl)>,
}

/// Run the restricted unpickler over `data` and return the state dict it describes (the top-level dict, or the
/// dict under `state_dict`, `model` or `module` when the top level holds no tensors). Tensor views are checked
/// against their storage's element count.
pub fn load_state_dict(data: &[u8], limits: &PickleLimits) -> Result<StateDict, PickleError> {
    let mut vm = Vm::new(data, limits)?;
    let root = vm.run()?;
    vm.state_dict(root)
}

#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float,
    Str(Rc<str>),
    Bytes,
    Obj(usize),
    Global(Global),
    Storage(usize),
    Tensor(usize),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float => "a float",
            Value::Str(_) => "a str",
            Value::Bytes => "bytes",
            Value::Obj(_) => "a container",
            Value::Global(_) => "a global",
            Value::Storage(_) => "a storage",
            Value::Tensor(_) => "a tensor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(Rc<str>),
    Int(i64),
}

#[derive(Debug, Default)]
struct Dict {
    items: Vec<(Value, Value)>,
    index: HashMap<Key, usize>,
}

impl Dict {
    fn set(&mut self, k: Value, v: Value) {
        let key = match &k {
            Value::Str(s) => Some(Key::Str(s.clone())),
            Value::Int(i) => Some(Key::Int(*i)),
            _ => None,
        };
        if let Some(key) = key {
            if let Some(&i) = self.index.get(&key) {
                self.items[i].1 = v;
                return;
            }
            self.index.insert(key, self.items.len());
        }
        self.items.push((k, v));
    }

    fn get_str(&self, k: &str) -> Option<&Value> {
        self.index.get(&Key::Str(Rc::from(k))).map(|&i| &self.items[i].1)
    }
}

#[derive(Debug)]
enum Object {
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Dict),
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    /// Position of the opcode being executed (for messages).
    at: usize,
    limits: PickleLimits,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    objects: Vec<Object>,
    storages: Vec<StorageDecl>,
    storage_keys: HashMap<String, usize>,
    tensors: Vec<TensorDecl>,
    work: usize,
}

/// Keys under which a checkpoint may nest its state dict, tried in order when the top level holds no tensors.
const NESTED_KEYS: [&str; 3] = ["state_dict", "model", "module"];

impl<'a> Vm<'a> {
    fn new(data: &'a [u8], limits: &PickleLimits) -> Result<Self, PickleError> {
        if data.len() > limits.max_bytes {
            return Err(PickleError::Malformed {
                at: 0,
                reason: format!("pickle of {} bytes exceeds the limit of {}", data.len(), limits.max_bytes),
            });
        }
        Ok(Vm {
            data,
            pos: 0,
            at: 0,
            limits: *limits,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            objects: Vec::new(),
            storages: Vec::new(),
            storage_keys: HashMap::new(),
            tensors: Vec::new(),
            work: 0,
        })
    }

    fn err(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed { at: self.at, reason: reason.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| {
            self.err(format!("truncated: needs {n} more bytes, {} remain", self.data.len() - self.pos))
        })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| self.err(format!("length {n} does not fit in memory")))
    }

    /// A newline-terminated ASCII line (for `GLOBAL`), at most 256 bytes.
    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().take(257).position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated line"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| self.err("line is not UTF-8"))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Result<Value, PickleError> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| self.err("string is not valid UTF-8"))?;
        Ok(Value::Str(Rc::from(s)))
    }

    fn push(&mut self, v: Value) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(self.err(format!("stack deeper than the limit of {}", self.limits.max_stack)));
        }
        self.stack.push(v);
        Ok(())
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(self.err("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn top(&self) -> Result<&Value, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(self.err("stack underflow"));
        }
        self.stack.last().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let m = self.marks.pop().ok_or_else(|| self.err("no MARK to pop to"))?;
        let items = self.stack.split_off(m);
        self.charge(items.len())?;
        Ok(items)
    }

    /// Account for `n` values copied; an error past [`PickleLimits::max_work`].
    fn charge(&mut self, n: usize) -> Result<(), PickleError> {
        self.work = self.work.saturating_add(n);
        if self.work > self.limits.max_work {
            return Err(self.err(format!("the pickle copies more than {} values", self.limits.max_work)));
        }
        Ok(())
    }

    fn new_object(&mut self, o: Object) -> Result<Value, PickleError> {
        if self.objects.len() + self.tensors.len() >= self.limits.max_objects {
            return Err(self.err(format!("more than {} objects", self.limits.max_objects)));
        }
        self.objects.push(o);
        Ok(Value::Obj(self.objects.len() - 1))
    }

    fn memo_put(&mut self, idx: u64) -> Result<(), PickleError> {
        let v = self.top()?.clone();
        if !self.memo.contains_key(&idx) && self.memo.len() >= self.limits.max_memo {
            return Err(self.err(format!("more than {} memo entries", self.limits.max_memo)));
        }
        self.memo.insert(idx, v);
        Ok(())
    }

    fn memo_get(&mut self, idx: u64) -> Result<(), PickleError> {
        let v = self.memo.get(&idx).cloned().ok_or_else(|| self.err(format!("memo entry {idx} was never stored")))?;
        self.push(v)
    }

    fn global(&self, module: &str, name: &str) -> Result<Value, PickleError> {
        resolve_global(module, name).map(Value::Global).ok_or_else(|| PickleError::ForbiddenGlobal {
            module: module.to_owned(),
            name: name.to_owned(),
            at: self.at,
        })
    }

    fn int(&self, v: &Value, what: &str) -> Result<i64, PickleError> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => Err(self.err(format!("{what}: expected an int, found {}", other.kind()))),
        }
    }

    fn uint(&self, v: &Value, what: &str) -> Result<u64, PickleError> {
        let i = self.int(v, what)?;
        u64::try_from(i).map_err(|_| self.err(format!("{what}: negative value {i}")))
    }

    fn tuple(&self, v: &Value, what: &str) -> Result<&[Value], PickleError> {
        match v {
            Value::Obj(i) => match &self.objects[*i] {
                Object::Tuple(t) => Ok(t),
                _ => Err(self.err(format!("{what}: expected a tuple, found a list or dict"))),
            },
            other => Err(self.err(format!("{what}: expected a tuple, found {}", other.kind()))),
        }
    }

    fn dims(&self, v: &Value, what: &str) -> Result<Vec<u64>, PickleError> {
        let t = self.tuple(v, what)?;
        if t.len() > self.limits.max_rank {
            return Err(self.err(format!("{what}: rank {} exceeds the limit of {}", t.len(), self.limits.max_rank)));
        }
        t.iter().map(|d| self.uint(d, what)).collect()
    }

    /// `BINPERSID`: `('storage', <storage class>, key, location, numel)` → a storage reference.
    fn persistent_load(&mut self, pid: Value) -> Result<Value, PickleError> {
        let t = self.tuple(&pid, "persistent id")?;
        let (dtype, key, numel) = match t {
            [Value::Str(tag), Value::Global(Global::Storage(dtype)), Value::Str(key), Value::Str(_location), n]
                if &**tag == "storage" =>
            {
                (*dtype, key.clone(), self.uint(n, "storage size")?)
            }
            _ => {
                return Err(self.err(
                    "persistent id is not ('storage', <torch storage class>, key, location, numel) as torch.save \
                     writes it",
                ))
            }
        };
        if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(self.err(format!("storage key {key:?} is not a record name")));
        }
        if let Some(&i) = self.storage_keys.get(&*key) {
            let s = &self.storages[i];
            if s.dtype != dtype || s.numel != numel {
                return Err(self.err(format!(
                    "storage `{key}` is declared twice, as {} × {} and as {numel} × {dtype}",
                    s.numel, s.dtype
                )));
            }
            return Ok(Value::Storage(i));
        }
        self.storages.push(StorageDecl { key: key.to_string(), dtype, numel });
        self.storage_keys.insert(key.to_string(), self.storages.len() - 1);
        Ok(Value::Storage(self.storages.len() - 1))
    }

    /// `REDUCE`: apply a whitelisted global to an argument tuple, with the meaning defined here.
    fn call(&mut self, f: &Value, args: &Value, depth: usize) -> Result<Value, PickleError> {
        let g = match f {
            Value::Global(g) => *g,
            other => return Err(self.err(format!("REDUCE on {}, which is not a callable", other.kind()))),
        };
        let n = self.tuple(args, "REDUCE arguments")?.len();
        self.charge(n)?;
        let args = self.tuple(args, "REDUCE arguments")?.to_vec();
        let arity = |lo: usize, hi: usize| {
            if args.len() < lo || args.len() > hi {
                Err(self.err(format!("{g:?} called with {} arguments", args.len())))
            } else {
                Ok(())
            }
        };
        match g {
            Global::RebuildTensorV2 => {
                arity(6, 7)?;
                let storage = match &args[0] {
                    Value::Storage(s) => *s,
                    other => {
                        return Err(self.err(format!("tensor storage: expected a storage, found {}", other.kind())))
                    }
                };
                let offset = self.uint(&args[1], "tensor storage offset")?;
                let size = self.dims(&args[2], "tensor size")?;
                let stride = self.dims(&args[3], "tensor stride")?;
                if size.len() != stride.len() {
                    return Err(self.err(format!("tensor size {size:?} and stride {stride:?} differ in rank")));
                }
                if self.objects.len() + self.tensors.len() >= self.limits.max_objects {
                    return Err(self.err(format!("more than {} objects", self.limits.max_objects)));
                }
                self.tensors.push(TensorDecl { storage, offset, size, stride });
                Ok(Value::Tensor(self.tensors.len() - 1))
            }
            Global::RebuildParameter | Global::RebuildParameterWithState => {
                if g == Global::RebuildParameter {
                    arity(3, 3)?;
                } else {
                    arity(4, 4)?;
                }
                match &args[0] {
                    t @ Value::Tensor(_) => Ok(t.clone()),
                    other => Err(self.err(format!("parameter data: expected a tensor, found {}", other.kind()))),
                }
            }
            Global::RebuildFromTypeV2 => {
                arity(4, 4)?;
                if depth >= 4 {
                    return Err(self.err("_rebuild_from_type_v2 nested too deeply"));
                }
                if !matches!(args[1], Value::Global(Global::TensorType)) {
                    return Err(self.err("_rebuild_from_type_v2: the new type is not torch.Tensor or Parameter"));
                }
                let t = self.call(&args[0], &args[2], depth + 1)?;
                match t {
                    Value::Tensor(_) => Ok(t),
                    other => Err(self.err(format!("_rebuild_from_type_v2 produced {}", other.kind()))),
                }
            }
            Global::OrderedDict => {
                let mut d = Dict::default();
                match args.as_slice() {
                    [] => {}
                    [Value::Obj(i)] => {
                        let pairs = match &self.objects[*i] {
                            Object::List(l) | Object::Tuple(l) => l.clone(),
                            Object::Dict(_) => return Err(self.err("OrderedDict(dict) is not supported")),
                        };
                        self.charge(pairs.len())?;
                        for p in pairs {
                            match self.tuple(&p, "OrderedDict item")? {
                                [k, v] => d.set(k.clone(), v.clone()),
                                _ => return Err(self.err("OrderedDict item is not a (key, value) pair")),
                            }
                        }
                    }
                    _ => return Err(self.err("OrderedDict called with unexpected arguments")),
                }
                self.new_object(Object::Dict(d))
            }
            Global::TensorType => Err(self.err("refusing to call `torch.Tensor`/`Parameter`")),
            Global::Storage(d) => Err(self.err(format!("refusing to call the {d} storage class"))),
        }
    }

    /// Execute until `STOP`; the value on top of the stack is the result.
    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.at = self.pos;
            let op = self.u8().map_err(|_| self.err("truncated: the pickle ends without STOP"))?;
            match op {
                // PROTO: protocol version.
                0x80 => {
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {v}")));
                    }
                }
                // FRAME (protocol 4): a length prefix for the following opcodes; only checked.
                0x95 => {
                    let n = self.len_u64()?;
                    if n > self.data.len() - self.pos {
                        return Err(self.err(format!("frame of {n} bytes runs past the end")));
                    }
                }
                b'.' => return self.pop(),
                b'(' => {
                    if self.marks.len() >= self.limits.max_marks {
                        return Err(self.err(format!("MARKs nested deeper than {}", self.limits.max_marks)));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.stack.len() > self.floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                // BININT, BININT1, BININT2
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(i64::from(v)))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(i64::from(v)))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(i64::from(v)))?
                }
                // LONG1, LONG4: little-endian two's complement of n bytes.
                0x8a | 0x8b => {
                    let n = if op == 0x8a { usize::from(self.u8()?) } else { self.u32()? as usize };
                    let b = self.take(n)?;
                    let v = if n == 0 {
                        0
                    } else if n <= 8 {
                        let mut a = if b[n - 1] & 0x80 != 0 { [0xFFu8; 8] } else { [0u8; 8] };
                        a[..n].copy_from_slice(b);
                        i64::from_le_bytes(a)
                    } else {
                        return Err(self.err(format!("integer of {n} bytes is too large")));
                    };
                    self.push(Value::Int(v))?
                }
                // BINFLOAT
                b'G' => {
                    self.take(8)?;
                    self.push(Value::Float)?
                }
                // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.string(n)?;
                    self.push(v)?
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let v = self.string(n)?;
                    self.push(v)?
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let v = self.string(n)?;
                    self.push(v)?
                }
                // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8, BINSTRING, SHORT_BINSTRING
                b'B' | b'T' => {
                    let n = self.u32()? as usize;
                    self.take(n)?;
                    self.push(Value::Bytes)?
                }
                b'C' | b'U' => {
                    let n = usize::from(self.u8()?);
                    self.take(n)?;
                    self.push(Value::Bytes)?
                }
                0x8e | 0x96 => {
                    let n = self.len_u64()?;
                    self.take(n)?;
                    self.push(Value::Bytes)?
                }
                // EMPTY_TUPLE, TUPLE, TUPLE1..3
                b')' => {
                    let v = self.new_object(Object::Tuple(Vec::new()))?;
                    self.push(v)?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    let v = self.new_object(Object::Tuple(items))?;
                    self.push(v)?
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let v = self.new_object(Object::Tuple(items))?;
                    self.push(v)?
                }
                // EMPTY_LIST, LIST, APPEND, APPENDS
                b']' => {
                    let v = self.new_object(Object::List(Vec::new()))?;
                    self.push(v)?
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let v = self.new_object(Object::List(items))?;
                    self.push(v)?
                }
                b'a' => {
                    let v = self.pop()?;
                    self.list_target()?.push(v);
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.list_target()?.extend(items);
                }
                // EMPTY_DICT, DICT, SETITEM, SETITEMS
                b'}' => {
                    let v = self.new_object(Object::Dict(Dict::default()))?;
                    self.push(v)?
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let d = self.pairs_into(Dict::default(), items)?;
                    let v = self.new_object(Object::Dict(d))?;
                    self.push(v)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.dict_target()?.set(k, v);
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let d = std::mem::take(self.dict_target()?);
                    let d = self.pairs_into(d, items)?;
                    *self.dict_target()? = d;
                }
                // GLOBAL, STACK_GLOBAL
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(module, name)?;
                    self.push(g)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            let g = self.global(&m, &n)?;
                            self.push(g)?
                        }
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                // REDUCE
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = self.call(&f, &args, 0)?;
                    self.push(v)?
                }
                // BUILD: set state on an object. Only dicts (an OrderedDict's `_metadata`) and tensors (Python-level
                // attributes) accept it, and the state is discarded.
                b'b' => {
                    let _state = self.pop()?;
                    match self.top()? {
                        Value::Tensor(_) => {}
                        Value::Obj(i) if matches!(self.objects[*i], Object::Dict(_)) => {}
                        other => return Err(self.err(format!("BUILD on {} is not allowed", other.kind()))),
                    }
                }
                // BINPERSID
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent_load(pid)?;
                    self.push(v)?
                }
                // BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET
                b'q' => {
                    let i = self.u8()?;
                    self.memo_put(u64::from(i))?
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(u64::from(i))?
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    self.memo_put(i)?
                }
                b'h' => {
                    let i = self.u8()?;
                    self.memo_get(u64::from(i))?
                }
                b'j' => {
                    let i = self.u32()?;
                    self.memo_get(u64::from(i))?
                }
                // NEWOBJ, NEWOBJ_EX, INST, OBJ: object instantiation, never needed by a state dict.
                0x81 | 0x92 | b'i' | b'o' => {
                    return Err(self.err(format!("refusing to instantiate an object (opcode {})", opname(op))))
                }
                0x97 | 0x98 => return Err(self.err("out-of-band buffers (protocol 5) are not supported")),
                _ => return Err(self.err(format!("unsupported opcode {}", opname(op)))),
            }
        }
    }

    fn list_target(&mut self) -> Result<&mut Vec<Value>, PickleError> {
        let err = self.err("APPEND to something that is not a list");
        match self.top()? {
            Value::Obj(i) => {
                let i = *i;
                match &mut self.objects[i] {
                    Object::List(l) => Ok(l),
                    _ => Err(err),
                }
            }
            _ => Err(err),
        }
    }

    fn dict_target(&mut self) -> Result<&mut Dict, PickleError> {
        let err = self.err("SETITEM on something that is not a dict");
        match self.top()? {
            Value::Obj(i) => {
                let i = *i;
                match &mut self.objects[i] {
                    Object::Dict(d) => Ok(d),
                    _ => Err(err),
                }
            }
            _ => Err(err),
        }
    }

    fn pairs_into(&self, mut d: Dict, items: Vec<Value>) -> Result<Dict, PickleError> {
        if items.len() % 2 != 0 {
            return Err(self.err("odd number of items for a dict"));
        }
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.set(k, v);
        }
        Ok(d)
    }

    fn describe(&self, v: &Value) -> &'static str {
        match v {
            Value::Obj(i) => match &self.objects[*i] {
                Object::Tuple(_) => "a tuple",
                Object::List(_) => "a list",
                Object::Dict(_) => "a dict",
            },
            other => other.kind(),
        }
    }

    fn dict(&self, v: &Value) -> Option<&Dict> {
        match v {
            Value::Obj(i) => match &self.objects[*i] {
                Object::Dict(d) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// Find the state dict in the unpickled value and check every tensor against its storage.
    fn state_dict(&mut self, root: Value) -> Result<StateDict, PickleError> {
        self.at = self.data.len();
        let mut d = self.dict(&root).ok_or_else(|| {
            PickleError::NoStateDict(format!("the pickle holds {}, not a dict", self.describe(&root)))
        })?;
        let has_tensors = |d: &Dict| d.items.iter().any(|(_, v)| matches!(v, Value::Tensor(_)));
        // Descend through at most a few `state_dict` / `model` / `module` levels.
        for _ in 0..4 {
            if has_tensors(d) {
                break;
            }
            match NESTED_KEYS.iter().find_map(|k| self.dict(d.get_str(k)?)) {
                Some(inner) => d = inner,
                None => break,
            }
        }
        if !has_tensors(d) {
            let keys: Vec<String> = d
                .items
                .iter()
                .take(8)
                .map(|(k, _)| match k {
                    Value::Str(s) => format!("`{s}`"),
                    other => other.kind().to_owned(),
                })
                .collect();
            return Err(PickleError::NoStateDict(format!(
                "no tensors in the top-level dict (keys: {}{}) nor under `state_dict`, `model` or `module`",
                keys.join(", "),
                if d.items.len() > 8 { ", …" } else { "" }
            )));
        }
        let mut out = StateDict::default();
        let mut storage_map: HashMap<usize, usize> = HashMap::new();
        for (k, v) in &d.items {
            let Value::Tensor(t) = v else { continue };
            let name = match k {
                Value::Str(s) => s.to_string(),
                other => return Err(PickleError::NoStateDict(format!("a tensor is keyed by {}", other.kind()))),
            };
            let mut t = self.tensors[*t].clone();
            let s = &self.storages[t.storage];
            check_view(&name, &t, s)?;
            let next = out.storages.len();
            let si = *storage_map.entry(t.storage).or_insert(next);
            if si == next {
                out.storages.push(s.clone());
            }
            t.storage = si;
            out.tensors.push((name, t));
        }
        Ok(out)
    }
}

/// Largest non-float view whose elements repeat storage elements.
const MAX_EXPANDED_BYTES: u64 = 1 << 30;

/// Check that every element of the view lies inside the storage and the byte size fits in a `u64`.
fn check_view(name: &str, t: &TensorDecl, s: &StorageDecl) -> Result<(), PickleError> {
    let bad = |reason: String| PickleError::BadTensor { name: name.to_owned(), reason };
    let numel = t.size.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("size overflows".into()))?;
    let bytes = numel.checked_mul(s.dtype.size() as u64).ok_or_else(|| bad("byte size overflows".into()))?;
    if numel == 0 {
        return Ok(());
    }
    // A view with more elements than its storage repeats elements (an `expand`ed tensor, stride 0). Such a view
    // costs more to stream than the file holds, so a hostile file could make it arbitrarily large: refuse it for
    // float tensors (weights are never saved expanded) and cap it for the others (never streamed by `summarize`).
    if numel > s.numel && (s.dtype.is_float() || bytes > MAX_EXPANDED_BYTES) {
        return Err(bad(format!(
            "view of {numel} elements repeats elements of its {}-element storage `{}` (an expanded tensor), which is \
             not supported",
            s.numel, s.key
        )));
    }
    let last = t
        .size
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |a, (&d, &st)| a.checked_add((d - 1).checked_mul(st)?))
        .ok_or_else(|| bad("storage index overflows".into()))?;
    if last >= s.numel {
        return Err(bad(format!(
            "view (offset {}, size {:?}, stride {:?}) reaches element {last} of storage `{}`, which has {} elements",
            t.offset, t.size, t.stride, s.key, s.numel
        )));
    }
    Ok(())
}

fn opname(op: u8) -> String {
    if op.is_ascii_graphic() {
        format!("`{}` (0x{op:02x})", op as char)
    } else {
        format!("0x{op:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_torch_testkit::{op, Pickler};

    fn err(p: &Pickler, limits: &PickleLimits) -> String {
        load_state_dict(&p.finish(), limits).unwrap_err().to_string()
    }

    /// `{name: _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', numel), 0, (n,), (1,), False,
    /// OrderedDict())}` with the opcodes spelled out.
    fn one_tensor(p: &mut Pickler, name: &str, numel: i64, n: i64) {
        p.str(name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.op(op::MARK);
        p.op(op::MARK).str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(numel);
        p.op(op::TUPLE).op(op::BINPERSID);
        p.int(0).int(n).op(op::TUPLE1).int(1).op(op::TUPLE1).op(op::NEWFALSE);
        p.global("collections", "OrderedDict").op(op::EMPTY_TUPLE).op(op::REDUCE);
        p.op(op::TUPLE).op(op::REDUCE);
    }

    #[test]
    fn a_hand_written_state_dict() {
        let mut p = Pickler::new(2);
        p.op(op::EMPTY_DICT).op(op::MARK);
        one_tensor(&mut p, "a", 10, 10);
        one_tensor(&mut p, "b", 10, 4);
        p.op(op::SETITEMS);
        let sd = load_state_dict(&p.finish(), &PickleLimits::default()).unwrap();
        assert_eq!(sd.storages, vec![StorageDecl { key: "0".into(), dtype: DType::F32, numel: 10 }]);
        let names: Vec<&str> = sd.tensors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(sd.tensors[1].1.size, vec![4]);
    }

    #[test]
    fn later_keys_replace_earlier_ones_in_place() {
        let mut p = Pickler::new(2);
        p.op(op::EMPTY_DICT).op(op::MARK);
        one_tensor(&mut p, "a", 10, 10);
        one_tensor(&mut p, "b", 10, 2);
        one_tensor(&mut p, "a", 10, 3);
        p.op(op::SETITEMS);
        let sd = load_state_dict(&p.finish(), &PickleLimits::default()).unwrap();
        assert_eq!(sd.tensors.len(), 2);
        assert_eq!(sd.tensors[0].0, "a");
        assert_eq!(sd.tensors[0].1.size, vec![3]);
    }

    #[test]
    fn integers_of_every_width() {
        // LONG1 sign extension: -2 in 1 byte, 2^40 in 6 bytes; BININT negative.
        for (v, want) in [(-2i64, -2i64), (1 << 40, 1 << 40), (-70000, -70000), (65535, 65535)] {
            let mut p = Pickler::new(2);
            p.int(v);
            let bytes = p.finish();
            let mut vm = Vm::new(&bytes, &PickleLimits::default()).unwrap();
            match vm.run().unwrap() {
                Value::Int(i) => assert_eq!(i, want),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn pop_discards_and_pops_marks_like_python() {
        // MARK, POP (nothing above the mark → pops the mark), EMPTY_DICT, NONE, POP, STOP → the dict.
        let mut p = Pickler::new(2);
        p.op(op::MARK).op(op::POP).op(op::EMPTY_DICT).op(op::NONE).op(op::POP);
        let e = err(&p, &PickleLimits::default());
        assert!(e.contains("no tensors"), "{e}");
    }

    #[test]
    fn refusals() {
        let l = PickleLimits::default();
        let mut p = Pickler::new(2);
        p.op(op::EMPTY_LIST).op(op::EMPTY_DICT).op(op::BUILD);
        assert!(err(&p, &l).contains("BUILD on a container"), "{}", err(&p, &l));
        let mut p = Pickler::new(2);
        p.op(op::EMPTY_TUPLE).op(op::NONE).op(op::APPEND);
        assert!(err(&p, &l).contains("APPEND"));
        let bytes = [0x80, 6, b'}', b'.'];
        assert!(load_state_dict(&bytes, &l).unwrap_err().to_string().contains("protocol 6"));
        let bytes = [0x80, 4, 0x95, 0xff, 0, 0, 0, 0, 0, 0, 0, b'}', b'.'];
        assert!(load_state_dict(&bytes, &l).unwrap_err().to_string().contains("frame of 255 bytes"));
        let mut p = Pickler::new(2);
        p.op(op::EMPTY_DICT).op(b'S');
        assert!(err(&p, &l).contains("unsupported opcode `S`"), "{}", err(&p, &l));
    }

    #[test]
    fn limits() {
        // Reusing one memoized list of 100 pairs to build OrderedDicts again and again costs work.
        let mut p = Pickler::new(2);
        p.op(op::MARK);
        for i in 0..100 {
            p.int(i).op(op::NONE).op(op::TUPLE2);
        }
        p.op(b'l').op(op::TUPLE1);
        let t = p.put();
        for _ in 0..1000 {
            p.global("collections", "OrderedDict").get(t).op(op::REDUCE).op(op::POP);
        }
        let l = PickleLimits { max_work: 10_000, ..PickleLimits::default() };
        assert!(err(&p, &l).contains("copies more than 10000 values"), "{}", err(&p, &l));

        let mut p = Pickler::new(2);
        for _ in 0..20 {
            p.op(op::NONE);
        }
        let l = PickleLimits { max_stack: 10, ..PickleLimits::default() };
        assert!(err(&p, &l).contains("stack deeper than the limit of 10"));
        let mut p = Pickler::new(2);
        p.op(op::NONE);
        for _ in 0..20 {
            p.put();
        }
        let l = PickleLimits { max_memo: 5, ..PickleLimits::default() };
        assert!(err(&p, &l).contains("more than 5 memo entries"));
    }
}
