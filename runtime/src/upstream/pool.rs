//! Pooled HTTP/1.1 clients for `http://` and unix-socket upstreams: hyper's client on a URI
//! parsed once, keeping connections alive between calls (a unix upstream used to get a new
//! connection per message). `https://` upstreams go through reqwest for its TLS set-up.

use super::UpstreamError;
use super::exchanged::{Exchanged, MAX_RESPONSE_BYTES};
use crate::outbound::GuardedResolver;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper::header::{HOST, HeaderMap, HeaderValue, USER_AGENT as USER_AGENT_HEADER};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::UnixStream;

/// How long an unused pooled connection is kept.
const IDLE: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("airlock/", env!("CARGO_PKG_VERSION"));

/// One upstream's pooled client and the URI it posts to.
pub enum Pooled {
    Tcp(Client<HttpConnector<GuardedResolver>, Full<Bytes>>, Uri),
    Unix(Client<UnixConnector, Full<Bytes>>, Uri),
}

impl Pooled {
    /// For an `http://` URL; `None` for any other scheme.
    pub fn tcp(url: &str) -> Option<Self> {
        let uri: Uri = url.parse().ok()?;
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let mut connector = HttpConnector::new_with_resolver(GuardedResolver);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Some(Self::Tcp(builder().build(connector), uri))
    }

    pub fn unix(socket: &Path) -> Self {
        let connector = UnixConnector(socket.into());
        // The socket has no host: servers that check Host get a conventional one with a port.
        let uri = Uri::from_static("http://localhost:80/mcp");
        Self::Unix(builder().build(connector), uri)
    }

    /// POSTs `body` with `headers`: the status, content type, session id and the whole body.
    pub async fn post(
        &self,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Exchanged, UpstreamError> {
        match self {
            Self::Tcp(client, uri) => post(client, uri, None, headers, body).await,
            Self::Unix(client, uri) => post(client, uri, Some("localhost:80"), headers, body).await,
        }
    }
}

fn builder() -> hyper_util::client::legacy::Builder {
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(IDLE)
        .pool_timer(TokioTimer::new());
    builder
}

async fn post<C: Connect + Clone + Send + Sync + 'static>(
    client: &Client<C, Full<Bytes>>,
    uri: &Uri,
    host: Option<&'static str>,
    mut headers: HeaderMap,
    body: Vec<u8>,
) -> Result<Exchanged, UpstreamError> {
    headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
    if let Some(host) = host {
        headers.insert(HOST, HeaderValue::from_static(host));
    }
    let mut request = hyper::Request::post(uri.clone())
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
    *request.headers_mut() = headers;
    let response = client
        .request(request)
        .await
        .map_err(|e| UpstreamError::Unavailable(crate::errors::error_chain(&e)))?;
    let (parts, body) = response.into_parts();
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
        return Err(UpstreamError::Protocol("the response is too large".into()));
    }
    let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                UpstreamError::Protocol("the response is too large".into())
            } else {
                UpstreamError::Unavailable(format!("reading the response: {error}"))
            }
        })?
        .to_bytes();
    Ok(Exchanged::new(parts.status.as_u16(), &parts.headers, bytes))
}

/// Connects to one unix socket whatever the URI says.
#[derive(Clone)]
pub struct UnixConnector(Arc<Path>);

impl tower_service::Service<Uri> for UnixConnector {
    type Response = TokioIo<UnixStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let socket = self.0.clone();
        Box::pin(async move {
            let stream = UnixStream::connect(&*socket).await.map_err(|e| {
                io::Error::new(e.kind(), format!("connect {}: {e}", socket.display()))
            })?;
            Ok(TokioIo::new(stream))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An MCP-ish server on a unix socket that echoes the body and the Host it was sent, and
    /// counts the connections it accepts.
    async fn echo_server(socket: &Path) -> Arc<AtomicUsize> {
        let listener = tokio::net::UnixListener::bind(socket).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(echo);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        accepted
    }

    async fn echo(
        request: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let host = request.headers()["host"].to_str().unwrap().to_string();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let text = format!(
            r#"{{"host":"{host}","echo":{}}}"#,
            String::from_utf8_lossy(&body)
        );
        let response = hyper::Response::builder()
            .header("content-type", "application/json")
            .header("mcp-session-id", "session-1")
            .body(Full::new(Bytes::from(text)))
            .unwrap();
        Ok(response)
    }

    #[tokio::test]
    async fn a_unix_upstream_keeps_one_connection_for_many_messages() {
        let dir = std::env::temp_dir().join(format!("airlock-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("upstream.sock");
        let _ = std::fs::remove_file(&socket);
        let accepted = echo_server(&socket).await;
        let pooled = Pooled::unix(&socket);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        for i in 0..5 {
            let reply = pooled
                .post(headers.clone(), i.to_string().into_bytes())
                .await
                .unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.content_type, "application/json");
            assert_eq!(reply.session.as_deref(), Some("session-1"));
            let body: serde_json::Value = serde_json::from_slice(&reply.bytes).unwrap();
            assert_eq!(body, serde_json::json!({"host": "localhost:80", "echo": i}));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection, reused");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_socket_is_unavailable_and_named() {
        let pooled = Pooled::unix(Path::new("/nonexistent/airlock/upstream.sock"));
        match pooled.post(HeaderMap::new(), Vec::new()).await {
            Err(UpstreamError::Unavailable(reason)) => {
                assert!(
                    reason.contains("connect /nonexistent/airlock/upstream.sock"),
                    "{reason}"
                );
            }
            other => panic!("unavailable, got {:?}", other.map(|r| r.status)),
        }
    }

    #[test]
    fn only_plain_http_urls_are_pooled() {
        assert!(Pooled::tcp("http://10.0.0.1:8080/mcp").is_some());
        assert!(Pooled::tcp("https://mcp.example.com/mcp").is_none());
        assert!(Pooled::tcp("not a url").is_none());
    }
}
