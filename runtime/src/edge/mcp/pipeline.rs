//! The request path as one pipeline. A request is a short sequence of named stages, each
//! returning `Result<_, Failure>` and chained with `?` (`serve_post` reads as the order they run
//! in); [`Pipeline::answer`] is the one place a result or a `Failure` becomes a response:
//! the JSON-RPC body, redacted by DLP (the response writer takes only a [`Redacted`] body),
//! the status for the protocol revision, `Retry-After`, `WWW-Authenticate`. Every stage writes
//! what it learns into the request's [`Exchange`], from which the log line, metrics, audit
//! event and trace span are built once the response is decided.

use super::headers;
use crate::app::App;
use crate::edge::authn::{self, Refusal, Throttle};
use crate::edge::cors;
use crate::enforce::auth::{Principal, www_authenticate};
use crate::enforce::dlp::{Counts, Redacted, RedactedBody};
use crate::errors::{ErrorStatus, ErrorType, Failure};
use crate::gateway::{Call, Reply};
use crate::mcp::jsonrpc::{self, Message, Parsed};
use crate::mcp::protocol::{self, Era, MCP_SESSION_ID};
use crate::record::audit::AuditSlot;
use crate::record::exchange::Exchange;
use crate::record::traces::{KIND_INTERNAL, Timeline, now_ns};
use airlock_schema::metrics as m;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");
const TRACEPARENT: header::HeaderName = header::HeaderName::from_static("traceparent");

/// What a request that was not refused gets.
pub enum Answer {
    /// A JSON-RPC result.
    Result(Reply),
    /// A notification or a client's own response: 202, no body.
    Accepted,
    /// `DELETE /mcp` ended the session: 204.
    Ended,
    /// A JSON document that is not a JSON-RPC message (the admin reload's outcome).
    Document(StatusCode, Value),
}

/// The response about to be written; its body passed DLP.
pub struct Outcome {
    status: StatusCode,
    body: Option<RedactedBody>,
    headers: Vec<(header::HeaderName, String)>,
}

impl Outcome {
    /// Adds a header (`Allow` of a 405).
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// One request on its way through the gateway.
pub struct Pipeline<'a> {
    pub app: &'a App,
    headers: &'a HeaderMap,
    /// The client: the TCP peer, or behind trusted proxies the address they forwarded.
    client_ip: IpAddr,
    pub exchange: Exchange,
    audit_slot: Option<AuditSlot>,
    /// The JSON-RPC id to answer with, once the message was read.
    reply_id: Value,
    /// How errors reach the client; the protocol revision decides, once known.
    statuses: ErrorStatus,
    started: Instant,
    start_ns: u64,
}

impl<'a> Pipeline<'a> {
    pub fn new(app: &'a App, headers: &'a HeaderMap, method: &'static str, peer: IpAddr) -> Self {
        let client_ip = app.proxies.client_ip(peer, headers);
        Self {
            app,
            headers,
            client_ip,
            exchange: Exchange {
                request_id: crate::record::ids::request_id(),
                method,
                uri: "/mcp".into(),
                client_ip: Some(client_ip),
                timeline: match app.tracer {
                    Some(_) => Timeline::recording(),
                    None => Timeline::default(),
                },
                ..Exchange::default()
            },
            audit_slot: None,
            reply_id: Value::Null,
            statuses: ErrorStatus::InBody,
            started: Instant::now(),
            start_ns: now_ns(),
        }
    }

    /// `POST /mcp`, stage by stage.
    pub async fn serve_post(&mut self, body: Body) -> Result<Answer, Failure> {
        let _serving = self.admit()?;
        self.reserve_audit().await?;
        self.check_origin()?;
        headers::check_body_headers(self.headers)?;
        self.check_declared_size()?;
        let now = Instant::now();
        self.limit_ip(now).await?;
        let principal = self.authenticate(Throttle::Checked).await?;
        self.limit_caller(&principal, now).await?;
        let bytes = self.read_body(body).await?;
        let Some(message) = self.parse(&bytes)? else {
            return Ok(Answer::Accepted);
        };
        let era = self.revision(&message)?;
        let era = self.session(&message, era, &principal).await?;
        if message.is_notification() {
            return Ok(Answer::Accepted);
        }
        let reply = self.call(&message, &principal, era, now).await?;
        Ok(Answer::Result(reply))
    }

