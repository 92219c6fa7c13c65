//! `POST /mcp`, the one request path, in order: concurrency limit, origin, media types, size,
//! brute-force throttle, per-IP limit, authentication, per-token and per-tenant limits, body,
//! JSON-RPC, protocol revision and session, then the method (policy, upstream, DLP) within the
//! request timeout. Every outcome is metered and logged once; every error is a JSON-RPC error
//! with a stable `error_type` and the request id as `correlation_id`.

use super::authn::{self, Refusal};
use super::cors;
use crate::app::App;
use crate::enforce::auth::{Principal, www_authenticate};
use crate::errors::{ErrorType, Failure};
use crate::gateway::Call;
use crate::mcp::jsonrpc::{self, Parsed};
use crate::mcp::protocol;
use crate::record::log::RequestLog;
use crate::record::traces::{KIND_INTERNAL, KIND_SERVER, Mark, Timeline, TraceContext, now_ns};
use airlock_schema::metrics as m;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the handler decided, before it becomes an HTTP response.
struct Outcome {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(header::HeaderName, String)>,
}

impl Outcome {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    fn accepted() -> Self {
        Self {
            status: StatusCode::ACCEPTED,
            body: None,
            headers: Vec::new(),
        }
    }
}

struct Request<'a> {
    app: &'a App,
    headers: &'a HeaderMap,
    /// The client: the TCP peer, or behind trusted proxies the address they forwarded.
    client_ip: IpAddr,
    log: RequestLog,
    timeline: Timeline,
    input_digest: Option<String>,
    /// The request's place in the audit buffer, taken at admission.
    audit_slot: Option<crate::record::audit::AuditSlot>,
}

