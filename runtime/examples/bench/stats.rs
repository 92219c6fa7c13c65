//! Timing helpers: run a closure in batches and report per-operation percentiles (a batch
//! amortizes the clock's own cost, which is larger than the fastest operations measured).

use std::time::{Duration, Instant};

/// Per-operation time of `op`, from `batches` batches of `per_batch` calls: (p50, p99).
pub fn per_op(batches: usize, per_batch: usize, mut op: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..per_batch.min(1_000) {
        op(); // warm caches and lazily built state
    }
    let mut samples: Vec<Duration> = (0..batches)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..per_batch {
                op();
            }
            started.elapsed() / per_batch as u32
        })
        .collect();
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// The median wall time of `runs` runs of `op`.
pub fn median(runs: usize, mut op: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            op();
            started.elapsed()
        })
        .collect();
    samples.sort();
    percentile(&samples, 0.50)
}

pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index]
}

pub fn show(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 10_000 {
        format!("{nanos} ns")
    } else if nanos < 10_000_000 {
        format!("{:.1} µs", nanos as f64 / 1e3)
    } else {
        format!("{:.1} ms", nanos as f64 / 1e6)
    }
}