    /// `DELETE /mcp`: ends the caller's session.
    pub async fn serve_delete(&mut self) -> Result<Answer, Failure> {
        self.reserve_audit().await?;
        let principal = self.authenticate(Throttle::Check).await?;
        self.end_session(&principal).await
    }

    /// Concurrency: a request beyond `server.maxConcurrentRequests` is refused at once.
    fn admit(&self) -> Result<OwnedSemaphorePermit, Failure> {
        self.app
            .concurrency
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                Failure::new(
                    ErrorType::Overloaded,
                    "the gateway is at capacity; retry shortly",
                )
                .retry_after(1)
            })
    }

    /// A place in the audit buffer for this request's event, before it does anything: a
    /// request the trail cannot record is refused (see `record::audit`).
    pub async fn reserve_audit(&mut self) -> Result<(), Failure> {
        let wait = Duration::from_millis(self.app.config.server.request_timeout_ms.max(1));
        self.audit_slot = self
            .app
            .audit
            .reserve(&self.exchange.request_id, wait)
            .await;
        match self.audit_slot {
            Some(_) => Ok(()),
            None => Err(Failure::new(
                ErrorType::AuditUnavailable,
                "the audit trail cannot record more requests right now; retry shortly",
            )
            .retry_after(5)),
        }
    }

    fn check_origin(&self) -> Result<(), Failure> {
        if cors::origin_allowed(self.app, self.headers) {
            Ok(())
        } else {
            Err(Failure::new(
                ErrorType::OriginNotAllowed,
                "this Origin may not call the gateway",
            ))
        }
    }

    /// A declared body over the limit is refused before it is read.
    fn check_declared_size(&self) -> Result<(), Failure> {
        let max = self.app.config.server.max_request_bytes;
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(n) if n > max => Err(Failure::new(
                ErrorType::PayloadTooLarge,
                format!("the request body is larger than {max} bytes"),
            )),
            _ => Ok(()),
        }
    }

    /// The client IP's failed-authentication block and its limit (one round trip to a shared
    /// store).
    async fn limit_ip(&self, now: Instant) -> Result<(), Failure> {
        self.app
            .limits
            .admit_ip(self.client_ip, now)
            .await
            .map_err(|refusal| authn::not_admitted(self.app, refusal))
    }

    /// Authenticates the caller (throttle first, unless `limit_ip` checked it; failures
    /// counted: `authn`), traced and recorded.
    pub async fn authenticate(
        &mut self,
        throttle: Throttle,
    ) -> Result<std::sync::Arc<Principal>, Failure> {
        let start = now_ns();
        let result = authn::authenticate(
            self.app,
            self.headers,
            self.client_ip,
            &self.exchange.request_id,
            throttle,
        )
        .await;
        let attributes = || match &result {
            Ok(p) => vec![("tenant", Value::from(p.tenant.clone()))],
            Err(refusal) => {
                let mut attributes = vec![("error_type", refusal.failure.kind.as_str().into())];
                if let Some(stage) = refusal.stage {
                    attributes.push(("auth_stage", stage.as_str().into()));
                }
                attributes
            }
        };
        self.exchange
            .timeline
            .mark("auth", KIND_INTERNAL, start, attributes, result.is_err());
        match result {
            Ok(principal) => {
                self.exchange.subject = Some(principal.subject.clone());
                self.exchange.tenant =
                    (!principal.tenant.is_empty()).then(|| principal.tenant.clone());
                Ok(principal)
            }
            Err(Refusal { stage, failure }) => {
                self.exchange.auth_stage = stage;
                // A valid token without the required groups names its subject: audit it.
                self.exchange.subject = failure
                    .data
                    .get("subject")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Err(failure)
            }
        }
    }

    /// The caller's token and tenant limits (one round trip to a shared store).
    async fn limit_caller(&self, principal: &Principal, now: Instant) -> Result<(), Failure> {
        self.app
            .limits
            .admit_caller(&principal.subject, &principal.tenant, now)
            .await
            .map_err(|refusal| authn::not_admitted(self.app, refusal))
    }

    /// The body, within the size limit and the read timeout; digested for the audit trail.
    async fn read_body(&mut self, body: Body) -> Result<bytes::Bytes, Failure> {
        let max = self.app.config.server.max_request_bytes as usize;
        let timeout = Duration::from_millis(self.app.config.server.read_timeout_ms.max(1));
        let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect()).await;
        let bytes = match collected {
            Err(_) => {
                return Err(Failure::new(
                    ErrorType::ReadTimeout,
                    "the request body did not arrive in time",
                ));
            }
            Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(Failure::new(
                    ErrorType::PayloadTooLarge,
                    format!("the request body is larger than {max} bytes"),
                ));
            }
            // Not every body error is a size problem: a malformed chunked encoding or a client
            // that went away mid-body was reported as 413 before.
            Ok(Err(_)) => {
                return Err(Failure::new(
                    ErrorType::InvalidRequest,
                    "the request body could not be read (malformed or incomplete)",
                ));
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        self.exchange.input_digest = Some(crate::record::audit::digest(&bytes));
        Ok(bytes)
    }

    /// The JSON-RPC message; `None` for a client's own response (acknowledged with 202).
    fn parse(&mut self, bytes: &[u8]) -> Result<Option<Message>, Failure> {
        match jsonrpc::parse(bytes) {
            Ok(Parsed::Message(message)) => {
                self.exchange.mcp_method = Some(message.method.clone());
                self.reply_id = message.reply_id();
                Ok(Some(message))
            }
            Ok(Parsed::Response) => Ok(None),
            Err((id, failure)) => {
                // With no id to answer (a notification, or an id that could not be read) there
                // is no JSON-RPC response to carry the error: MCP's transport then demands an
                // HTTP error status, so `invalid_params` is a 400 here, not the handshake era's
                // 200.
                if id.is_null() {
                    self.statuses = ErrorStatus::InStatus;
                }
                self.reply_id = id;
                Err(failure)
            }
        }
    }

    /// The protocol revision the message is served under.
    fn revision(&mut self, message: &Message) -> Result<Era, Failure> {
        match protocol::classify(self.headers, message) {
            Ok(era) => {
                self.statuses = era.error_status();
                Ok(era)
            }
            Err(failure) => {
                self.statuses = ErrorStatus::InStatus;
                Err(failure)
            }
        }
    }

    /// The caller's session (handshake revisions): a session id that is present but unknown,
    /// expired or another subject's is refused; without `MCP-Protocol-Version`, the session's
    /// negotiated revision is the request's.
    async fn session(
        &self,
        message: &Message,
        era: Era,
        principal: &Principal,
    ) -> Result<Era, Failure> {
        if era.is_modern() || message.method == "initialize" {
            return Ok(era);
        }
        let Some(id) = self.headers.get(MCP_SESSION_ID) else {
            return Ok(era);
        };
        // A session id that is present but unreadable is an unknown session, not an absent one.
        let touched = match id.to_str() {
            Ok(id) => self.app.sessions.touch(id, &principal.subject).await,
            Err(_) => None,
        };
        let session = touched.ok_or_else(|| {
            Failure::new(
                ErrorType::SessionNotFound,
                "unknown or expired session; initialize again",
            )
        })?;
        Ok(match era {
            Era::Handshake(None) => Era::Handshake(Some(session.protocol_version)),
            era => era,
        })
    }

    /// The method itself (`gateway`), within the request timeout.
    async fn call(
        &mut self,
        message: &Message,
        principal: &Principal,
        era: Era,
        now: Instant,
    ) -> Result<Reply, Failure> {
        let app = self.app;
        let mut call = Call::new(app, principal, self.client_ip, era, &mut self.exchange);
        if app.authz.reads_request_rate() {
            call.requests_per_minute = Some(app.limits.request_rate.hit(&principal.subject, now));
        }
        let timeout = Duration::from_millis(app.config.server.request_timeout_ms.max(1));
        // Boxed, so the timeout does not move the method's (large) state.
        tokio::time::timeout(timeout, Box::pin(call.dispatch(message)))
            .await
            .unwrap_or_else(|_| {
                Err(Failure::new(
                    ErrorType::RequestTimeout,
                    "the request took longer than the gateway's request timeout",
                ))
            })
    }

    async fn end_session(&self, principal: &Principal) -> Result<Answer, Failure> {
        match self.headers.get(MCP_SESSION_ID).map(|v| v.to_str().ok()) {
            Some(Some(session)) if self.app.sessions.remove(session, &principal.subject).await => {
                Ok(Answer::Ended)
            }
            // The transport's answer to a request that needs a session and names none.
            None => Err(Failure::new(
                ErrorType::InvalidRequest,
                "name the session to end in the `Mcp-Session-Id` header",
            )),
            _ => Err(Failure::new(ErrorType::SessionNotFound, "unknown session")),
        }
    }

    /// Redacts a body on its way out, counted per pattern and traced: the one place DLP
    /// applies to what the gateway answers.
    fn redact(&mut self, value: impl Into<crate::mcp::jsonrpc::Json>) -> Redacted {
        let start = now_ns();
        let mut counts = Counts::new();
        let redacted = self.app.dlp.redact(value, &mut counts);
        let found: u64 = counts.iter().sum();
        self.exchange.timeline.mark(
            "dlp",
            KIND_INTERNAL,
            start,
            || vec![("redactions", found.into())],
            false,
        );
        for (pattern, n) in self.app.dlp.summarize(&counts) {
            self.app
                .metrics
                .add(m::DLP_REDACTIONS_TOTAL, &[("pattern", pattern)], n);
            self.exchange.redactions += n;
        }
        redacted
    }

    /// The one place a request's result, or the `Failure` that ended it, becomes a response.
    pub fn answer(&mut self, served: Result<Answer, Failure>) -> Outcome {
        match served {
            Ok(Answer::Result(reply)) => {
                let body = self
                    .redact(reply.result)
                    .into_jsonrpc_result(&self.reply_id);
                let mut outcome = Outcome {
                    status: StatusCode::OK,
                    body: Some(body),
                    headers: Vec::new(),
                };
                if let Some(session) = reply.session {
                    outcome.headers.push((MCP_SESSION_ID, session));
                }
                outcome
            }
            Ok(Answer::Accepted) => Outcome {
                status: StatusCode::ACCEPTED,
                body: None,
                headers: Vec::new(),
            },
            Ok(Answer::Ended) => Outcome {
                status: StatusCode::NO_CONTENT,
                body: None,
                headers: Vec::new(),
            },
            Ok(Answer::Document(status, document)) => Outcome {
                status,
                body: Some(self.redact(document).into_body()),
                headers: Vec::new(),
            },
            Err(failure) => self.refuse(failure),
        }
    }

    /// A `Failure` in the error contract: the JSON-RPC error (message and data redacted; the
    /// `error_type` and `correlation_id` added after, as they are the gateway's own), the
    /// status, `Retry-After`, and `WWW-Authenticate` on a 401.
    fn refuse(&mut self, failure: Failure) -> Outcome {
        self.exchange.error_type = Some(failure.kind);
        let status = ErrorType::status_of(&failure, self.statuses);
        let error = self.redact(failure.error_object()).into_jsonrpc_error(
            &self.reply_id,
            &failure.data,
            failure.kind.as_str(),
            &self.exchange.request_id,
        );
        let mut outcome = Outcome {
            status,
            body: Some(error),
            headers: Vec::new(),
        };
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

    /// Meters and logs the exchange, and writes the response.
    pub fn respond(&mut self, outcome: Outcome) -> Response {
        self.exchange.finish(
            outcome.status.as_u16(),
            &self.app.metrics,
            self.started.elapsed(),
        );
        let mut response = match outcome.body {
            Some(body) => (
                outcome.status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body.into_bytes(),
            )
                .into_response(),
            None => outcome.status.into_response(),
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.exchange.request_id) {
            headers.insert(X_REQUEST_ID, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in outcome.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }

    /// Records the request's audit event: in the place it took at admission, or, for a
    /// request refused before it had one, only if there is room. The last thing a request
    /// does: the event takes the record.
    pub fn audit(mut self) {
        let slot = self.audit_slot.take();
        let event = self.exchange.into_audit_event();
        match slot {
            Some(slot) => slot.record(event),
            None => self.app.audit.record_if_room(event),
        }
    }

    /// Sends the request's spans when it is traced.
    pub fn trace(&mut self) {
        let Some(tracer) = &self.app.tracer else {
            return;
        };
        let context = crate::record::traces::TraceContext::from_traceparent(
            self.headers.get(TRACEPARENT).and_then(|v| v.to_str().ok()),
            tracer.ratio,
        );
        if !context.sampled {
            return;
        }
        let server = crate::record::traces::Mark {
            name: "POST /mcp",
            kind: crate::record::traces::KIND_SERVER,
            start_ns: self.start_ns,
            end_ns: now_ns(),
            attributes: self.exchange.span_attributes(),
            error: self.exchange.status >= 500,
        };
        let timeline = std::mem::take(&mut self.exchange.timeline);
        for span in timeline.spans(&context, server) {
            tracer.record(span);
        }
    }
}