impl Request<'_> {
    fn fail(&mut self, id: &Value, failure: Failure, modern: bool) -> Outcome {
        let mut failure = failure;
        failure.message = self.app.dlp.scrub(std::mem::take(&mut failure.message));
        self.log.error_type = Some(failure.kind.as_str());
        let status = ErrorType::status_of(&failure, modern);
        let mut outcome = Outcome::json(status, failure.to_jsonrpc(id, &self.log.request_id));
        if let Some(seconds) = failure.retry_after {
            outcome
                .headers
                .push((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            let host = self.headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let url = self.app.resource_metadata_url(host);
            outcome.headers.push((
                header::WWW_AUTHENTICATE,
                www_authenticate(&url, Some(&failure)),
            ));
        }
        outcome
    }

    fn limited(&mut self, limit: &'static str, seconds: u64) -> Failure {
        authn::limited(self.app, limit, seconds)
    }

    /// Authenticates the caller (throttle first, failures counted: `authn`), traced and logged.
    async fn authenticate(&mut self) -> Result<Principal, Failure> {
        let start = now_ns();
        let result =
            authn::authenticate(self.app, self.headers, self.client_ip, &self.log.request_id).await;
        let attributes = match &result {
            Ok(p) => vec![("tenant", Value::from(p.tenant.clone()))],
            Err(refusal) => {
                let mut attributes = vec![("error_type", refusal.failure.kind.as_str().into())];
                if let Some(stage) = refusal.stage {
                    attributes.push(("auth_stage", stage.as_str().into()));
                }
                attributes
            }
        };
        self.timeline
            .mark("auth", KIND_INTERNAL, start, attributes, result.is_err());
        result.map_err(|Refusal { stage, failure }| {
            self.log.auth_stage = stage.map(|s| s.as_str());
            // A valid token without the required groups names its subject: audit it.
            self.log.subject = failure
                .data
                .get("subject")
                .and_then(Value::as_str)
                .map(str::to_string);
            failure
        })
    }

    async fn read_body(&mut self, body: Body) -> Result<bytes::Bytes, Failure> {
        let max = self.app.config.server.max_request_bytes as usize;
        let timeout = Duration::from_millis(self.app.config.server.read_timeout_ms.max(1));
        let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect()).await;
        match collected {
            Err(_) => Err(Failure::new(
                ErrorType::ReadTimeout,
                "the request body did not arrive in time",
            )),
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(Failure::new(
                ErrorType::PayloadTooLarge,
                format!("the request body is larger than {max} bytes"),
            )),
            // Not every body error is a size problem: a malformed chunked encoding or a client
            // that went away mid-body was reported as 413 before.
            Ok(Err(_)) => Err(Failure::new(
                ErrorType::InvalidRequest,
                "the request body could not be read (malformed or incomplete)",
            )),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }

    async fn handle(&mut self, body: Body) -> Outcome {
        let app = self.app;
        let null = Value::Null;
        let Ok(_permit) = app.concurrency.clone().try_acquire_owned() else {
            return self.fail(
                &null,
                Failure::new(
                    ErrorType::Overloaded,
                    "the gateway is at capacity; retry shortly",
                )
                .retry_after(1),
                false,
            );
        };
        let request_timeout = Duration::from_millis(app.config.server.request_timeout_ms.max(1));
        self.audit_slot = app
            .audit
            .reserve(&self.log.request_id, request_timeout)
            .await;
        if self.audit_slot.is_none() {
            return self.fail(
                &null,
                Failure::new(
                    ErrorType::AuditUnavailable,
                    "the audit trail cannot record more requests right now; retry shortly",
                )
                .retry_after(5),
                false,
            );
        }
        if !cors::origin_allowed(self.app, self.headers) {
            return self.fail(
                &null,
                Failure::new(
                    ErrorType::OriginNotAllowed,
                    "this Origin may not call the gateway",
                ),
                false,
            );
        }
        if let Err(failure) = check_body_headers(self.headers) {
            return self.fail(&null, failure, false);
        }
        let max = app.config.server.max_request_bytes;
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max) {
            return self.fail(
                &null,
                Failure::new(
                    ErrorType::PayloadTooLarge,
                    format!("the request body is larger than {max} bytes"),
                ),
                false,
            );
        }
        let now = Instant::now();
        let ip = self.client_ip;
        if let Err(seconds) = app.limits.admit_ip(ip, now) {
            let failure = self.limited("ip", seconds);
            return self.fail(&null, failure, false);
        }
        let principal = match self.authenticate().await {
            Ok(principal) => principal,
            Err(failure) => return self.fail(&null, failure, false),
        };
        self.log.subject = Some(principal.subject.clone());
        self.log.tenant = (!principal.tenant.is_empty()).then(|| principal.tenant.clone());
        if let Err((limit, seconds)) =
            app.limits
                .admit_caller(&principal.subject, &principal.tenant, now)
        {
            let failure = self.limited(limit, seconds);
            return self.fail(&null, failure, false);
        }
        let bytes = match self.read_body(body).await {
            Ok(bytes) => bytes,
            Err(failure) => return self.fail(&null, failure, false),
        };
        self.input_digest = Some(crate::record::audit::digest(&bytes));
        let message = match jsonrpc::parse(&bytes) {
            Ok(Parsed::Message(message)) => message,
            Ok(Parsed::Response) => return Outcome::accepted(),
            Err((id, failure)) => {
                // With no id to answer (a notification, or an id that could not be read) there is
                // no JSON-RPC response to carry the error: MCP's transport then demands an HTTP
                // error status, so `invalid_params` is a 400 here, not the handshake era's 200.
                let no_response = id.is_null();
                return self.fail(&id, failure, no_response);
            }
        };
        self.log.mcp_method = Some(message.method.clone());
        let id = message.reply_id();
        let era = match protocol::classify(self.headers, &message) {
            Ok(era) => era,
            Err(failure) => return self.fail(&id, failure, true),
        };
        let modern = era.is_modern();
        // A session id that is present but unreadable is an unknown session, not an absent one.
        let mut era = era;
        if !modern
            && message.method != "initialize"
            && let Some(session) = self.headers.get("mcp-session-id")
        {
            let Some(session) = session
                .to_str()
                .ok()
                .and_then(|s| app.sessions.touch(s, &principal.subject))
            else {
                return self.fail(
                    &id,
                    Failure::new(
                        ErrorType::SessionNotFound,
                        "unknown or expired session; initialize again",
                    ),
                    false,
                );
            };
            // Without the header, the session's negotiated version is the request's.
            if era == protocol::Era::Handshake(None) {
                era = protocol::Era::Handshake(Some(session.protocol_version));
            }
        }
        if message.is_notification() {
            return Outcome::accepted();
        }
        let mut call = Call::new(app, &principal, ip, era);
        if app.authz.reads_request_rate() {
            call.requests_per_minute = Some(app.limits.request_rate.hit(&principal.subject, now));
        }
        let timeout = Duration::from_millis(app.config.server.request_timeout_ms.max(1));
        let result = tokio::time::timeout(timeout, call.dispatch(&message)).await;
        self.log.tool = call.tool.clone().map(|t| app.dlp.scrub(t));
        self.log.resource = call.resource.clone().map(|r| app.dlp.scrub(r));
        self.log.upstream = call.upstream.clone();
        self.log.root = call.root.clone();
        self.log.violation = call.violation.map(|v| v.as_str());
        self.log.redactions = call.redactions;
        self.timeline.marks.append(&mut call.timeline.marks);
        if let Some(decision) = &call.decision {
            self.log.decision = Some(if decision.allow { "allow" } else { "deny" });
            self.log.rule_id = decision.rule_id.clone();
        }
        match result {
            Err(_) => self.fail(
                &id,
                Failure::new(
                    ErrorType::RequestTimeout,
                    "the request took longer than the gateway's request timeout",
                ),
                modern,
            ),
            Ok(Err(failure)) => self.fail(&id, failure, modern),
            Ok(Ok(result)) => {
                let mut outcome = Outcome::json(StatusCode::OK, jsonrpc::result(&id, result));
                if let Some(session) = call.new_session {
                    outcome
                        .headers
                        .push((header::HeaderName::from_static("mcp-session-id"), session));
                }
                outcome
            }
        }
    }
}

