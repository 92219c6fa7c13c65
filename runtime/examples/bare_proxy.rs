//! The floor of the gateway benchmark: a pass-through HTTP/1.1 proxy built from the same parts
//! as the gateway (tokio, hyper's server per connection, hyper's pooled client with
//! TCP_NODELAY) that does nothing else — no authentication, policy, DLP, audit, log line or
//! metrics. `tests/bench/gateway.py` runs it beside the gateway, so the figures separate what
//! any proxy costs on these cores (a second TCP exchange per call) from what the gateway's own
//! work costs. Not a product: it forwards any request body to one upstream URL.
//!
//! Usage: `bare_proxy LISTEN UPSTREAM_URL [--threads N] [--refuse AUTHORIZATION]`, e.g.
//! `bare_proxy 127.0.0.1:9902 http://127.0.0.1:9901/mcp`. With `--refuse`, a request whose
//! `Authorization` header is exactly that value gets a fixed 429 without being forwarded: the
//! cheapest refusal an HTTP gateway can make, for the overload floor of
//! `tests/bench/overload.py --floor`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::Arc;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Upstream = Client<HttpConnector, Full<Bytes>>;

const REFUSED: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32029,"message":"rate limited"}}"#;

async fn forward(
    client: Upstream,
    uri: Uri,
    refuse: Option<Arc<str>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Error> {
    let refused = refuse.is_some_and(|refuse| {
        request.headers().get(AUTHORIZATION).map(|v| v.as_bytes()) == Some(refuse.as_bytes())
    });
    let body = request.into_body().collect().await?.to_bytes();
    if refused {
        let mut response = Response::new(Full::new(Bytes::from_static(REFUSED.as_bytes())));
        *response.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
        return Ok(response);
    }
    let upstream = Request::post(uri)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(Full::new(body))?;
    let (parts, body) = client.request(upstream).await?.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = parts.status;
    if let Some(content_type) = parts.headers.get(CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, content_type.clone());
    }
    Ok(response)
}

async fn serve(listen: String, uri: Uri, refuse: Option<Arc<str>>) -> Result<(), Error> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let (client, uri, refuse) = (client.clone(), uri.clone(), refuse.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                forward(client.clone(), uri.clone(), refuse.clone(), request)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> Result<(), Error> {
    let usage = "usage: bare_proxy LISTEN UPSTREAM_URL [--threads N] [--refuse AUTHORIZATION]";
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        return Err(usage.into());
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    let mut refuse = None;
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--threads", Some(n)) => {
                runtime.worker_threads(n.parse()?);
            }
            ("--refuse", Some(value)) => refuse = Some(Arc::from(value)),
            _ => return Err(usage.into()),
        }
    }
    runtime
        .enable_all()
        .build()?
        .block_on(serve(listen, upstream.parse()?, refuse))
}
