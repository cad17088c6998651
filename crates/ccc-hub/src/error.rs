//! The error type of hub access.

use std::path::PathBuf;

/// What can go wrong while talking to the hub or reading its files.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A `hf:` input that cannot be parsed, or an invalid option.
    #[error("{0}")]
    Invalid(String),
    /// 401 without a token: the repository is gated or private (or does not exist).
    #[error(
        "`{repo}` needs a token (the hub answered 401: the repository is gated, private or missing): set `HF_TOKEN`, \
         run `huggingface-cli login` (token file `$HF_HOME/token`), or pass `--token-file FILE`"
    )]
    NeedsToken {
        /// The repository.
        repo: String,
    },
    /// 401/403 with a token: the token does not grant access.
    #[error(
        "`{repo}`: the hub refused the token ({status}); for a gated repository, request access on its page and use a \
         token of the account that was granted access"
    )]
    Forbidden {
        /// The repository.
        repo: String,
        /// The HTTP status.
        status: u16,
    },
    /// The repository does not exist.
    #[error("repository `{repo}` not found on {endpoint}")]
    RepoNotFound {
        /// The repository.
        repo: String,
        /// The hub endpoint.
        endpoint: String,
    },
    /// The revision does not exist; `near` lists existing revisions with close names.
    #[error("`{repo}` has no revision `{revision}`{}", near_list(near))]
    RevisionNotFound {
        /// The repository.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// Existing revisions with close names or steps.
        near: Vec<String>,
    },
    /// A file the revision does not have.
    #[error("`{repo}@{revision}` has no file `{file}`")]
    FileNotFound {
        /// The repository.
        repo: String,
        /// The revision.
        revision: String,
        /// The file.
        file: String,
    },
    /// A revision without weight files ccc can read.
    #[error(
        "`{repo}@{revision}` has no weights ccc can read (model.safetensors, sharded safetensors with an index, \
             or pytorch_model.bin){}; its files: {files}",
        if files.split(", ").any(|f| f == "adapter_config.json" || f.ends_with("/adapter_config.json")) {
            " — it holds PEFT adapters: summarize them against the base model they were trained from (--base)"
        } else {
            ""
        }
    )]
    NoWeights {
        /// The repository.
        repo: String,
        /// The revision.
        revision: String,
        /// The files the revision has, comma-separated.
        files: String,
    },
    /// A file name from the hub that would escape the download directory.
    #[error("refusing file name `{0}` from the hub: it is absolute or leaves the download directory")]
    UnsafeFileName(String),
    /// An unexpected HTTP status (after retries for 5xx).
    #[error("{url}: the hub answered HTTP {status}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status {
        /// The URL (never contains the token).
        url: String,
        /// The status.
        status: u16,
        /// The hub's error message, if any.
        detail: Option<String>,
    },
    /// A network failure that persisted through the retries.
    #[error("{url}: {reason} (gave up after {attempts} attempts)")]
    Network {
        /// The URL.
        url: String,
        /// What failed last.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Downloaded bytes whose sha256 or size differs from what the hub announced.
    #[error(
        "`{file}`: {what} mismatch: the hub announced {expected}, the download has {actual} (data corrupted in \
             transit or on the server)"
    )]
    Integrity {
        /// The file.
        file: String,
        /// `sha256` or `size`.
        what: &'static str,
        /// The announced value.
        expected: String,
        /// The value of the received bytes.
        actual: String,
    },
    /// A response the client cannot understand.
    #[error("{url}: unexpected response: {reason}")]
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Revisions of several series whose steps repeat or restart, and other errors of the shared types.
    #[error(transparent)]
    Core(#[from] ccc_core::CoreError),
    /// A local file error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn near_list(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        format!("; close names: {}", near.join(", "))
    }
}

impl HubError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HubError::Io { path: path.into(), source }
    }
}

/// Result with [`HubError`].
pub type Result<T, E = HubError> = std::result::Result<T, E>;
