//! The accept loop: serves each TCP connection with hyper (HTTP/1.1, and HTTP/2 with prior
//! knowledge) under the two deadlines `axum::serve` lacks, so a slow or idle client cannot hold
//! a connection open for ever:
//!
//! - **head**: from the first byte of a request head, the client has `server.timeouts.read` to
//!   finish it (slowloris). A head that does not arrive in time gets 408 `read_timeout` in the
//!   error contract, then the connection closes.
//! - **idle**: a keep-alive connection with no request in progress closes after
//!   `server.timeouts.idle`.
//!
//! Neither deadline runs while one of the connection's requests is being served (its response
//! body included, for streams): the body read and the whole request have their own limits in
//! `http::mcp`. The deadlines live in the connection's byte stream ([`Deadlined`]); the service
//! tells it when requests start and end ([`Activity`]).
//!
//! The same stream puts hyper's own answers into the error contract: a request head hyper cannot
//! parse never reaches a handler, and hyper answers it with a bare 400, 414 or 431. Those answers
//! are recognized as they are written (a whole error head with `content-length: 0` and no
//! `x-request-id`, while no request is in service) and replaced with the same status carrying a
//! JSON-RPC error and a correlation id, with the log line and metrics of any refusal.

use super::Routes;
use crate::errors::{ErrorType, Failure};
use crate::record::metrics::Metrics;
use axum::body::Body;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// How long a client may take to send a request head, and to start the next request.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub head: Duration,
    pub idle: Duration,
}

/// Accepts and serves until `shutdown` completes; then every connection finishes its in-flight
/// requests and closes, and this returns when all have (the caller bounds the wait).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    deadlines: Deadlines,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    // hyper's own header timer is left off: it also runs while a keep-alive connection is
    // idle, so it cannot tell the two deadlines apart.
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are written whole; Nagle would only hold the last segment back.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::default());
        let io = TokioIo::new(Deadlined::new(
            stream,
            deadlines,
            activity.clone(),
            peer,
            metrics.clone(),
        ));
        let service = hyper::service::service_fn({
            let routes = routes.clone();
            move |request| serve_request(routes.clone(), peer, activity.clone(), request)
        });
        let connection = graceful.watch(builder.serve_connection(io, service).into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(client_ip = %peer.ip(), error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Out of file descriptors and the like: say so and back off rather than spin; a client that
/// gave up before being accepted is nothing to report.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, error_type = "accept_failed", "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_request(
    routes: Routes,
    peer: SocketAddr,
    activity: Arc<Activity>,
    request: hyper::Request<Incoming>,
) -> Result<axum::response::Response, Infallible> {
    let busy = Busy::enter(activity);
    let response = routes.call(peer, request.map(Body::new)).await?;
    Ok(response.map(|body| Body::new(BusyBody { body, _busy: busy })))
}

/// How many of a connection's requests are being served, and how many have started (a
/// request can start and finish between two reads of the connection).
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    started: AtomicUsize,
}

/// One request being served, until its response body has been sent (or dropped).
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.started.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress.
struct BusyBody {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for BusyBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Where a connection is between requests, for its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Serving a request: no deadline.
    Busy,
    /// Waiting for a request: the idle deadline.
    Idle,
    /// Part of a request head has arrived: the head deadline.
    Head,
}

/// A TCP stream whose reads fail with `TimedOut` when the connection's deadline passes.
struct Deadlined {
    stream: TcpStream,
    deadlines: Deadlines,
    activity: Arc<Activity>,
    phase: Phase,
    /// `Activity::started` when the phase was last set.
    started: usize,
    /// When the phase's deadline passes (not looked at while `Busy`).
    due: Instant,
    /// Fires at `due` or before it. It is moved earlier when a phase's deadline comes before
    /// it, and on to `due` when it fires early; never on every request: moving a timer takes
    /// the timer wheel's lock, and two moves a request were 1 % of a call's CPU.
    timer: Pin<Box<Sleep>>,
    /// HTTP/2 (prior knowledge): a timed-out head cannot be answered in HTTP/1 text.
    http2: Option<bool>,
    /// The error-contract answer replacing hyper's own, while it is being written.
    replacement: Option<Replacement>,
    peer: SocketAddr,
    metrics: Arc<Metrics>,
}

