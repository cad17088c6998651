//! A small WebDriver client driving headless Chromium through `chromedriver` on loopback: just the commands the
//! report test needs (navigate, execute script, find and click elements, type, hover, screenshot, browser log).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The browser and driver executables.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Chromium.
    pub chromium: PathBuf,
    /// chromedriver.
    pub driver: PathBuf,
}

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

impl Browser {
    /// Find Chromium and chromedriver (`CCC_CHROMIUM` / `CCC_CHROMEDRIVER` override the search of `PATH`).
    pub fn find() -> Result<Browser, String> {
        let from_env = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_file());
        let chromium = from_env("CCC_CHROMIUM")
            .or_else(|| which(&["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]))
            .ok_or("no Chromium found (install Debian's `chromium` package, or set CCC_CHROMIUM)")?;
        let driver = from_env("CCC_CHROMEDRIVER")
            .or_else(|| which(&["chromedriver"]))
            .ok_or("no chromedriver found (install Debian's `chromium-driver` package, or set CCC_CHROMEDRIVER)")?;
        Ok(Browser { chromium, driver })
    }
}

/// A running chromedriver with one browser session; both end on drop.
pub struct Session {
    driver: Child,
    agent: ureq::Agent,
    base: String,
    id: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

impl Session {
    /// Start chromedriver and a headless Chromium with a fresh profile and a `width` × `height` window.
    pub fn start(browser: &Browser, width: u32, height: u32) -> Session {
        let port = free_port();
        let driver = Command::new(&browser.driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.driver.display()));
        // Loopback only, and never through a proxy from the environment.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let mut session = Session { driver, agent, base, id: String::new(), _profile: profile };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = session.raw("GET", "/status", None).ok().and_then(|v| v["value"]["ready"].as_bool());
            if ready == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            "--force-color-profile=srgb".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", session._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser.chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let v = session.raw("POST", "/session", Some(caps)).expect("new session");
        session.id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {v}"))
            .to_string();
        session
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(b)) => self.agent.post(&url).header("Content-Type", "application/json").send(b.to_string()),
            (_, None) => self.agent.post(&url).header("Content-Type", "application/json").send("{}"),
        };
        let mut resp = resp.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(|e| format!("{method} {path}: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
        if status >= 400 {
            return Err(format!("{method} {path}: HTTP {status}: {}", v["value"]));
        }
        Ok(v)
    }

    /// A command of this session; panics with the driver's message on failure.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{}", self.id, path);
        match self.raw(method, &p, body) {
            Ok(v) => v["value"].clone(),
            Err(e) => panic!("webdriver: {e}"),
        }
    }

    /// Open a local file.
    pub fn open(&self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Run `script` (a function body; `arguments` holds `args`) and return its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Poll `script` until it returns `true`.
    pub fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.js(script, json!([])) != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element matching a CSS selector.
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT_KEY].as_str().unwrap_or_else(|| panic!("no element `{css}`: {v}")).to_string()
    }

    /// A real (pointer) click on the element matching `css`, scrolled to the middle of the viewport first.
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.js(
            "arguments[0].scrollIntoView({block: 'center', inline: 'nearest', behavior: 'instant'});",
            json!([{ ELEMENT_KEY: e }]),
        );
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Type `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({ "text": text })));
    }

    /// Clear the input matching `css`.
    pub fn clear(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
    }

    /// Move the mouse to the centre of the element matching `css`.
    pub fn hover(&self, css: &str) {
        let e = self.find(css);
        let actions = json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 0, "origin": {ELEMENT_KEY: e}, "x": 0, "y": 0}]}]});
        self.cmd("POST", "/actions", Some(actions));
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("base64 screenshot")).unwrap()
    }

    /// Every request the browser made since the last call (from the DevTools network events of the performance
    /// log) as `(URL of the document that made it, requested URL)`: documents, images, scripts, anything.
    pub fn requests(&self) -> Vec<(String, String)> {
        let v = self.cmd("POST", "/se/log", Some(json!({"type": "performance"})));
        let mut urls = Vec::new();
        for entry in v.as_array().into_iter().flatten() {
            let Some(msg) = entry["message"].as_str() else { continue };
            let Ok(m) = serde_json::from_str::<Value>(msg) else { continue };
            let m = &m["message"];
            if m["method"] == "Network.requestWillBeSent" {
                if let Some(url) = m["params"]["request"]["url"].as_str() {
                    let doc = m["params"]["documentURL"].as_str().unwrap_or("");
                    urls.push((doc.to_string(), url.to_string()));
                }
            }
        }
        urls
    }

    /// The browser's console log since the last call: `(level, message)`.
    pub fn console(&self) -> Vec<(String, String)> {
        let v = self.cmd("POST", "/se/log", Some(json!({"type": "browser"})));
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (e["level"].as_str().unwrap_or("").to_string(), e["message"].as_str().unwrap_or("").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.id), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
