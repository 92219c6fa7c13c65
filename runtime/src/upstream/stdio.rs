//! MCP over a child process's stdin/stdout (newline-delimited JSON-RPC). The child runs with a
//! clean environment plus the configured variables. Requests are multiplexed by id; requests the
//! server sends us (sampling, roots, elicitation) are answered "not supported" so it never waits;
//! its stderr is logged. When the child dies, requests in flight fail at once and the supervisor
//! restarts it with exponential backoff.

use super::UpstreamError;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};

/// The PATH of the child when the configuration sets none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// The longest line read from a child (one JSON-RPC message).
const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<Value, UpstreamError>>>>>;

/// A live child: where to write, and the requests waiting for it.
struct Live {
    writer: mpsc::Sender<Vec<u8>>,
    pending: Pending,
}

pub struct StdioTransport {
    name: String,
    command: Vec<String>,
    env: Vec<(String, String)>,
    working_dir: Option<String>,
    live: Mutex<Option<Arc<Live>>>,
    /// Signalled when the child exits (the supervisor restarts it).
    exited: Notify,
    /// Signalled when the child sends `notifications/*/list_changed`.
    pub list_changed: Notify,
    /// Signalled to kill the child (gateway shutdown).
    kill: Notify,
    shutting_down: AtomicBool,
}

impl StdioTransport {
    pub fn new(
        name: &str,
        command: Vec<String>,
        env: Vec<(String, String)>,
        working_dir: Option<String>,
    ) -> Self {
        Self {
            name: name.to_string(),
            command,
            env,
            working_dir,
            live: Mutex::new(None),
            exited: Notify::new(),
            list_changed: Notify::new(),
            kill: Notify::new(),
            shutting_down: AtomicBool::new(false),
        }
    }

    pub fn is_running(&self) -> bool {
        self.live.lock().expect("stdio lock").is_some()
    }

    /// Starts the child. The caller then performs the MCP handshake.
    pub fn spawn(self: &Arc<Self>) -> Result<(), UpstreamError> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| UpstreamError::Unavailable("empty command".into()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", DEFAULT_PATH)
            .env("LANG", "C.UTF-8")
            .env("HOME", "/tmp");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        if let Some(dir) = &self.working_dir {
            command.current_dir(dir);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child: Child = command
            .spawn()
            .map_err(|e| UpstreamError::Unavailable(format!("cannot start `{program}`: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (writer, mut lines) = mpsc::channel::<Vec<u8>>(256);
        let pending: Pending = Arc::default();
        let live = Arc::new(Live {
            writer: writer.clone(),
            pending: pending.clone(),
        });
        *self.live.lock().expect("stdio lock") = Some(live);

        tokio::spawn(async move {
            while let Some(mut line) = lines.recv().await {
                line.push(b'\n');
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let name = self.name.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let line: String = line.chars().take(1024).collect();
                tracing::info!(upstream = %name, stderr = %line, "upstream stderr");
            }
        });
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = this.read_stdout(stdout, writer, &pending) => {}
                () = this.kill.notified() => {
                    let _ = child.start_kill();
                }
            }
            let status = child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            *this.live.lock().expect("stdio lock") = None;
            let waiting: Vec<_> = pending.lock().expect("pending lock").drain().collect();
            for (_, sender) in waiting {
                let _ = sender.send(Err(UpstreamError::Unavailable(format!(
                    "the process exited ({status})"
                ))));
            }
            if !this.shutting_down.load(Ordering::Relaxed) {
                tracing::warn!(upstream = %this.name, status = %status, error_type = "upstream_unavailable", "upstream process exited");
            }
            this.exited.notify_waiters();
        });
        Ok(())
    }

    async fn read_stdout(
        &self,
        stdout: tokio::process::ChildStdout,
        writer: mpsc::Sender<Vec<u8>>,
        pending: &Pending,
    ) {
        let mut reader = BufReader::with_capacity(64 * 1024, stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match read_line_limited(&mut reader, &mut line).await {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(upstream = %self.name, error = %error, error_type = "upstream_error", "unreadable output from the upstream; stopping it");
                    return;
                }
            }
            let Ok(message) = serde_json::from_slice::<Value>(&line) else {
                tracing::debug!(upstream = %self.name, "ignoring a non-JSON line on stdout");
                continue;
            };
            let has_method = message.get("method").and_then(Value::as_str);
            match (message.get("id"), has_method) {
                (Some(id), None) => {
                    if let Some(sender) = pending
                        .lock()
                        .expect("pending lock")
                        .remove(&id.to_string())
                    {
                        let _ = sender.send(Ok(message));
                    }
                }
                (Some(id), Some(method)) => {
                    // The gateway offers the upstream no client capabilities (sampling, roots, elicitation).
                    let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("the gateway does not support `{method}`")}});
                    let _ = writer
                        .send(serde_json::to_vec(&reply).expect("serializes"))
                        .await;
                }
                (None, Some(method)) if method.ends_with("/list_changed") => {
                    self.list_changed.notify_waiters()
                }
                _ => {}
            }
        }
    }

    /// Sends a request and waits for its response.
    pub async fn request(
        &self,
        id: &Value,
        message: &(impl serde::Serialize + ?Sized),
        timeout: Duration,
    ) -> Result<Value, UpstreamError> {
        let live = self
            .live
            .lock()
            .expect("stdio lock")
            .clone()
            .ok_or_else(|| UpstreamError::Unavailable("the process is not running".into()))?;
        let (sender, receiver) = oneshot::channel();
        let key = id.to_string();
        live.pending
            .lock()
            .expect("pending lock")
            .insert(key.clone(), sender);
        let line = serde_json::to_vec(message).expect("messages serialize");
        if live.writer.send(line).await.is_err() {
            live.pending.lock().expect("pending lock").remove(&key);
            return Err(UpstreamError::Unavailable(
                "the process is not running".into(),
            ));
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(UpstreamError::Unavailable("the process exited".into())),
            Err(_) => {
                live.pending.lock().expect("pending lock").remove(&key);
                Err(UpstreamError::Timeout)
            }
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, message: &Value) -> Result<(), UpstreamError> {
        let live = self
            .live
            .lock()
            .expect("stdio lock")
            .clone()
            .ok_or_else(|| UpstreamError::Unavailable("the process is not running".into()))?;
        live.writer
            .send(serde_json::to_vec(message).expect("serializes"))
            .await
            .map_err(|_| UpstreamError::Unavailable("the process is not running".into()))
    }

    /// Waits until the running child exits.
    pub async fn wait_exit(&self) {
        let exited = self.exited.notified();
        if !self.is_running() {
            return;
        }
        exited.await;
    }

    /// Whether the gateway is shutting down (the child is not restarted).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Stops the child for good (gateway shutdown).
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
        *self.live.lock().expect("stdio lock") = None;
        self.kill.notify_waiters();
    }
}

/// Reads one line, refusing lines longer than the limit.
async fn read_line_limited<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(line.len());
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if line.len() + chunk.len() > MAX_LINE_BYTES {
            return Err(std::io::Error::other("a message longer than 32 MiB"));
        }
        line.extend_from_slice(chunk);
        let consumed = done.unwrap_or(available.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(line.len().max(1));
        }
    }
}