impl Deadlined {
    fn new(
        stream: TcpStream,
        deadlines: Deadlines,
        activity: Arc<Activity>,
        peer: SocketAddr,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            stream,
            deadlines,
            activity,
            phase: Phase::Idle,
            started: 0,
            due: Instant::now() + deadlines.idle,
            timer: Box::pin(tokio::time::sleep(deadlines.idle)),
            http2: None,
            replacement: None,
            peer,
            metrics,
        }
    }

    fn enter(&mut self, phase: Phase, limit: Duration) {
        self.phase = phase;
        self.due = Instant::now() + limit;
        if self.timer.deadline() > self.due {
            self.timer.as_mut().reset(self.due);
        }
    }

    /// Whether the phase's deadline has passed; if not, the timer fires at it (or before)
    /// and wakes `cx`.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= self.due {
                return Poll::Ready(());
            }
            // Set for an earlier phase's deadline: on to this one's.
            self.timer.as_mut().reset(self.due);
        }
        Poll::Pending
    }

    /// The deadline passed: answer a late head with 408 (best effort: the socket buffer
    /// takes a few hundred bytes at once) and count it; an idle connection just closes.
    fn expire(&mut self) -> io::Error {
        if self.phase == Phase::Head {
            let request_id = crate::record::ids::request_id();
            let failure = Failure::new(
                ErrorType::ReadTimeout,
                "the request headers did not arrive in time",
            );
            if self.http2 != Some(true) {
                let answer = refusal(&failure, "Request Timeout", &request_id);
                let _ = self.stream.try_write(&answer);
            }
            self.count_refusal(&request_id, ErrorType::ReadTimeout, self.deadlines.head);
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head did not arrive in time",
            )
        } else {
            io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
        }
    }

    /// A request refused before any handler saw it: the metrics and the log line of any
    /// refusal.
    fn count_refusal(&self, request_id: &str, kind: ErrorType, took: Duration) {
        let status = kind.status(crate::errors::ErrorStatus::InStatus).as_u16();
        crate::record::exchange::Exchange {
            request_id: request_id.to_string(),
            client_ip: Some(self.peer.ip()),
            error_type: Some(kind),
            ..Default::default()
        }
        .finish(status, &self.metrics, took);
    }

    /// `Some` when `buf` is hyper's own answer to an unparseable head (see the module doc):
    /// the error-contract answer is written in its place, and hyper told its bytes were.
    fn poll_replace(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Option<Poll<io::Result<usize>>> {
        if self.replacement.is_none() {
            if self.activity.in_flight.load(Ordering::Acquire) > 0 {
                return None;
            }
            let kind = hyper_refusal(buf)?;
            let request_id = crate::record::ids::request_id();
            let failure = Failure::new(kind, refusal_message(kind));
            let reason = kind
                .status(crate::errors::ErrorStatus::InStatus)
                .canonical_reason()
                .unwrap_or("Bad Request");
            self.replacement = Some(Replacement {
                bytes: refusal(&failure, reason, &request_id),
                written: 0,
                replaces: buf.len(),
            });
            self.count_refusal(&request_id, kind, Duration::ZERO);
        }
        let replacement = self.replacement.as_mut()?;
        while replacement.written < replacement.bytes.len() {
            let rest = &replacement.bytes[replacement.written..];
            match Pin::new(&mut self.stream).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => {
                    return Some(Poll::Ready(Err(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => replacement.written += n,
                Poll::Ready(Err(error)) => return Some(Poll::Ready(Err(error))),
                Poll::Pending => return Some(Poll::Pending),
            }
        }
        let replaced = replacement.replaces;
        self.replacement = None;
        Some(Poll::Ready(Ok(replaced)))
    }
}

/// An answer being written in place of `replaces` bytes of hyper's.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    replaces: usize,
}

/// The error type of hyper's automatic answer to a head it could not parse, if `buf` is one:
/// a whole 400, 414 or 431 head with `content-length: 0` and no `x-request-id` (every answer
/// of the gateway's own has one).
fn hyper_refusal(buf: &[u8]) -> Option<ErrorType> {
    let kind = match buf.get(..13)? {
        b"HTTP/1.1 400 " => ErrorType::MalformedHttp,
        b"HTTP/1.1 414 " => ErrorType::UriTooLong,
        b"HTTP/1.1 431 " => ErrorType::HeadersTooLarge,
        _ => return None,
    };
    let head = std::str::from_utf8(buf).ok()?.strip_suffix("\r\n\r\n")?;
    let lines: Vec<String> = head.split("\r\n").map(str::to_ascii_lowercase).collect();
    let empty = lines.iter().any(|line| line == "content-length: 0");
    let identified = lines.iter().any(|line| line.starts_with("x-request-id:"));
    (empty && !identified && !head.contains("\r\n\r\n")).then_some(kind)
}

fn refusal_message(kind: ErrorType) -> &'static str {
    match kind {
        ErrorType::UriTooLong => "the request target is too long",
        ErrorType::HeadersTooLarge => "the request headers are too large or too many",
        _ => "the request is not valid HTTP/1.1",
    }
}

/// A refusal before any handler ran, in the error contract; the connection closes after it.
fn refusal(failure: &Failure, reason: &str, request_id: &str) -> Vec<u8> {
    let status = failure
        .kind
        .status(crate::errors::ErrorStatus::InStatus)
        .as_u16();
    let body = failure
        .to_jsonrpc(&serde_json::Value::Null, request_id)
        .to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-request-id: {request_id}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl AsyncRead for Deadlined {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let started = this.activity.started.load(Ordering::Acquire);
        if this.activity.in_flight.load(Ordering::Acquire) > 0 {
            (this.phase, this.started) = (Phase::Busy, started);
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        if this.phase == Phase::Busy || this.started != started {
            this.started = started;
            this.enter(Phase::Idle, this.deadlines.idle);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if this.http2.is_none() && !read.is_empty() {
                    this.http2 = Some(read.starts_with(b"PRI * HTTP/2"));
                }
                if this.phase == Phase::Idle && !read.is_empty() {
                    this.enter(Phase::Head, this.deadlines.head);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                ready!(this.poll_due(cx));
                Poll::Ready(Err(this.expire()))
            }
        }
    }
}

impl AsyncWrite for Deadlined {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(replaced) = this.poll_replace(cx, buf) {
            return replaced;
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // hyper's own answers are a single buffer.
        if let [only] = bufs
            && let Some(replaced) = this.poll_replace(cx, only)
        {
            return replaced;
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_in_the_error_contract() {
        let failure = Failure::new(ErrorType::ReadTimeout, "late");
        let text = String::from_utf8(refusal(&failure, "Request Timeout", "req-1")).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nx-request-id: req-1\r\n"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["data"]["error_type"], "read_timeout");
        assert_eq!(body["error"]["data"]["correlation_id"], "req-1");
        assert_eq!(body["id"], serde_json::Value::Null);
    }

    #[test]
    fn only_hypers_own_answers_are_recognized() {
        let date = "date: Mon, 23 Nov 2026 08:00:00 GMT";
        let hyper =
            |status: &str| format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        let kinds = [
            ("400 Bad Request", ErrorType::MalformedHttp),
            ("414 URI Too Long", ErrorType::UriTooLong),
            (
                "431 Request Header Fields Too Large",
                ErrorType::HeadersTooLarge,
            ),
        ];
        for (status, kind) in kinds {
            assert_eq!(
                hyper_refusal(hyper(status).as_bytes()),
                Some(kind),
                "{status}"
            );
        }
        let ours = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: r\r\n\r\n";
        let with_body =
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n{date}\r\n\r\n{{}}");
        let unfinished = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n";
        let others = [
            ours,
            &with_body,
            unfinished,
            &hyper("404 Not Found"),
            &hyper("200 OK"),
            "0\r\n\r\n",
        ];
        for other in others {
            assert_eq!(hyper_refusal(other.as_bytes()), None, "{other:?}");
        }
    }

    #[test]
    fn a_request_counts_as_busy_until_its_guard_drops() {
        let activity = Arc::new(Activity::default());
        let first = Busy::enter(activity.clone());
        let second = Busy::enter(activity.clone());
        assert_eq!(activity.in_flight.load(Ordering::Acquire), 2);
        drop(first);
        drop(second);
        assert_eq!(activity.in_flight.load(Ordering::Acquire), 0);
    }
}
