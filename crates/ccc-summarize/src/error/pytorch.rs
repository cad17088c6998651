//! The errors of reading a PyTorch `.bin` checkpoint: its zip container, its pickle, and the checkpoint as a whole.

use crate::tensor::DType;

/// What can go wrong while reading a PyTorch checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The file is not in a supported format.
    #[error("{0}")]
    Unsupported(String),
    /// A checkpoint written by torch < 1.6.
    #[error(
        "legacy PyTorch format ({0}, written by torch < 1.6) is not supported: re-save the checkpoint with \
         torch ≥ 1.6, e.g. `torch.save(torch.load(f, weights_only=True), f)`"
    )]
    Legacy(&'static str),
    /// Not a zip archive at all.
    #[error("not a PyTorch checkpoint: the file does not start with a zip record")]
    NotZip,
    /// The zip container is corrupt or refused.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// The pickle is refused or describes no state dict.
    #[error(transparent)]
    Pickle(#[from] PickleError),
    /// No `<top>/data.pkl` record.
    #[error("the archive has no `<dir>/data.pkl` record: not a torch.save checkpoint")]
    NoDataPkl,
    /// More than one `<top>/data.pkl` record.
    #[error("the archive has several data.pkl records (`{0}`)")]
    AmbiguousDataPkl(String),
    /// A storage whose record is absent.
    #[error("record `{0}` (the bytes of a storage) is missing from the archive")]
    MissingRecord(String),
    /// A storage record holding fewer bytes than the storage's declared size.
    #[error("record `{record}` holds {have} bytes, fewer than its storage of {numel} × {dtype} needs")]
    RecordTooShort {
        /// The record.
        record: String,
        /// Bytes in the record.
        have: u64,
        /// Declared element count.
        numel: u64,
        /// Element type.
        dtype: DType,
    },
    /// An unknown `byteorder` record.
    #[error("unsupported byte order: {0}")]
    ByteOrder(String),
    /// Reading failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a zip archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// Reading failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The structure is invalid or outside the supported subset.
    #[error("corrupt zip archive: {0}")]
    Corrupt(String),
    /// The archive is larger than this reader accepts.
    #[error("zip archive refused: {0}")]
    TooLarge(String),
    /// A record that is compressed or encrypted (torch writes stored records only).
    #[error("record `{name}` is {what}; PyTorch writes uncompressed records — re-save the checkpoint with torch.save")]
    NotStored {
        /// The record name.
        name: String,
        /// "compressed with method N" or "encrypted".
        what: String,
    },
}

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// A global outside the whitelist (`os.system`, `builtins.exec`, an unknown class, …).
    #[error(
        "refusing to load global `{module}.{name}` (data.pkl byte {at}): only the tensor-rebuilding globals \
         written by torch.save are allowed"
    )]
    ForbiddenGlobal {
        /// The module part.
        module: String,
        /// The attribute part.
        name: String,
        /// Byte offset of the opcode.
        at: usize,
    },
    /// The pickle is malformed, truncated, exceeds a limit, or uses a construct this reader refuses.
    #[error("data.pkl byte {at}: {reason}")]
    Malformed {
        /// Byte offset of the opcode.
        at: usize,
        /// What is wrong.
        reason: String,
    },
    /// The pickle is valid but holds no state dict of tensors.
    #[error("data.pkl holds no state dict: {0}")]
    NoStateDict(String),
    /// A tensor whose view does not fit its storage.
    #[error("tensor `{name}`: {reason}")]
    BadTensor {
        /// The tensor's name in the state dict.
        name: String,
        /// What is wrong.
        reason: String,
    },
}