/// The request's body must be JSON in UTF-8, sent as is, and the client must take JSON back:
/// `Content-Type`, `Content-Encoding`, `Transfer-Encoding` and `Accept`.
fn check_body_headers(headers: &HeaderMap) -> Result<(), Failure> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    // The media type itself, parameters aside: a prefix test would let `application/jsonp` or
    // `application/json-patch+json` through; a charset other than UTF-8 is not JSON-RPC's.
    let content_type = text(header::CONTENT_TYPE).unwrap_or("");
    let mut parts = content_type.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    let charset_ok = parts.all(|p| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        !name.trim().eq_ignore_ascii_case("charset")
            || matches!(
                value.trim().trim_matches('"').to_ascii_lowercase().as_str(),
                "utf-8" | "utf8"
            )
    });
    if !media_type.eq_ignore_ascii_case("application/json") || !charset_ok {
        return Err(Failure::new(
            ErrorType::UnsupportedMediaType,
            "send the JSON-RPC message as `Content-Type: application/json` (UTF-8)",
        ));
    }
    if text(header::CONTENT_ENCODING).is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return Err(Failure::new(
            ErrorType::UnsupportedMediaType,
            "send the body without `Content-Encoding`: compressed requests are not accepted",
        ));
    }
    // hyper reads the chunked framing and would pass any coding before it on undecoded.
    let mut codings = headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(first) = codings.next()
        && (codings.next().is_some()
            || !first
                .to_str()
                .is_ok_and(|c| c.trim().eq_ignore_ascii_case("chunked")))
    {
        return Err(Failure::new(
            ErrorType::MalformedHttp,
            "only `Transfer-Encoding: chunked` is accepted",
        ));
    }
    // No Accept means anything; an unreadable one (bytes beyond ASCII) accepts nothing. A
    // client that takes the event stream alone gets the JSON answer all the same.
    let accepts_json = match text(header::ACCEPT) {
        None => true,
        Some(accept) => accepts(accept, "application/json") || accepts(accept, "text/event-stream"),
    };
    if !accepts_json {
        return Err(Failure::new(
            ErrorType::NotAcceptable,
            "accept `application/json` (MCP clients send `Accept: application/json, text/event-stream`)",
        ));
    }
    Ok(())
}

