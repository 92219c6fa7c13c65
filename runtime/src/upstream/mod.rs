//! The upstream MCP servers. Each [`Upstream`] is an MCP client session to one server over its
//! transport: the initialize handshake, the tool/resource/prompt listings the gateway
//! aggregates, calls with the upstream's own timeout, health checks, and (for stdio) a
//! supervisor that restarts the process. A failing upstream fails only its own calls.

mod exchanged;
mod http;
pub mod integrity;
mod pool;
mod stdio;

use crate::config::{ConfigError, read_secret};
use crate::mcp::jsonrpc::Json;
use crate::record::audit::{AuditLog, Event};
use crate::record::metrics::Metrics;
use airlock_schema::metrics as m;
use airlock_schema::runtime::{NamedValue, Transport, UpstreamConfig};
pub use integrity::{Integrity, Screened, Withheld};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The protocol revision the gateway speaks to upstreams.
pub const UPSTREAM_PROTOCOL_VERSION: &str = "2025-06-18";
/// Most pages of a listing read from one upstream (a cursor cycle must not loop forever).
const MAX_PAGES: usize = 100;

#[derive(Debug, Clone)]
pub enum UpstreamError {
    /// No answer within the upstream's timeout.
    Timeout,
    /// Not reachable, not running, or the connection broke.
    Unavailable(String),
    /// Answered something that is not MCP.
    Protocol(String),
    /// The upstream's HTTP session ended; re-initialize.
    SessionExpired,
    /// A JSON-RPC error object from the upstream, relayed as is.
    Rpc(Value),
}

impl UpstreamError {
    pub fn describe(&self) -> String {
        match self {
            UpstreamError::Timeout => "no answer within the timeout".into(),
            UpstreamError::Unavailable(why) => format!("unavailable: {why}"),
            UpstreamError::Protocol(why) => format!("protocol error: {why}"),
            UpstreamError::SessionExpired => "the session expired".into(),
            UpstreamError::Rpc(error) => format!(
                "error {}",
                error.get("message").and_then(Value::as_str).unwrap_or("")
            ),
        }
    }
    pub fn error_type(&self) -> &'static str {
        match self {
            UpstreamError::Timeout => "upstream_timeout",
            UpstreamError::Unavailable(_) | UpstreamError::SessionExpired => "upstream_unavailable",
            UpstreamError::Protocol(_) => "upstream_error",
            UpstreamError::Rpc(_) => "upstream_rpc_error",
        }
    }
}

enum Link {
    Http(Box<http::HttpTransport>),
    Stdio(Arc<stdio::StdioTransport>),
}

/// What the gateway knows about an upstream's offer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Catalog {
    /// The tools that may be served (pinned and unchanged, or screened).
    pub tools: Vec<Value>,
    /// The tools listed but withheld, and why (`integrity`).
    pub withheld: std::collections::BTreeMap<String, Withheld>,
    pub resources: Vec<Value>,
    pub resource_templates: Vec<Value>,
    pub prompts: Vec<Value>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Starting,
    Up,
    Down,
}

#[derive(Clone, Debug, Serialize)]
pub struct UpstreamState {
    pub status: Status,
    pub last_error: Option<String>,
    /// True once the first initialize attempt finished, successfully or not (readiness).
    pub attempted: bool,
    pub restarts: u64,
    #[serde(skip)]
    pub catalog: Arc<Catalog>,
    #[serde(skip)]
    pub capabilities: Value,
}

pub struct Upstream {
    pub config: UpstreamConfig,
    link: Link,
    next_id: AtomicU64,
    state: Mutex<UpstreamState>,
    handshake: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    integrity: Integrity,
    /// Where drifts and withheld tools are recorded (not in `airlock doctor`).
    audit: Option<Arc<AuditLog>>,
    /// The drifts (tool, new hash) and withholdings already reported: each once.
    reported: Mutex<std::collections::BTreeSet<(String, String)>>,
}

