//! MCP streamable HTTP to an upstream, over TCP (with TLS for https) or a unix socket. One
//! POST per message; the answer is JSON or an SSE stream whose events are scanned for the
//! response with the request's id. The upstream's `Mcp-Session-Id` is kept and sent back; a 404
//! means the session ended, so the caller re-initializes.

use super::exchanged::{Exchanged, MAX_RESPONSE_BYTES};
use super::pool::Pooled;
use super::{ProbeError, UpstreamError};
use axum::http::header::{ACCEPT, CONTENT_TYPE, InvalidHeaderName, InvalidHeaderValue};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;

use crate::mcp::protocol::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID};

/// A configured upstream header that HTTP cannot carry.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("the header name `{name}` is not valid: {source}")]
    Name {
        name: String,
        #[source]
        source: InvalidHeaderName,
    },
    #[error("the value of header `{name}` is not valid (control characters?): {source}")]
    Value {
        name: String,
        #[source]
        source: InvalidHeaderValue,
    },
}

pub enum Connector {
    /// A TCP upstream. Its messages go through `pooled` for `http://` URLs and through reqwest
    /// (TLS) for `https://`; reqwest also runs the `healthCheck.path` probe. The URL is parsed
    /// once, not on every request.
    Tcp {
        client: reqwest::Client,
        url: reqwest::Url,
        pooled: Option<Pooled>,
    },
    Unix(Pooled),
}

pub struct HttpTransport {
    connector: Connector,
    /// What every POST carries: content type, accept, the configured headers; parsed once.
    headers: HeaderMap,
    session: Mutex<Option<HeaderValue>>,
    protocol_version: Mutex<Option<HeaderValue>>,
}

/// What an upstream answered to one POST.
pub enum Reply {
    /// The JSON-RPC response to the request, as the JSON body it came in (not parsed here).
    Json(Bytes),
    /// The JSON-RPC response with the request's id, found among the events of a stream.
    Event(Value),
    /// 202: a notification was accepted.
    Accepted,
}

impl HttpTransport {
    pub fn new(connector: Connector, configured: &[(String, String)]) -> Result<Self, HeaderError> {
        // Room for what each call adds (session, protocol version, user agent, host): the map
        // is cloned per call, and a clone that grows allocates its table twice more.
        let mut headers = HeaderMap::with_capacity(6 + configured.len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        for (name, value) in configured {
            let parsed_name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|source| HeaderError::Name {
                    name: name.clone(),
                    source,
                })?;
            let mut parsed_value =
                HeaderValue::from_str(value).map_err(|source| HeaderError::Value {
                    name: name.clone(),
                    source,
                })?;
            // Configured headers carry credentials: kept out of debug output.
            parsed_value.set_sensitive(true);
            headers.append(parsed_name, parsed_value);
        }
        Ok(Self {
            connector,
            headers,
            session: Mutex::new(None),
            protocol_version: Mutex::new(None),
        })
    }

    pub fn reset_session(&self) {
        *self.session.lock().expect("session lock") = None;
    }

    pub fn set_protocol_version(&self, version: &str) {
        *self.protocol_version.lock().expect("version lock") = HeaderValue::from_str(version).ok();
    }

    pub fn has_session(&self) -> bool {
        self.session.lock().expect("session lock").is_some()
    }

    /// `GET path` on the upstream's origin (the `healthCheck.path` probe of TCP upstreams):
    /// `Ok` for a 2xx, otherwise why not. Unix-socket upstreams have no origin to probe.
    pub async fn probe(&self, path: &str, timeout: Duration) -> Option<Result<(), ProbeError>> {
        let Connector::Tcp { client, url, .. } = &self.connector else {
            return None;
        };
        let mut target = url.clone();
        target.set_path(path);
        target.set_query(None);
        let outcome = match client.get(target.clone()).timeout(timeout).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(ProbeError::Status {
                target,
                status: response.status(),
            }),
            Err(source) => Err(ProbeError::Unreachable { target, source }),
        };
        Some(outcome)
    }

    /// POSTs one message; `id` is the request id to wait for (none for notifications).
    pub async fn post(
        &self,
        message: &(impl serde::Serialize + ?Sized),
        id: Option<&Value>,
        timeout: Duration,
    ) -> Result<Reply, UpstreamError> {
        let body = serde_json::to_vec(message).expect("messages serialize");
        let mut headers = self.headers.clone();
        if let Some(session) = self.session.lock().expect("session lock").clone() {
            headers.insert(MCP_SESSION_ID, session);
        }
        if let Some(version) = self.protocol_version.lock().expect("version lock").clone() {
            headers.insert(MCP_PROTOCOL_VERSION, version);
        }
        // Boxed, so the timeout does not move the client's (large) state.
        let exchange = Box::pin(self.exchange(headers, body));
        let Exchanged {
            status,
            content_type,
            session,
            bytes,
        } = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| UpstreamError::Timeout)??;
        if let Some(session) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
            *self.session.lock().expect("session lock") = Some(session);
        }
        match status {
            202 => return Ok(Reply::Accepted),
            404 if self.has_session() => return Err(UpstreamError::SessionExpired),
            200..=299 => {}
            _ => return Err(UpstreamError::Protocol(format!("HTTP {status}"))),
        }
        let Some(id) = id else {
            return Ok(Reply::Accepted);
        };
        if content_type.starts_with("text/event-stream") {
            sse_response(&bytes, id).map(Reply::Event)
        } else {
            Ok(Reply::Json(bytes))
        }
    }

    async fn exchange(
        &self,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Exchanged, UpstreamError> {
        match &self.connector {
            Connector::Tcp {
                pooled: Some(pooled),
                ..
            }
            | Connector::Unix(pooled) => pooled.post(headers, body).await,
            Connector::Tcp { client, url, .. } => {
                let response = client
                    .post(url.clone())
                    .headers(headers)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| UpstreamError::Unavailable(crate::errors::error_chain(&e)))?;
                if response
                    .content_length()
                    .is_some_and(|n| n as usize > MAX_RESPONSE_BYTES)
                {
                    return Err(UpstreamError::Protocol("the response is too large".into()));
                }
                let (status, headers) = (response.status().as_u16(), response.headers().clone());
                let mut bytes = Vec::new();
                let mut stream = response;
                while let Some(chunk) = stream
                    .chunk()
                    .await
                    .map_err(|e| UpstreamError::Unavailable(e.to_string()))?
                {
                    if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(UpstreamError::Protocol("the response is too large".into()));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(Exchanged::new(status, &headers, Bytes::from(bytes)))
            }
        }
    }
}

/// The JSON-RPC response with `id` among the `data:` events of an SSE body.
fn sse_response(body: &[u8], id: &Value) -> Result<Value, UpstreamError> {
    let text = String::from_utf8_lossy(body);
    let mut data = String::new();
    let mut events = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() {
                events.push(std::mem::take(&mut data));
            }
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    events
        .iter()
        .filter_map(|event| serde_json::from_str::<Value>(event).ok())
        .find(|message| {
            message.get("id") == Some(id)
                && (message.get("result").is_some() || message.get("error").is_some())
        })
        .ok_or_else(|| UpstreamError::Protocol("the event stream ended without a response".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_response_among_events() {
        let body = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"ok\":true}}\n\n";
        assert_eq!(
            sse_response(body, &Value::from(7)).unwrap()["result"]["ok"],
            true
        );
        assert!(sse_response(b"data: {}\n\n", &Value::from(7)).is_err());
    }
}