/// Whether an `Accept` header admits `media_type` (`type/subtype`): a media range that matches
/// it exactly, by type (`application/*`) or wholly (`*/*`), without `q=0`.
fn accepts(accept: &str, media_type: &str) -> bool {
    let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            name.trim().eq_ignore_ascii_case("q")
                && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
        });
        let matches = range == media_type
            || range == "*/*"
            || range.strip_suffix("/*").is_some_and(|t| t == kind);
        matches && !refused
    })
}

/// Sends the request's spans when it is traced.
fn trace(app: &App, headers: &HeaderMap, log: &RequestLog, timeline: Timeline, start_ns: u64) {
    let Some(tracer) = &app.tracer else { return };
    let context = TraceContext::from_traceparent(
        headers.get("traceparent").and_then(|v| v.to_str().ok()),
        tracer.ratio,
    );
    if !context.sampled {
        return;
    }
    let mut attributes: Vec<(&'static str, Value)> = vec![
        ("http.request.method", log.method.into()),
        ("url.path", log.uri.clone().into()),
        ("http.response.status_code", log.status.into()),
        ("request_id", log.request_id.clone().into()),
        ("latency_ms", log.latency_ms.into()),
    ];
    let optional = [
        ("mcp.method", &log.mcp_method),
        ("tenant", &log.tenant),
        ("tool", &log.tool),
        ("upstream", &log.upstream),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, Value::from(v)))),
    );
    if let Some(decision) = log.decision {
        attributes.push(("decision", decision.into()));
    }
    if let Some(error_type) = log.error_type {
        attributes.push(("error_type", error_type.into()));
    }
    let server = Mark {
        name: "POST /mcp",
        kind: KIND_SERVER,
        start_ns,
        end_ns: now_ns(),
        attributes,
        error: log.status >= 500,
    };
    for span in timeline.spans(&context, server) {
        tracer.record(span);
    }
}

/// The audit event of a request: what was asked, by whom, what was decided and what happened.
fn audit_event(log: &RequestLog, input_digest: Option<String>) -> serde_json::Value {
    let refused_authentication =
        log.auth_stage.is_some() || log.error_type == Some(ErrorType::AuthThrottled.as_str());
    let action = match (log.violation, refused_authentication, &log.mcp_method) {
        (Some(_), _, _) => "security_violation".to_string(),
        (None, true, _) => "authentication".to_string(),
        (None, false, Some(method)) => method.clone(),
        (None, false, None) => format!("{} {}", log.method, log.uri),
    };
    crate::record::audit::Event::new(&action)
        .set("request_id", log.request_id.clone())
        .maybe("subject", log.subject.clone())
        .maybe("tenant", log.tenant.clone())
        .maybe("tool", log.tool.clone())
        .maybe("resource", log.resource.clone())
        .maybe("decision", log.decision)
        .maybe("rule_id", log.rule_id.clone())
        .set(
            "outcome",
            // A JSON-RPC error answered with 200 (handshake era) is a failure too.
            if log.status < 400 && log.error_type.is_none() {
                "success"
            } else {
                "failure"
            },
        )
        .set("status", log.status)
        .maybe("error_type", log.error_type)
        .maybe("auth_stage", log.auth_stage)
        .maybe("upstream", log.upstream.clone())
        .maybe("root", log.root.clone())
        .maybe("violation", log.violation)
        .maybe(
            "mcp_method",
            log.violation.and_then(|_| log.mcp_method.clone()),
        )
        .set("redactions", log.redactions)
        .set("latency_ms", log.latency_ms)
        .maybe("client_ip", log.client_ip.map(|ip| ip.to_string()))
        .maybe("input_digest", input_digest)
        .into_value()
}

