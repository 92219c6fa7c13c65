//! Where the gateway may connect: never to a cloud metadata service or a link-local address,
//! whatever a URL or a DNS answer says.
//!
//! `airlockc` refuses such hosts in `airlock.yaml` (AL2039) and never opens egress to them, but
//! a name that is harmless at build time can resolve to `169.254.169.254` later (DNS rebinding),
//! and a JWKS URL comes from the issuer's discovery document, not from the config. From inside a
//! pod, a request to a metadata service reads the node's cloud credentials, so:
//!
//! - [`GuardedResolver`] is the one resolver of every HTTP client the gateway builds (reqwest
//!   for the issuer, JWKS, https upstreams and traces; hyper for http upstreams; the S3 SDK's
//!   data plane). It refuses a whole answer that holds a forbidden address, so a mixed answer
//!   cannot win by luck of ordering, and it says so in the error.
//! - [`check_url`] judges a URL's literal host, which no resolver sees: the frozen config's
//!   endpoints at load, a discovered `jwks_uri` before it is fetched.
//! - [`check_host`] resolves and judges a database or Redis host before the first connection
//!   (those drivers resolve on their own; they do not speak HTTP, so a later rebinding of their
//!   names cannot read a metadata service).
//!
//! What is forbidden is `airlock_schema::network`'s judgement, the compiler's too. Loopback is
//! allowed: sidecar upstreams and local runs.

use airlock_schema::network::{Forbidden, forbidden_host, forbidden_ip};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A destination the gateway will not connect to.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The URL or host names a forbidden address (or a metadata service's name) itself.
    #[error(
        "`{host}` is {why}; airlock never connects there (it would hand the node's cloud credentials to whoever controls this endpoint)"
    )]
    Named { host: String, why: Forbidden },
    /// A DNS answer for an ordinary name holds a forbidden address.
    #[error(
        "`{host}` resolves to {address}, {why}; airlock never connects there: a name that resolves to a metadata or link-local address is how SSRF through DNS rebinding reaches the node's credentials"
    )]
    Resolved {
        host: String,
        address: IpAddr,
        why: Forbidden,
    },
}

impl From<Refused> for io::Error {
    fn from(refused: Refused) -> Self {
        io::Error::new(io::ErrorKind::PermissionDenied, refused)
    }
}

/// Judges the literal host of `url` (no resolution). A URL that does not parse, or has no host
/// (a unix socket path), is not this check's business.
pub fn check_url(url: &str) -> Result<(), Refused> {
    match reqwest::Url::parse(url) {
        Ok(parsed) => match parsed.host_str() {
            Some(host) => check_name(host),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

fn check_name(host: &str) -> Result<(), Refused> {
    match forbidden_host(host) {
        Some(why) => Err(Refused::Named {
            host: host.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// Judges every address of one answer: all of them are allowed, or the answer is refused.
pub fn check_answer(host: &str, addresses: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
    for address in &addresses {
        if let Some(why) = forbidden_ip(address.ip()) {
            return Err(Refused::Resolved {
                host: host.to_string(),
                address: address.ip(),
                why,
            });
        }
    }
    Ok(addresses)
}

/// Resolves `host` with the system resolver and judges the answer.
pub async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    check_name(host)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await?.collect();
    Ok(check_answer(host, addresses)?)
}

/// Resolves and judges a host before a driver that resolves on its own connects to it. A host
/// that does not resolve now is left to the driver, which reports it in its own words.
pub async fn check_host(host: &str) -> Result<(), Refused> {
    match resolve(host, 0).await {
        Ok(_) => Ok(()),
        Err(error) => match error.into_inner().map(|inner| inner.downcast::<Refused>()) {
            Some(Ok(refused)) => Err(*refused),
            _ => Ok(()),
        },
    }
}

/// The resolver of every HTTP client the gateway builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuardedResolver;

type Resolving<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve(&host, 0).await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Resolving<io::Result<Self::Response>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let host = name.as_str().to_string();
        Box::pin(async move { Ok(resolve(&host, 0).await?.into_iter()) })
    }
}

impl aws_smithy_runtime_api::client::dns::ResolveDns for GuardedResolver {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::new(async move {
            resolve(name, 0)
                .await
                .map(|addresses| addresses.into_iter().map(|a| a.ip()).collect())
                .map_err(aws_smithy_runtime_api::client::dns::ResolveDnsError::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_are_judged_without_resolving() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "https://[::ffff:169.254.169.254]/keys",
            "http://169.254.10.1:8080/mcp",
        ] {
            assert!(check_url(url).is_err(), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/mcp",
            "https://login.example.com/.well-known/jwks.json",
            "http://docs.mcp.svc.cluster.local:8080/mcp",
            "not a url",
        ] {
            assert!(check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn one_forbidden_address_refuses_the_whole_answer() {
        let answer = vec![
            "10.0.0.7:443".parse().unwrap(),
            "169.254.169.254:443".parse().unwrap(),
        ];
        let refused = check_answer("mcp.example.com", answer).unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("`mcp.example.com` resolves to 169.254.169.254"));
        assert!(message.contains("DNS rebinding"));
        assert!(check_answer("ok", vec!["10.0.0.7:443".parse().unwrap()]).is_ok());
    }

    /// `localhost` resolves through the system resolver to loopback, which stays allowed.
    #[tokio::test]
    async fn loopback_names_resolve() {
        let addresses = resolve("localhost", 80).await.unwrap();
        assert!(addresses.iter().all(|a| a.ip().is_loopback()));
        assert!(check_host("localhost").await.is_ok());
        assert!(matches!(
            check_host("169.254.169.254").await,
            Err(Refused::Named { .. })
        ));
    }
}
