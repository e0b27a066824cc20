//! A minimal Chrome DevTools Protocol client for browser tests: launches headless Chromium
//! with a fresh profile, opens pages (one protocol session each, over one connection), and
//! offers what the overlay tests need (navigate,
//! evaluate JavaScript, wait for a condition, screenshot, console errors, every request URL).
//!
//! Hand-written on `tokio-tungstenite` because the few commands used here do not justify a
//! full CDP crate's generated bindings (and their build time on a 2-core machine).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// Where Debian's `chromium` package puts the browser; `CHROMIUM` overrides.
pub fn chromium_path() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// What a page did, as the protocol's events reported it.
#[derive(Default)]
struct Observed {
    console_errors: Vec<String>,
    requests: Vec<String>,
}

/// Events by session id.
type ObservedBySession = Arc<Mutex<HashMap<String, Observed>>>;

/// The DevTools connection.
struct Connection {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    observed: ObservedBySession,
    next_id: AtomicU64,
}

impl Connection {
    async fn call(&self, session: &str, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if !session.is_empty() {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| "poisoned")?.insert(id, tx);
        self.outgoing
            .send(Message::Text(message.to_string()))
            .map_err(|_| "the DevTools connection is closed")?;
        let reply = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| format!("{method}: no reply within 30 s"))?
            .map_err(|_| "the DevTools connection is closed")?;
        if let Some(error) = reply.get("error") {
            return Err(format!("{method}: {error}").into());
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }
}

/// One headless Chromium. Dropping it kills the browser.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    connection: Arc<Connection>,
    width: u32,
    height: u32,
}

/// One tab.
pub struct Page {
    connection: Arc<Connection>,
    session: String,
}