/// Meters, logs and renders an outcome.
fn respond(app: &App, log: &mut RequestLog, outcome: Outcome, started: Instant) -> Response {
    log.status = outcome.status.as_u16();
    log.record(&app.metrics, started.elapsed());
    let mut response = match outcome.body {
        Some(body) => (outcome.status, axum::Json(body)).into_response(),
        None => outcome.status.into_response(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&log.request_id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in outcome.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn new_request<'a>(
    app: &'a App,
    headers: &'a HeaderMap,
    method: &'static str,
    peer: SocketAddr,
) -> Request<'a> {
    let client_ip = app.proxies.client_ip(peer.ip(), headers);
    let log = RequestLog {
        request_id: crate::record::ids::request_id(),
        method,
        uri: "/mcp".into(),
        client_ip: Some(client_ip),
        ..RequestLog::default()
    };
    Request {
        app,
        headers,
        client_ip,
        log,
        timeline: Timeline::default(),
        input_digest: None,
        audit_slot: None,
    }
}

/// `POST /mcp`. The request runs to its end on a task of its own: a client that hangs up
/// mid-call drops only the wait for the answer, not the call (the upstream may already be
/// acting on it), its audit event, log line and metrics.
pub async fn post(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    to_the_end(serve_post(app, peer, headers, body)).await
}

/// Runs a request handler on its own task, so that it finishes when the client goes away; a
/// handler that panics answers 500 in the error contract.
async fn to_the_end(handler: impl Future<Output = Response> + Send + 'static) -> Response {
    match tokio::spawn(handler).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(error_type = "internal_error", error = %error, "a request handler failed");
            let failure = Failure::new(ErrorType::InternalError, "internal error");
            let request_id = crate::record::ids::request_id();
            let mut response = (
                ErrorType::status_of(&failure, false),
                axum::Json(failure.to_jsonrpc(&Value::Null, &request_id)),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-request-id", value);
            }
            response
        }
    }
}

async fn serve_post(app: Arc<App>, peer: SocketAddr, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let start_ns = now_ns();
    app.metrics.gauge_add(m::IN_FLIGHT_REQUESTS, 1);
    let mut request = new_request(&app, &headers, "POST", peer);
    let request_id = request.log.request_id.clone();
    let outcome = crate::record::ids::with_request_id(request_id, request.handle(body)).await;
    app.metrics.gauge_add(m::IN_FLIGHT_REQUESTS, -1);
    let mut response = respond(&app, &mut request.log, outcome, started);
    cors::expose(&app, &headers, &mut response);
    let event = audit_event(&request.log, request.input_digest.take());
    record(&app, &mut request, event);
    trace(&app, &headers, &request.log, request.timeline, start_ns);
    response
}

/// Records a request's event: in the place it took at admission, or, for a request refused
/// before it had one (at capacity, or for want of room in the buffer), only if there is room.
fn record(app: &App, request: &mut Request<'_>, event: Value) {
    match request.audit_slot.take() {
        Some(slot) => slot.record(event),
        None => app.audit.record_if_room(event),
    }
}

/// `DELETE /mcp`: ends the caller's session (to the end, as `post`).
pub async fn delete(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    to_the_end(serve_delete(app, peer, headers)).await
}