/// Why an upstream cannot be set up at start (its calls would all fail).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A header or environment value's Secret file cannot be read.
    #[error("upstream {upstream}: {source}")]
    Secret {
        upstream: String,
        #[source]
        source: ConfigError,
    },
    /// The URL does not parse.
    #[error("upstream {upstream}: invalid URL {url}: {source}")]
    Url {
        upstream: String,
        url: String,
        #[source]
        source: <reqwest::Url as std::str::FromStr>::Err,
    },
    /// A configured header cannot be sent.
    #[error("upstream {upstream}: {source}")]
    Header {
        upstream: String,
        #[source]
        source: http::HeaderError,
    },
}

/// Why `GET healthCheck.path` failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("GET {target} answered {status}")]
    Status {
        target: reqwest::Url,
        status: reqwest::StatusCode,
    },
    #[error("GET {target}: {}", crate::errors::error_chain(.source))]
    Unreachable {
        target: reqwest::Url,
        #[source]
        source: reqwest::Error,
    },
}

fn resolve(values: &[NamedValue]) -> Result<Vec<(String, String)>, ConfigError> {
    values
        .iter()
        .map(|v| match (&v.value, &v.value_file) {
            (Some(value), _) => Ok((v.name.clone(), value.clone())),
            (None, Some(file)) => read_secret(file).map(|value| (v.name.clone(), value)),
            (None, None) => Ok((v.name.clone(), String::new())),
        })
        .collect()
}

/// A JSON-RPC request to an upstream, serialized from what the caller holds.
#[derive(Serialize)]
struct Outgoing<'a, P: ?Sized> {
    jsonrpc: &'static str,
    id: &'a Value,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

/// A response message as it came: the text of an HTTP upstream's JSON answer, or a tree (a
/// stdio line or an SSE event, which were parsed to find the response among them).
enum Received {
    Text(bytes::Bytes),
    Tree(Value),
}

/// A response with a result, read without parsing the result into a tree. An `"error": null`
/// beside the result (JSON-RPC 1.0's habit) reads as no error.
#[derive(serde::Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<Value>,
}

fn not_json(error: serde_json::Error) -> UpstreamError {
    UpstreamError::Protocol(format!("the response is not JSON: {error}"))
}

/// The `result` of a response tree, taken out of it (not copied), or its `error`.
fn result_of(response: Value) -> Result<Value, UpstreamError> {
    let Value::Object(mut response) = response else {
        return Err(UpstreamError::Protocol(
            "a response that is not an object".into(),
        ));
    };
    if let Some(error) = response.remove("error") {
        return Err(UpstreamError::Rpc(error));
    }
    response
        .remove("result")
        .ok_or_else(|| UpstreamError::Protocol("a response without result or error".into()))
}