impl Browser {
    /// Starts Chromium at `path` with a `width`×`height` viewport.
    pub async fn launch(path: &Path, width: u32, height: u32) -> Result<Browser> {
        let profile = tempfile::Builder::new().prefix("browser-test-").tempdir()?;
        let mut child = Command::new(path)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-quic",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--remote-debugging-port=0",
                "--hide-scrollbars",
                &format!("--window-size={width},{height}"),
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let ws_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Ok::<_, Error>(url.trim().to_string());
                }
            }
            Err("chromium exited before listening".into())
        })
        .await
        .map_err(|_| "chromium did not start within 30 s")??;
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let (socket, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let observed: ObservedBySession = Arc::default();
        {
            let pending = pending.clone();
            let observed = observed.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Ok(value) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if let Some(id) = value.get("id").and_then(Value::as_u64) {
                        let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(value);
                        }
                    } else if let Ok(mut observed) = observed.lock() {
                        let session = value["sessionId"].as_str().unwrap_or("").to_string();
                        observe(observed.entry(session).or_default(), &value);
                    }
                }
            });
        }
        Ok(Browser {
            child,
            _profile: profile,
            connection: Arc::new(Connection {
                outgoing,
                pending,
                observed,
                next_id: AtomicU64::new(1),
            }),
            width,
            height,
        })
    }

    /// Opens a blank tab with the browser's viewport and a transparent default background.
    pub async fn new_page(&self) -> Result<Page> {
        let target = self
            .connection
            .call("", "Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = target["targetId"]
            .as_str()
            .ok_or("no targetId")?
            .to_string();
        let attached = self
            .connection
            .call(
                "",
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let page = Page {
            connection: self.connection.clone(),
            session: attached["sessionId"]
                .as_str()
                .ok_or("no sessionId")?
                .to_string(),
        };
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Network.enable",
            "Log.enable",
        ] {
            page.call(domain, json!({})).await?;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await?;
        // No white canvas behind the page: a transparent page screenshots transparent, as in OBS.
        page.call(
            "Emulation.setDefaultBackgroundColorOverride",
            json!({"color": {"r": 0, "g": 0, "b": 0, "a": 0}}),
        )
        .await?;
        Ok(page)
    }
}

impl Page {
    /// Sends one command to this page and waits for its result.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.connection.call(&self.session, method, params).await
    }

    /// Loads `url` and waits until the document has loaded.
    pub async fn goto(&self, url: &str) -> Result<()> {
        let result = self.call("Page.navigate", json!({"url": url})).await?;
        if let Some(error) = result.get("errorText").and_then(Value::as_str) {
            return Err(format!("navigate {url}: {error}").into());
        }
        self.wait_for(
            "document.readyState === 'complete'",
            Duration::from_secs(20),
        )
        .await?;
        Ok(())
    }

    /// The value of a JavaScript expression (promises are awaited).
    pub async fn eval(&self, expression: &str) -> Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(format!("{expression}: {exception}").into());
        }
        Ok(result["result"]
            .get("value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Polls `expression` until it is truthy; returns its value.
    pub async fn wait_for(&self, expression: &str, timeout: Duration) -> Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.eval(expression).await.unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if started.elapsed() > timeout {
                return Err(format!("timed out after {timeout:?} waiting for {expression}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let result = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        let data = result["data"].as_str().ok_or("no screenshot data")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(data)?)
    }

    /// A PNG of the box of the first element matching `selector` (widgets: just the widget).
    pub async fn screenshot_of(&self, selector: &str) -> Result<Vec<u8>> {
        let selector = serde_json::to_string(selector)?;
        let rect = self
            .eval(&format!(
                "(() => {{ const r = document.querySelector({selector}).getBoundingClientRect(); \
                 return {{x: r.x, y: r.y, width: Math.max(1, r.width), height: Math.max(1, r.height)}}; }})()"
            ))
            .await?;
        let mut clip = rect;
        clip["scale"] = json!(1);
        let result = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "clip": clip}),
            )
            .await?;
        let data = result["data"].as_str().ok_or("no screenshot data")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(data)?)
    }

    /// Console errors, uncaught exceptions and browser log errors (failed loads, CSP) so far.
    pub fn console_errors(&self) -> Vec<String> {
        self.observed(|o| o.console_errors.clone())
    }

    /// Every URL the page requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.observed(|o| o.requests.clone())
    }

    fn observed(&self, read: impl Fn(&Observed) -> Vec<String>) -> Vec<String> {
        self.connection
            .observed
            .lock()
            .ok()
            .and_then(|o| o.get(&self.session).map(&read))
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn observe(observed: &mut Observed, event: &Value) {
    let params = &event["params"];
    match event["method"].as_str().unwrap_or("") {
        "Runtime.consoleAPICalled" if params["type"] == "error" => {
            let text: Vec<String> = params["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    a.get("value")
                        .map(Value::to_string)
                        .or_else(|| a.get("description").map(Value::to_string))
                        .unwrap_or_default()
                })
                .collect();
            observed.console_errors.push(text.join(" "));
        }
        "Runtime.exceptionThrown" => observed
            .console_errors
            .push(params["exceptionDetails"].to_string()),
        "Log.entryAdded" if params["entry"]["level"] == "error" => observed
            .console_errors
            .push(params["entry"]["text"].as_str().unwrap_or("").to_string()),
        "Network.requestWillBeSent" => {
            if let Some(url) = params["request"]["url"].as_str() {
                observed.requests.push(url.to_string());
            }
        }
        _ => {}
    }
}

/// The RGBA of pixel (`x`, `y`) of a PNG.
pub fn pixel(png_bytes: &[u8], x: u32, y: u32) -> Result<[u8; 4]> {
    let mut decoder = png::Decoder::new(png_bytes);
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info()?;
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer)?;
    if x >= info.width || y >= info.height {
        return Err(format!("pixel {x},{y} outside {}x{}", info.width, info.height).into());
    }
    let channels = info.color_type.samples();
    let at = (y as usize * info.width as usize + x as usize) * channels;
    let p = &buffer[at..at + channels];
    Ok(match channels {
        4 => [p[0], p[1], p[2], p[3]],
        3 => [p[0], p[1], p[2], 255],
        2 => [p[0], p[0], p[0], p[1]],
        _ => [p[0], p[0], p[0], 255],
    })
}
