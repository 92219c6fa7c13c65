//! `airlock serve`: loads the frozen config, starts the background tasks and the listeners,
//! and shuts down gracefully on SIGTERM or Ctrl-C (in-flight requests get up to the shutdown
//! timeout; stdio upstreams are stopped).

use crate::app::App;
use crate::edge::{self, connection};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Why the gateway could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The gateway's or the metrics' address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The bound listener has no local address.
    #[error(transparent)]
    LocalAddress(std::io::Error),
}

/// Binds `address`.
async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Listen { address, source })
}

/// Listens and serves until a termination signal. `listen` overrides the config's port (and
/// turns the separate metrics listener off).
pub async fn run(app: Arc<App>, listen: Option<SocketAddr>) -> Result<(), ServeError> {
    let config = &app.config.server;
    let address = listen.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], config.port)));
    let listener = bind(address).await?;
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    if let Some(port) = config.metrics_port.filter(|_| listen.is_none()) {
        let metrics_listener = bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
        let routes = edge::Routes::metrics(app.clone(), &config.metrics_path);
        let (deadlines, metrics) = (deadlines(&app), app.metrics.clone());
        let mut stopped = stop.subscribe();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.recv().await;
            };
            connection::serve(metrics_listener, routes, deadlines, metrics, shutdown).await;
        });
    }
    let signalled = async move {
        shutdown_signal().await;
        let _ = stop.send(());
    };
    serve(app, listener, signalled).await
}

/// Serves on a bound listener until `shutdown` completes, then gives in-flight requests the
/// configured grace period.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let address = listener.local_addr().map_err(ServeError::LocalAddress)?;
    app.start();
    tracing::info!(listen = %address, config_hash = %app.config.content_hash, policy_hash = %app.authz.sha256(), upstreams = app.upstreams.len(), "airlock listening");
    let grace = Duration::from_millis(app.config.server.shutdown_timeout_ms);
    let (signal_tx, signal_rx) = tokio::sync::oneshot::channel::<()>();
    let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutting down: finishing in-flight requests"
        );
        let _ = drain_tx.send(());
        let _ = signal_tx.send(());
    });
    let server = connection::serve(
        listener,
        edge::Routes::main(app.clone()),
        deadlines(&app),
        app.metrics.clone(),
        async move {
            let _ = drain_rx.await;
        },
    );
    tokio::select! {
        () = server => {}
        () = async move {
            if signal_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!("the shutdown grace period ended with requests still in flight"),
    }
    app.shutdown();
    if !app.audit.flush(grace.max(Duration::from_secs(1))).await {
        tracing::error!(
            buffered = app.audit.buffered(),
            error_type = "audit_events_lost",
            "stopping with audit events that could not be written"
        );
    }
    app.audit.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `server.timeouts.read` bounds a request head as it bounds a body.
fn deadlines(app: &App) -> connection::Deadlines {
    let server = &app.config.server;
    connection::Deadlines {
        head: Duration::from_millis(server.read_timeout_ms.max(1)),
        idle: Duration::from_millis(server.idle_timeout_ms.max(1)),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Reloads the policy on every SIGHUP.
pub fn reload_on_sighup(app: Arc<App>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangups.recv().await.is_some() {
            app.reload_policy("sighup", None).await;
        }
    });
}
