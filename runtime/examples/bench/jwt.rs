//! JWT validation through the gateway's `Authenticator` against the development issuer (served
//! on loopback, so discovery and JWKS are real HTTP): first sight of a token (signature,
//! claims) and a repeated token (the validated-token cache).

use crate::policy::frozen;
use crate::stats::{per_op, show};
use airlock::devidp::DevIdp;
use airlock::enforce::auth::Authenticator;
use airlock::enforce::auth::jwks::Jwks;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub async fn run(repository: &Path) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let idp = DevIdp::new(&issuer, "bench");
    tokio::spawn(axum::serve(listener, idp.clone().router()).into_future());

    let mut auth = frozen(repository, "examples/production/airlock.yaml").auth;
    auth.issuer = issuer.clone();
    auth.audience = "bench".into();
    let jwks = Arc::new(Jwks::new(
        &issuer,
        auth.jwks_cache_ttl_ms,
        reqwest::Client::new(),
    ));
    jwks.refresh().await.expect("the issuer serves its keys");
    let authenticator = Authenticator::new(&auth, jwks);

    let tokens: Vec<String> = (0..2_000)
        .map(|i| idp.token(&format!("user{i}@example.com"), &["mcp.users"]))
        .collect();
    let started = Instant::now();
    for token in &tokens {
        authenticator
            .validate(token)
            .await
            .expect("a fresh token validates");
    }
    let cold = started.elapsed() / tokens.len() as u32;
    println!(
        "first sight of a token (RS256 signature + claims) {:>9}/token = {:>8.0} tokens/s",
        show(cold),
        1.0 / cold.as_secs_f64()
    );
    let repeated = &tokens[7];
    let (p50, p99) = per_op(200, 5_000, || {
        let validated = futures_util::FutureExt::now_or_never(authenticator.validate(repeated));
        assert!(
            matches!(validated, Some(Ok(_))),
            "a cached token validates at once"
        );
    });
    println!(
        "repeated token (validated-token cache)  p50 {:>9}  p99 {:>9} = {:>10.0} tokens/s",
        show(p50),
        show(p99),
        1.0 / p50.as_secs_f64()
    );
}
