//! Where the hub is and who we are: `HF_ENDPOINT`, `HF_TOKEN` / the token file, `HF_HUB_CACHE` / `HF_HOME`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{HubError, Result};

/// The public hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// An access token. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wrap a token (surrounding whitespace is removed); `None` when empty.
    pub fn new(secret: &str) -> Option<Self> {
        let t = secret.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }

    /// The `Authorization` header value.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Network behaviour: timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Longest wait for a connection, the response head, or any read of the body.
    pub timeout: Duration,
    /// Attempts per request (≥ 1) for 5xx answers, timeouts and broken connections.
    pub attempts: u32,
    /// First backoff; doubled after each failure, capped at 30 s.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { timeout: Duration::from_secs(60), attempts: 5, backoff: Duration::from_millis(500) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `failure` (1-based).
    pub fn delay(&self, failure: u32) -> Duration {
        let factor = 1u32 << failure.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(Duration::from_secs(30))
    }
}

/// How to reach the hub and where its cache is.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Base URL without a trailing slash (`HF_ENDPOINT`, default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// Access token, if any.
    pub token: Option<Token>,
    /// The hub cache (`HF_HUB_CACHE`, else `$HF_HOME/hub`), read for files already downloaded.
    pub cache_dir: PathBuf,
    /// Timeouts and retries.
    pub retry: RetryPolicy,
}

/// The environment variables the configuration reads, injectable for tests.
pub trait Env {
    /// The value of a variable, if set and non-empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.is_empty())
    }
}

/// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (as `huggingface_hub` does).
pub fn hf_home(env: &dyn Env) -> PathBuf {
    if let Some(h) = env.var("HF_HOME") {
        return expand_home(&h, env);
    }
    if let Some(x) = env.var("XDG_CACHE_HOME") {
        return expand_home(&x, env).join("huggingface");
    }
    home_dir(env).join(".cache").join("huggingface")
}

fn home_dir(env: &dyn Env) -> PathBuf {
    env.var("HOME").or_else(|| env.var("USERPROFILE")).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

fn expand_home(p: &str, env: &dyn Env) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home_dir(env).join(rest),
        None if p == "~" => home_dir(env),
        None => PathBuf::from(p),
    }
}

impl HubConfig {
    /// Read the configuration from the environment. `token_file` (e.g. `--token-file`) overrides `HF_TOKEN` and
    /// the token file under `HF_HOME`.
    pub fn from_env(env: &dyn Env, token_file: Option<&Path>) -> Result<Self> {
        let endpoint = env.var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(HubError::Invalid(format!(
                "HF_ENDPOINT `{endpoint}` is not an http(s) URL (e.g. `https://huggingface.co`)"
            )));
        }
        let home = hf_home(env);
        let token = match token_file {
            Some(f) => {
                let t = std::fs::read_to_string(f).map_err(|e| HubError::io(f, e))?;
                Some(
                    Token::new(&t)
                        .ok_or_else(|| HubError::Invalid(format!("token file `{}` is empty", f.display())))?,
                )
            }
            None => env
                .var("HF_TOKEN")
                .or_else(|| env.var("HUGGING_FACE_HUB_TOKEN"))
                .and_then(|t| Token::new(&t))
                .or_else(|| {
                    let f =
                        env.var("HF_TOKEN_PATH").map(|p| expand_home(&p, env)).unwrap_or_else(|| home.join("token"));
                    std::fs::read_to_string(f).ok().and_then(|t| Token::new(&t))
                }),
        };
        let cache_dir = env.var("HF_HUB_CACHE").map(|p| expand_home(&p, env)).unwrap_or_else(|| home.join("hub"));
        Ok(HubConfig { endpoint, token, cache_dir, retry: RetryPolicy::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn reads_conventions() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("hfhome");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("token"), "hf_secret_file\n").unwrap();
        let h = home.to_str().unwrap();
        let c = HubConfig::from_env(&env(&[("HF_HOME", h), ("HF_ENDPOINT", "http://127.0.0.1:9/")]), None).unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:9");
        assert_eq!(c.token, Token::new("hf_secret_file"));
        assert_eq!(c.cache_dir, home.join("hub"));
        // HF_TOKEN wins over the file; HF_HUB_CACHE over HF_HOME.
        let c = HubConfig::from_env(&env(&[("HF_HOME", h), ("HF_TOKEN", "hf_env"), ("HF_HUB_CACHE", "/x/c")]), None)
            .unwrap();
        assert_eq!(c.token, Token::new("hf_env"));
        assert_eq!(c.cache_dir, PathBuf::from("/x/c"));
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        // Defaults under HOME.
        let c = HubConfig::from_env(&env(&[("HOME", "/h/u")]), None).unwrap();
        assert_eq!(c.cache_dir, PathBuf::from("/h/u/.cache/huggingface/hub"));
        assert!(c.token.is_none());
        assert!(HubConfig::from_env(&env(&[("HF_ENDPOINT", "ftp://x")]), None).is_err());
    }

    #[test]
    fn token_is_never_shown() {
        let t = Token::new("hf_abcdef").unwrap();
        assert!(!format!("{t:?} {t}").contains("abcdef"));
        let c =
            HubConfig { endpoint: "x".into(), token: Some(t), cache_dir: "c".into(), retry: RetryPolicy::default() };
        assert!(!format!("{c:?}").contains("abcdef"));
    }

    #[test]
    fn backoff_is_bounded() {
        let r = RetryPolicy { backoff: Duration::from_millis(100), ..RetryPolicy::default() };
        assert_eq!(r.delay(1), Duration::from_millis(100));
        assert_eq!(r.delay(3), Duration::from_millis(400));
        assert_eq!(r.delay(40), Duration::from_secs(30));
    }
}