async fn serve_delete(app: Arc<App>, peer: SocketAddr, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let mut request = new_request(&app, &headers, "DELETE", peer);
    let request_timeout = Duration::from_millis(app.config.server.request_timeout_ms.max(1));
    request.audit_slot = app
        .audit
        .reserve(&request.log.request_id, request_timeout)
        .await;
    let outcome = if request.audit_slot.is_none() {
        request.fail(
            &Value::Null,
            Failure::new(
                ErrorType::AuditUnavailable,
                "the audit trail cannot record more requests right now; retry shortly",
            )
            .retry_after(5),
            false,
        )
    } else {
        match request.authenticate().await {
            Err(failure) => request.fail(&Value::Null, failure, false),
            Ok(principal) => match headers.get("mcp-session-id").map(|v| v.to_str().ok()) {
                Some(Some(session)) if app.sessions.remove(session, &principal.subject) => {
                    Outcome {
                        status: StatusCode::NO_CONTENT,
                        body: None,
                        headers: Vec::new(),
                    }
                }
                // The transport's answer to a request that needs a session and names none.
                None => request.fail(
                    &Value::Null,
                    Failure::new(
                        ErrorType::InvalidRequest,
                        "name the session to end in the `Mcp-Session-Id` header",
                    ),
                    false,
                ),
                _ => request.fail(
                    &Value::Null,
                    Failure::new(ErrorType::SessionNotFound, "unknown session"),
                    false,
                ),
            },
        }
    };
    let mut response = respond(&app, &mut request.log, outcome, started);
    cors::expose(&app, &headers, &mut response);
    let event = audit_event(&request.log, None);
    record(&app, &mut request, event);
    response
}

/// `GET /mcp` (the gateway opens no server-to-client stream) and every other method but `POST`
/// and `DELETE`: 405 with `Allow`, inside the error contract (it used to be a bare 405 without a
/// JSON-RPC error or `x-request-id`), logged, metered and audited like any refusal.
pub async fn method_not_allowed(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let mut request = new_request(&app, &headers, method_name(&method), peer);
    if method == axum::http::Method::OPTIONS && cors::is_preflight(&headers) {
        let outcome = match cors::allowed_origin(&app, &headers) {
            Some(origin) => {
                request.log.status = StatusCode::NO_CONTENT.as_u16();
                request.log.record(&app.metrics, started.elapsed());
                return cors::preflight_answer(origin);
            }
            None => request.fail(
                &Value::Null,
                Failure::new(
                    ErrorType::OriginNotAllowed,
                    "this Origin may not call the gateway",
                ),
                false,
            ),
        };
        return respond(&app, &mut request.log, outcome, started);
    }
    let mut outcome = request.fail(
        &Value::Null,
        Failure::new(
            ErrorType::MethodNotAllowed,
            format!("{method} is not served on /mcp: send JSON-RPC messages with POST"),
        ),
        false,
    );
    outcome.headers.push((header::ALLOW, "POST, DELETE".into()));
    let mut response = respond(&app, &mut request.log, outcome, started);
    cors::expose(&app, &headers, &mut response);
    app.audit.record(audit_event(&request.log, None)).await;
    response
}

/// A method an operations path does not serve (`POST /live`, `GET /admin/policy/reload`): 405
/// with `Allow`, inside the error contract, logged and metered like any refusal.
pub async fn wrong_method(
    app: Arc<App>,
    peer: SocketAddr,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    allow: &'static str,
) -> Response {
    let started = Instant::now();
    let mut request = request_for_path(&app, &headers, &method, &uri, peer);
    let mut outcome = request.fail(
        &Value::Null,
        Failure::new(
            ErrorType::MethodNotAllowed,
            format!("{method} is not served on {}: use {allow}", request.log.uri),
        ),
        false,
    );
    outcome.headers.push((header::ALLOW, allow.into()));
    respond(&app, &mut request.log, outcome, started)
}

