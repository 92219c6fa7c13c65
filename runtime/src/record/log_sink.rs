//! Where log lines go: stderr, through a buffer that a background thread writes out every few
//! milliseconds. A busy gateway logs a line per request; one `write` per line was a tenth of its
//! CPU (`docs/performance.md`). Lines keep their order, and none is dropped: when the buffer is
//! over its bound (stderr is slow to drain), the line's writer writes the buffer itself and so
//! waits for stderr, as it did before. `flush` writes what is buffered (on shutdown).
//!
//! Before `start` (other commands, tests), lines are written to stderr directly.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How long a line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(5);
/// Buffered bytes above which a writer writes the buffer out itself.
const MAX_BUFFERED: usize = 1 << 20;

struct Sink {
    pending: Mutex<Vec<u8>>,
    /// Held while writing out, taken while `pending` is held: lines leave in the order in
    /// which they entered `pending`.
    output: Mutex<Output>,
}

struct Output {
    buffer: Vec<u8>,
    to: Box<dyn Write + Send>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Buffers log lines from now on, with a thread that writes them to stderr.
pub fn start() {
    if SINK.get().is_none() && spawn_flusher(|| SINK.get()).is_ok() {
        let _ = SINK.set(Sink::new(Box::new(std::io::stderr())));
        // A panic's message follows the lines logged before it.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(sink) = SINK.get() {
                sink.flush_unless_busy();
            }
            report(info);
        }));
    }
}

fn spawn_flusher(sink: fn() -> Option<&'static Sink>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("airlock-log".into())
        .spawn(move || {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                if let Some(sink) = sink() {
                    sink.flush();
                }
            }
        })
        .map(drop)
}

/// Appends one or more whole lines.
pub fn write(bytes: &[u8]) {
    match SINK.get() {
        Some(sink) => sink.write(bytes),
        None => {
            let _ = std::io::stderr().lock().write_all(bytes);
        }
    }
}

/// Writes every buffered line out (on shutdown).
pub fn flush() {
    if let Some(sink) = SINK.get() {
        sink.flush();
    }
}

impl Sink {
    fn new(to: Box<dyn Write + Send>) -> Self {
        Sink {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            output: Mutex::new(Output {
                buffer: Vec::with_capacity(64 * 1024),
                to,
            }),
        }
    }

    fn write(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(bytes);
        if pending.len() > MAX_BUFFERED {
            self.write_out(pending);
        }
    }

    fn flush(&self) {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if !pending.is_empty() {
            self.write_out(pending);
        }
    }

    /// `flush`, unless `pending` is held, perhaps by the panicking thread itself: a panic
    /// report must never wait on it. (`output` is held only around a write to stderr, which
    /// returns an error rather than panicking.)
    fn flush_unless_busy(&self) {
        if let Ok(pending) = self.pending.try_lock()
            && !pending.is_empty()
        {
            self.write_out(pending);
        }
    }

    fn write_out(&self, mut pending: std::sync::MutexGuard<'_, Vec<u8>>) {
        let mut output = self.output.lock().unwrap_or_else(|e| e.into_inner());
        let output = &mut *output;
        // Swap buffers, so writers go on appending while this one writes.
        std::mem::swap(&mut *pending, &mut output.buffer);
        drop(pending);
        let _ = output.to.write_all(&output.buffer);
        output.buffer.clear();
        if output.buffer.capacity() > 4 * MAX_BUFFERED {
            output.buffer.shrink_to(MAX_BUFFERED);
        }
    }
}

/// `tracing_subscriber`'s writer: the formatter writes each event with one `write_all`.
pub struct Writer;

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that keeps what is written, for tests of log output.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) std::sync::Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST_SINK: OnceLock<Sink> = OnceLock::new();

    #[test]
    fn lines_leave_in_order_within_a_flush_interval_or_at_the_bound() {
        let captured = Captured::default();
        let sink = TEST_SINK.get_or_init(|| Sink::new(Box::new(captured.clone())));
        spawn_flusher(|| TEST_SINK.get()).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        for line in expected.lines() {
            sink.write(format!("{line}\n").as_bytes());
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while captured.0.lock().unwrap().len() < expected.len() {
            assert!(std::time::Instant::now() < deadline, "never written out");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            String::from_utf8(captured.0.lock().unwrap().clone()).unwrap(),
            expected
        );

        // Over the bound, the line's writer writes the buffer out itself, at once.
        let big = vec![b'x'; MAX_BUFFERED + 1];
        sink.write(b"first\n");
        sink.write(&big);
        let written = captured.0.lock().unwrap().split_off(expected.len());
        assert!(written.starts_with(b"first\nxxx"));
        assert_eq!(written.len(), 6 + MAX_BUFFERED + 1);
        assert!(sink.pending.lock().unwrap().is_empty());
    }
}
