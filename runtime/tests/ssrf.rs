//! The gateway never connects to a cloud metadata service or a link-local address: not when the
//! frozen config names one (a file edited by hand, its hash recomputed), not when the issuer's
//! discovery document points its key set there, and not when an ordinary name resolves there
//! (DNS rebinding). The last runs the real `airlock` binary in a private mount namespace whose
//! `/etc/hosts` maps `rebound.test`: to loopback first (the control: everything works), then to
//! `169.254.169.254` (everything is refused, and says why).

mod common;

use airlock::devidp::DevIdp;
use airlock::enforce::auth::Jwks;
use airlock_schema::runtime::Transport;
use axum::Router;
use axum::routing::get;
use serde_json::json;
use std::path::{Path, PathBuf};

fn temp(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "airlock-ssrf-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_discovered_key_set_at_a_metadata_address_is_never_fetched() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let document = json!({
        "issuer": issuer,
        "jwks_uri": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    });
    let router = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    tokio::spawn(axum::serve(listener, router).into_future());
    let jwks = Jwks::new(&issuer, 60_000, airlock::app::http_client().unwrap());
    let error = jwks.refresh().await.unwrap_err().to_string();
    assert!(
        error.contains("`169.254.169.254` is the address of the cloud instance metadata service"),
        "{error}"
    );
    assert!(error.contains("never connects there"), "{error}");
}

#[tokio::test]
async fn a_frozen_config_naming_a_metadata_address_does_not_load() {
    let h = common::start("").await;
    let dir = temp("config");
    let mut config = h.app.config.clone();
    config.upstreams[0].transport = Transport::Http {
        url: "http://[::ffff:169.254.169.254]/latest/meta-data".into(),
        headers: vec![],
    };
    let path = common::write_config(&config, &dir);
    let error = airlock::config::load(&path).unwrap_err().0;
    assert!(error.contains("upstreams[fake].url"), "{error}");
    assert!(error.contains("cloud instance metadata service"), "{error}");

    let mut config = h.app.config.clone();
    config.auth.issuer = "http://metadata.google.internal/".into();
    let path = common::write_config(&config, &dir);
    let (code, out) = common::airlock(&["doctor", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 78, "an unloadable config: {out}");
    assert!(out.contains("auth.issuer"), "{out}");
    assert!(out.contains("Google Cloud metadata"), "{out}");
}

/// Runs `airlock args…` with `/etc/hosts` replaced by `hosts` in a private mount namespace.
fn airlock_with_hosts(hosts: &Path, args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
        .arg(hosts)
        .arg(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .output()
        .expect("unshare runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn a_name_that_resolves_to_a_metadata_address_is_never_connected() {
    let h = common::start("").await;
    // An issuer known by the name under test, served on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = format!("http://rebound.test:{port}");
    tokio::spawn(
        axum::serve(listener, DevIdp::new(&issuer, "airlock-test").router()).into_future(),
    );

    let dir = temp("rebinding");
    let mut config = h.app.config.clone();
    config.auth.issuer = issuer;
    if let Transport::Http { url, .. } = &mut config.upstreams[0].transport {
        *url = url.replace("127.0.0.1", "rebound.test");
    }
    let path = common::write_config(&config, &dir);
    let path = path.to_str().unwrap().to_string();
    let doctor = |hosts: PathBuf| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            airlock_with_hosts(&hosts, &["doctor", "--config", &path])
        })
    };

    let loopback = dir.join("hosts.loopback");
    std::fs::write(&loopback, "127.0.0.1 localhost rebound.test\n").unwrap();
    let (_, out) = doctor(loopback).await.unwrap();
    for line in [
        "PASS  oidc.discovery",
        "PASS  oidc.jwks",
        "PASS  upstream.fake",
    ] {
        assert!(out.contains(line), "the control: {line} in\n{out}");
    }

    let rebound = dir.join("hosts.rebound");
    std::fs::write(
        &rebound,
        "127.0.0.1 localhost\n169.254.169.254 rebound.test\n",
    )
    .unwrap();
    let (code, out) = doctor(rebound).await.unwrap();
    assert_eq!(code, 1, "{out}");
    for line in ["FAIL  oidc.discovery", "FAIL  upstream.fake"] {
        assert!(out.contains(line), "{line} in\n{out}");
    }
    let refusal = "`rebound.test` resolves to 169.254.169.254, the address of the cloud instance metadata service";
    assert_eq!(
        out.matches(refusal).count(),
        2,
        "the issuer (reqwest) and the upstream (hyper) both say why:\n{out}"
    );
    assert!(out.contains("DNS rebinding"), "{out}");
}

/// The PostgreSQL URL lives in a Secret, not in the config airlockc checked: its host is judged
/// before the driver connects.
#[tokio::test]
async fn an_audit_database_at_a_metadata_address_is_refused() {
    use airlock::record::audit::store::Store;
    for url in [
        "postgres://airlock@169.254.169.254:5432/audit",
        "postgres://airlock@[fd00:ec2::254]/audit",
    ] {
        let error = match Store::postgres(url).await {
            Ok(_) => panic!("{url} connected"),
            Err(error) => error.to_string(),
        };
        assert!(error.starts_with("the PostgreSQL host: `"), "{error}");
        assert!(error.contains("never connects there"), "{error}");
    }
}