/// An HTTP method as a log field (methods beyond the standard ones are the client's to invent).
fn method_name(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// The longest path a log line repeats of a request for a path the gateway does not serve.
const LOGGED_PATH_MAX: usize = 256;

/// The 404 of a path the gateway does not serve.
fn not_found_outcome(request: &mut Request<'_>) -> Outcome {
    let path = request.log.uri.clone();
    request.fail(
        &Value::Null,
        Failure::new(
            ErrorType::NotFound,
            format!("nothing is served at `{path}`: MCP is served at POST /mcp"),
        ),
        false,
    )
}

/// A request for `uri`, which is not `/mcp`: its log line names the path (bounded).
fn request_for_path<'a>(
    app: &'a App,
    headers: &'a HeaderMap,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    peer: SocketAddr,
) -> Request<'a> {
    let mut request = new_request(app, headers, method_name(method), peer);
    let path = uri.path();
    request.log.uri = path[..path.floor_char_boundary(LOGGED_PATH_MAX)].to_string();
    request
}

/// A path the gateway does not serve: 404 inside the error contract, logged and metered.
pub async fn not_found(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let mut request = request_for_path(&app, &headers, &method, &uri, peer);
    let outcome = not_found_outcome(&mut request);
    respond(&app, &mut request.log, outcome, started)
}

/// Paths beneath `/mcp` (clients of other gateways try `/mcp/v1/...`): the caller is
/// authenticated first, so a bad token gets 401 here as on `/mcp`, and a good one learns
/// where MCP is served (404). Audited like any authentication.
pub async fn beneath(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let mut request = request_for_path(&app, &headers, &method, &uri, peer);
    let outcome = match request.authenticate().await {
        Err(failure) => request.fail(&Value::Null, failure, false),
        Ok(principal) => {
            request.log.subject = Some(principal.subject);
            not_found_outcome(&mut request)
        }
    };
    let mut response = respond(&app, &mut request.log, outcome, started);
    cors::expose(&app, &headers, &mut response);
    app.audit.record(audit_event(&request.log, None)).await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn refusal(pairs: &[(&str, &str)]) -> Option<&'static str> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(pairs);
        check_body_headers(&headers(&all))
            .err()
            .map(|f| f.kind.as_str())
    }

    #[test]
    fn accept_ranges_are_read_not_searched() {
        for ok in [
            "application/json, text/event-stream",
            "*/*",
            "application/*",
            "text/event-stream, application/json;q=0.5",
            "APPLICATION/JSON",
        ] {
            assert!(accepts(ok, "application/json"), "{ok}");
        }
        for refused in [
            "text/event-stream",
            "application/jsonx",
            "application/json;q=0",
            "application/json; q=0.0, text/html",
            "text/*",
            "",
        ] {
            assert!(!accepts(refused, "application/json"), "{refused}");
        }
    }

    #[test]
    fn bodies_must_be_plain_utf8_json() {
        assert_eq!(refusal(&[]), None);
        assert_eq!(
            refusal(&[("accept", "application/json, text/event-stream")]),
            None
        );
        assert_eq!(refusal(&[("transfer-encoding", "chunked")]), None);
        assert_eq!(refusal(&[("content-encoding", "identity")]), None);
        assert_eq!(refusal(&[("accept", "text/event-stream")]), None);
        assert_eq!(
            refusal(&[("accept", "application/jsonx")]),
            Some("not_acceptable")
        );
        assert_eq!(
            refusal(&[("accept", "application/json;q=0")]),
            Some("not_acceptable")
        );
        assert_eq!(
            refusal(&[("content-encoding", "gzip")]),
            Some("unsupported_media_type")
        );
        assert_eq!(
            refusal(&[("transfer-encoding", "gzip, chunked")]),
            Some("malformed_http")
        );
        assert_eq!(
            refusal(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked")
            ]),
            Some("malformed_http")
        );
        let latin = check_body_headers(&headers(&[(
            "content-type",
            "application/json; charset=latin-1",
        )]));
        assert_eq!(
            latin.err().map(|f| f.kind.as_str()),
            Some("unsupported_media_type")
        );
        let utf8 = check_body_headers(&headers(&[(
            "content-type",
            "application/json; charset=\"UTF-8\"",
        )]));
        assert!(utf8.is_ok());
        let jsonp = check_body_headers(&headers(&[("content-type", "application/jsonp")]));
        assert!(jsonp.is_err());
    }
}