impl Upstream {
    pub fn new(
        config: &UpstreamConfig,
        client: reqwest::Client,
        metrics: Arc<Metrics>,
        integrity: Integrity,
        audit: Option<Arc<AuditLog>>,
    ) -> Result<Arc<Self>, SetupError> {
        let secret = |source| SetupError::Secret {
            upstream: config.name.clone(),
            source,
        };
        let link = match &config.transport {
            Transport::Http { url, headers } => {
                let headers = resolve(headers).map_err(secret)?;
                let url = reqwest::Url::parse(url).map_err(|source| SetupError::Url {
                    upstream: config.name.clone(),
                    url: url.clone(),
                    source,
                })?;
                let pooled = pool::Pooled::tcp(url.as_str());
                let transport = http::HttpTransport::new(
                    http::Connector::Tcp {
                        client,
                        url,
                        pooled,
                    },
                    &headers,
                )
                .map_err(|source| SetupError::Header {
                    upstream: config.name.clone(),
                    source,
                })?;
                Link::Http(Box::new(transport))
            }
            Transport::Unix { socket } => Link::Http(Box::new(
                http::HttpTransport::new(
                    http::Connector::Unix(pool::Pooled::unix(std::path::Path::new(socket))),
                    &[],
                )
                .expect("no configured headers"),
            )),
            Transport::Stdio {
                command,
                env,
                working_dir,
            } => {
                let env = resolve(env).map_err(secret)?;
                Link::Stdio(Arc::new(stdio::StdioTransport::new(
                    &config.name,
                    command.clone(),
                    env,
                    working_dir.clone(),
                )))
            }
        };
        metrics.set(m::UPSTREAM_UP, &[("upstream", &config.name)], 0);
        Ok(Arc::new(Self {
            config: config.clone(),
            link,
            next_id: AtomicU64::new(1),
            state: Mutex::new(UpstreamState {
                status: Status::Starting,
                last_error: None,
                attempted: false,
                restarts: 0,
                catalog: Arc::default(),
                capabilities: Value::Null,
            }),
            handshake: tokio::sync::Mutex::new(()),
            metrics,
            integrity,
            audit,
            reported: Mutex::default(),
        }))
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.timeout_ms.max(1))
    }
    pub fn state(&self) -> UpstreamState {
        self.state.lock().expect("upstream state lock").clone()
    }
    pub fn catalog(&self) -> Arc<Catalog> {
        self.state
            .lock()
            .expect("upstream state lock")
            .catalog
            .clone()
    }

    fn set_status(&self, status: Status, error: Option<String>) {
        let up = matches!(status, Status::Up);
        let mut state = self.state.lock().expect("upstream state lock");
        state.status = status;
        state.attempted = true;
        if error.is_some() || up {
            state.last_error = error;
        }
        self.metrics.set(
            m::UPSTREAM_UP,
            &[("upstream", &self.config.name)],
            i64::from(up),
        );
    }

    /// Sends one request and takes the result out of its response, as a tree (the handshake
    /// and the listings, which the gateway reads).
    async fn send<P: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        params: Option<&P>,
        timeout: Duration,
    ) -> Result<Value, UpstreamError> {
        let response = match self.exchange(method, params, timeout).await? {
            Received::Text(bytes) => serde_json::from_slice(&bytes).map_err(not_json)?,
            Received::Tree(response) => response,
        };
        result_of(response)
    }

    /// Sends one request and takes the result out of its response as the client will get it:
    /// an HTTP upstream's JSON answer as its text, never parsed into a tree.
    async fn send_forwarded<P: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        params: &P,
        timeout: Duration,
    ) -> Result<Json, UpstreamError> {
        match self.exchange(method, Some(params), timeout).await? {
            Received::Text(bytes) => match serde_json::from_slice::<Response<'_>>(&bytes) {
                Ok(Response {
                    result: Some(result),
                    error: None,
                }) => Ok(Json::Text(result.to_owned())),
                // Anything else (an error, a null or missing result, a duplicate member, not an
                // object) is read as a tree, as `send` reads it.
                _ => serde_json::from_slice(&bytes)
                    .map_err(not_json)
                    .and_then(result_of)
                    .map(Json::Tree),
            },
            Received::Tree(response) => result_of(response).map(Json::Tree),
        }
    }

    /// Sends one request and returns the response message. The request is written from
    /// borrowed parts (`Outgoing`): the params are never copied into a message tree.
    async fn exchange<P: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        params: Option<&P>,
        timeout: Duration,
    ) -> Result<Received, UpstreamError> {
        let id = Value::from(self.next_id.fetch_add(1, Ordering::Relaxed));
        let message = Outgoing {
            jsonrpc: "2.0",
            id: &id,
            method,
            params,
        };
        match &self.link {
            Link::Http(http) => match http.post(&message, Some(&id), timeout).await? {
                http::Reply::Json(bytes) => Ok(Received::Text(bytes)),
                http::Reply::Event(response) => Ok(Received::Tree(response)),
                http::Reply::Accepted => Err(UpstreamError::Protocol(
                    "a request was answered 202 Accepted".into(),
                )),
            },
            Link::Stdio(stdio) => stdio
                .request(&id, &message, timeout)
                .await
                .map(Received::Tree),
        }
    }

    async fn notify(&self, method: &str) -> Result<(), UpstreamError> {
        // Rare (the handshake's `initialized`): a small tree is fine here.
        let message = json!({"jsonrpc": "2.0", "method": method});
        match &self.link {
            Link::Http(http) => http.post(&message, None, self.timeout()).await.map(|_| ()),
            Link::Stdio(stdio) => stdio.notify(&message).await,
        }
    }

    /// The MCP handshake and the listings; marks the upstream up or down.
    pub async fn connect(&self) -> Result<(), UpstreamError> {
        let _serial = self.handshake.lock().await;
        let result = self.handshake_and_list().await;
        match &result {
            Ok(()) => {
                let catalog = self.catalog();
                tracing::info!(upstream = %self.config.name, tools = catalog.tools.len(), resources = catalog.resources.len(), prompts = catalog.prompts.len(), "upstream initialized");
                self.set_status(Status::Up, None);
            }
            Err(error) => {
                tracing::warn!(upstream = %self.config.name, error = %error.describe(), error_type = error.error_type(), "upstream initialize failed");
                self.set_status(Status::Down, Some(error.describe()));
            }
        }
        result
    }

    async fn handshake_and_list(&self) -> Result<(), UpstreamError> {
        if let Link::Http(http) = &self.link {
            http.reset_session();
        }
        let params = json!({
            "protocolVersion": UPSTREAM_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "airlock", "version": env!("CARGO_PKG_VERSION")}
        });
        let init = self
            .send("initialize", Some(&params), self.timeout())
            .await?;
        if let Link::Http(http) = &self.link {
            let version = init
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or(UPSTREAM_PROTOCOL_VERSION);
            http.set_protocol_version(version);
        }
        self.notify("notifications/initialized").await?;
        let capabilities = init.get("capabilities").cloned().unwrap_or(Value::Null);
        let catalog = self.list_catalog(&capabilities).await?;
        let mut state = self.state.lock().expect("upstream state lock");
        state.catalog = Arc::new(catalog);
        state.capabilities = capabilities;
        Ok(())
    }

    /// Lists the catalog again on the session there is (a stdio server's list changed, or a
    /// periodic check): no new handshake, which a server may refuse on a live session.
    async fn relist(&self) -> Result<(), UpstreamError> {
        let _serial = self.handshake.lock().await;
        let capabilities = self.state().capabilities.clone();
        let catalog = self.list_catalog(&capabilities).await?;
        self.state.lock().expect("upstream state lock").catalog = Arc::new(catalog);
        Ok(())
    }

    /// What the upstream offers, under the capabilities it announced.
    async fn list_catalog(&self, capabilities: &Value) -> Result<Catalog, UpstreamError> {
        let mut catalog = Catalog::default();
        if capabilities.get("tools").is_some() {
            let screened = self
                .integrity
                .screen(self.list("tools/list", "tools").await?);
            self.report(&screened).await;
            catalog.tools = screened.served;
            catalog.withheld = screened.withheld;
        }
        if capabilities.get("resources").is_some() {
            catalog.resources = self
                .list("resources/list", "resources")
                .await
                .unwrap_or_default();
            catalog.resource_templates = self
                .list("resources/templates/list", "resourceTemplates")
                .await
                .unwrap_or_default();
        }
        if capabilities.get("prompts").is_some() {
            catalog.prompts = self
                .list("prompts/list", "prompts")
                .await
                .unwrap_or_default();
        }
        Ok(catalog)
    }

    /// Reports, once each, a drift and a tool withheld for its markers or for want of a pin:
    /// a log line, the metrics, an audit event.
    async fn report(&self, screened: &Screened) {
        let upstream = self.config.name.as_str();
        self.metrics.set(
            m::TOOLS_WITHHELD,
            &[("upstream", upstream)],
            screened.withheld.len() as i64,
        );
        for drift in &screened.drifted {
            if !self.first_report(&drift.tool, &drift.actual) {
                continue;
            }
            let served = !screened.withheld.contains_key(&drift.tool);
            tracing::warn!(upstream, tool = %drift.tool, pinned = %drift.pinned, actual = %drift.actual, served, error_type = "tool_definition_changed", "a tool's definition no longer matches its pin");
            self.metrics.inc(
                m::TOOL_DRIFT_TOTAL,
                &[("upstream", upstream), ("tool", &drift.tool)],
            );
            self.audit_event(
                Event::new("tool_drift")
                    .set("upstream", upstream)
                    .set("tool", drift.tool.clone())
                    .set("pinned_hash", drift.pinned.clone())
                    .set("actual_hash", drift.actual.clone())
                    .set("outcome", if served { "served" } else { "withheld" }),
            )
            .await;
        }
        for (tool, withheld) in &screened.withheld {
            let reason = match withheld {
                Withheld::DefinitionChanged { .. } => continue,
                Withheld::NotPinned => "tool_not_pinned".to_string(),
                Withheld::Poisoned { markers } => markers
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            if !self.first_report(tool, &reason) {
                continue;
            }
            tracing::warn!(upstream, tool = %tool, reason = %reason, error_type = "tool_withheld", "a tool is withheld");
            self.audit_event(
                Event::new("tool_withheld")
                    .set("upstream", upstream)
                    .set("tool", tool.clone())
                    .set("reason", reason),
            )
            .await;
        }
    }

    /// True the first time `(tool, what)` is reported.
    fn first_report(&self, tool: &str, what: &str) -> bool {
        self.reported
            .lock()
            .expect("reported lock")
            .insert((tool.to_string(), what.to_string()))
    }

    async fn audit_event(&self, event: Event) {
        if let Some(audit) = &self.audit {
            audit.record(event).await;
        }
    }

    async fn list(&self, method: &str, key: &str) -> Result<Vec<Value>, UpstreamError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let page = self.send(method, params.as_ref(), self.timeout()).await?;
            if let Some(Value::Array(found)) = page.get(key) {
                items.extend(found.iter().cloned());
            }
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) if Some(next) != cursor.as_deref() => cursor = Some(next.to_string()),
                _ => return Ok(items),
            }
        }
        Ok(items)
    }

    /// Calls the upstream for a client: one retry after a re-initialize when its session ended.
    pub async fn call<P: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Json, UpstreamError> {
        let started = Instant::now();
        let mut result = self.send_forwarded(method, params, self.timeout()).await;
        if matches!(result, Err(UpstreamError::SessionExpired)) && self.connect().await.is_ok() {
            result = self.send_forwarded(method, params, self.timeout()).await;
        }
        self.metrics.observe(
            m::UPSTREAM_DURATION_SECONDS,
            &[("upstream", &self.config.name)],
            started.elapsed().as_secs_f64(),
        );
        if let Err(error) = &result {
            self.metrics.inc(
                m::UPSTREAM_ERRORS_TOTAL,
                &[
                    ("upstream", &self.config.name),
                    ("error_type", error.error_type()),
                ],
            );
            if matches!(error, UpstreamError::Unavailable(_)) {
                self.set_status(Status::Down, Some(error.describe()));
            }
        }
        result
    }

    /// Keeps the upstream connected: for stdio, restarts the process with backoff when it
    /// exits, and pings and re-lists it on the health-check interval; for HTTP, retries a
    /// failed handshake and probes on the interval.
    pub async fn run(self: Arc<Self>) {
        match &self.link {
            Link::Stdio(stdio) => self.clone().supervise_stdio(stdio.clone()).await,
            Link::Http(_) => self.clone().supervise_http().await,
        }
    }

    async fn supervise_stdio(self: Arc<Self>, process: Arc<stdio::StdioTransport>) {
        let mut backoff = Duration::from_millis(250);
        loop {
            let started = Instant::now();
            match process.spawn() {
                Ok(()) => {
                    let _ = self.connect().await;
                    let watcher = self.clone().refresh_on_list_changed(process.clone());
                    tokio::select! {
                        () = process.wait_exit() => {}
                        () = watcher => {}
                        () = self.check_periodically() => {}
                    }
                    self.set_status(Status::Down, Some("the process exited".into()));
                }
                Err(error) => self.set_status(Status::Down, Some(error.describe())),
            }
            if process.is_shutting_down() {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_millis(250);
            }
            self.state.lock().expect("upstream state lock").restarts += 1;
            tracing::info!(upstream = %self.config.name, backoff_ms = backoff.as_millis() as u64, "restarting upstream process");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    async fn refresh_on_list_changed(self: Arc<Self>, process: Arc<stdio::StdioTransport>) {
        loop {
            process.list_changed.notified().await;
            self.check_session().await;
        }
    }

    /// The stdio health check (`healthCheck`, on by default): every interval, a `ping` and a
    /// fresh listing, so a server that changes what it offers without notifying is re-listed,
    /// and one that stops answering is reported down.
    async fn check_periodically(&self) {
        let Some(check) = &self.config.health_check else {
            return std::future::pending().await;
        };
        let interval = Duration::from_millis(check.interval_ms.max(1000));
        loop {
            tokio::time::sleep(interval).await;
            self.check_session().await;
        }
    }

    /// A `ping` and a fresh listing on the live session.
    async fn check_session(&self) {
        let checked = match self.send::<Value>("ping", None, self.timeout()).await {
            Ok(_) => self.relist().await,
            Err(error) => Err(error),
        };
        match checked {
            Ok(()) => self.set_status(Status::Up, None),
            Err(error) => {
                tracing::warn!(upstream = %self.config.name, error = %error.describe(), error_type = error.error_type(), "upstream health check failed");
                self.set_status(Status::Down, Some(error.describe()));
            }
        }
    }

    async fn supervise_http(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let up = matches!(self.state().status, Status::Up);
            if up {
                backoff = Duration::from_millis(500);
                let interval = self
                    .config
                    .health_check
                    .as_ref()
                    .map_or(Duration::from_secs(30), |h| {
                        Duration::from_millis(h.interval_ms.max(1000))
                    });
                tokio::time::sleep(interval).await;
                if self.config.health_check.is_some() {
                    self.health_check().await;
                }
            } else {
                // An upstream whose health path fails stays down even if MCP answers.
                if let Some(Err(error)) = self.path_probe().await {
                    self.set_status(Status::Down, Some(error.to_string()));
                } else {
                    let _ = self.connect().await;
                }
                if !matches!(self.state().status, Status::Up) {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One connection attempt outside the supervisor (`airlock doctor`): starts a stdio
    /// process first; call [`Upstream::shutdown`] afterwards.
    pub async fn probe(&self) -> Result<(), UpstreamError> {
        if let Link::Stdio(stdio) = &self.link {
            stdio.spawn()?;
        }
        self.connect().await
    }

    /// `GET healthCheck.path`, for HTTP upstreams that configure one.
    async fn path_probe(&self) -> Option<Result<(), ProbeError>> {
        let path = self.config.health_check.as_ref()?.path.as_deref()?;
        match &self.link {
            Link::Http(http) => http.probe(path, self.timeout()).await,
            Link::Stdio(_) => None,
        }
    }

    /// One periodic probe: `GET healthCheck.path` when the upstream is HTTP and has one (a
    /// failed probe marks it down until a handshake succeeds again), otherwise a re-handshake.
    async fn health_check(&self) {
        match self.path_probe().await {
            Some(Ok(())) => {}
            Some(Err(error)) => {
                tracing::warn!(upstream = %self.config.name, error = %error, error_type = "upstream_unavailable", "upstream health check failed");
                self.set_status(Status::Down, Some(error.to_string()));
            }
            None => {
                let _ = self.connect().await;
            }
        }
    }

    pub fn shutdown(&self) {
        if let Link::Stdio(stdio) = &self.link {
            stdio.shutdown();
        }
    }
}
