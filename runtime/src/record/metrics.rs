//! A small Prometheus registry: counters, gauges and histograms with labels, exposed in the
//! text format on `/metrics`. Names come from `airlock_schema::metrics`, the contract with the
//! alerts and dashboard `airlockc` emits.

use airlock_schema::metrics as m;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Histogram bucket bounds, seconds: sub-millisecond gateway work to minute-long upstream calls.
const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Observations per bucket, not cumulative: an observation is one increment (of the first
/// bucket whose bound it does not exceed, or of the last, past every bound), where cumulative
/// buckets took up to 16 atomic increments on a cache line both cores write. The exposition
/// sums them, so its buckets and count agree by construction.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// Series by metric name, then by rendered label set (`{a="b"}`). Two levels so that a lookup
/// borrows the rendered labels: the hot path allocates nothing for a series that exists.
type Series<T> = RwLock<BTreeMap<&'static str, BTreeMap<String, T>>>;

/// One gauge series, held by the code that moves it (`Metrics::gauge_handle`).
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta as u64, Ordering::Relaxed);
    }
    pub fn set(&self, value: i64) {
        self.0.store(value as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub struct Metrics {
    counters: Series<Arc<AtomicU64>>,
    gauges: Series<Arc<AtomicU64>>,
    histograms: Series<Histogram>,
}

fn render_labels_into(labels: &[(&str, &str)], out: &mut String) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        if v.contains(['\\', '"', '\n']) {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
        } else {
            out.push_str(v);
        }
        out.push('"');
    }
    out.push('}');
}

#[cfg(test)]
fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    render_labels_into(labels, &mut out);
    out
}

thread_local! {
    /// The label set being looked up, rendered into a buffer each thread reuses.
    static RENDERED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Calls `f` with the series `name{labels}`, created on first use. `f` must not record metrics
/// itself (the rendered labels are borrowed while it runs).
fn with_series<T: Default>(
    map: &Series<T>,
    name: &'static str,
    labels: &[(&str, &str)],
    f: impl FnOnce(&T),
) {
    RENDERED.with_borrow_mut(|rendered| {
        rendered.clear();
        render_labels_into(labels, rendered);
        if let Some(series) = map
            .read()
            .expect("metrics lock")
            .get(name)
            .and_then(|by_labels| by_labels.get(rendered.as_str()))
        {
            return f(series);
        }
        let mut write = map.write().expect("metrics lock");
        f(write
            .entry(name)
            .or_default()
            .entry(rendered.clone())
            .or_default());
    })
}

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1);
    }
    pub fn add(&self, name: &'static str, labels: &[(&str, &str)], n: u64) {
        with_series(&self.counters, name, labels, |c| {
            c.fetch_add(n, Ordering::Relaxed);
        });
    }
    pub fn set(&self, name: &'static str, labels: &[(&str, &str)], value: i64) {
        with_series(&self.gauges, name, labels, |g| {
            g.store(value as u64, Ordering::Relaxed)
        });
    }
    /// A gauge series without labels to set directly, for hot paths (as `counter_handle`).
    pub fn gauge_handle(&self, name: &'static str) -> Gauge {
        let mut handle = None;
        with_series(&self.gauges, name, &[], |g: &Arc<AtomicU64>| {
            handle = Some(g.clone());
        });
        Gauge(handle.expect("with_series calls back"))
    }
    pub fn observe(&self, name: &'static str, labels: &[(&str, &str)], seconds: f64) {
        // A NaN exceeds no bound and is counted past them all, as before.
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        with_series(&self.histograms, name, labels, |h| {
            h.buckets[bucket].fetch_add(1, Ordering::Relaxed);
            h.sum_micros
                .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        });
    }
    /// A counter series to increment directly, for hot paths that always count the same
    /// series (the label rendering and map lookup of `inc` cost more than the increment).
    pub fn counter_handle(&self, name: &'static str, labels: &[(&str, &str)]) -> Arc<AtomicU64> {
        let mut handle = None;
        with_series(&self.counters, name, labels, |c: &Arc<AtomicU64>| {
            handle = Some(c.clone());
        });
        handle.expect("with_series calls back")
    }

    /// The current value of a counter series (tests and `/info`).
    pub fn counter(&self, name: &'static str, labels: &[(&str, &str)]) -> u64 {
        let mut value = 0;
        RENDERED.with_borrow_mut(|rendered| {
            rendered.clear();
            render_labels_into(labels, rendered);
            value = self
                .counters
                .read()
                .expect("metrics lock")
                .get(name)
                .and_then(|by_labels| by_labels.get(rendered.as_str()))
                .map_or(0, |c| c.load(Ordering::Relaxed));
        });
        value
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, seen: &mut Option<String>| {
            if seen.as_deref() != Some(name) {
                let _ = writeln!(out, "# HELP {name} {}", help(name));
                let _ = writeln!(out, "# TYPE {name} {kind}");
                *seen = Some(name.to_string());
            }
        };
        let mut seen = None;
        let counters = self.counters.read().expect("metrics lock");
        for (name, labels, value) in flatten(&counters) {
            header(&mut out, name, "counter", &mut seen);
            let _ = writeln!(out, "{name}{labels} {}", value.load(Ordering::Relaxed));
        }
        let gauges = self.gauges.read().expect("metrics lock");
        for (name, labels, value) in flatten(&gauges) {
            header(&mut out, name, "gauge", &mut seen);
            let _ = writeln!(
                out,
                "{name}{labels} {}",
                value.load(Ordering::Relaxed) as i64
            );
        }
        let histograms = self.histograms.read().expect("metrics lock");
        for (name, labels, h) in flatten(&histograms) {
            header(&mut out, name, "histogram", &mut seen);
            let inner = labels.trim_start_matches('{').trim_end_matches('}');
            let sep = if inner.is_empty() { "" } else { "," };
            let mut count = 0;
            for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
                count += bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{inner}{sep}le=\"{bound}\"}} {count}");
            }
            count += h.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{inner}{sep}le=\"+Inf\"}} {count}");
            let _ = writeln!(
                out,
                "{name}_sum{labels} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(out, "{name}_count{labels} {count}");
        }
        out
    }
}

/// Every series of a map, by name then labels (the exposition's order).
fn flatten<'a, T>(
    map: &'a BTreeMap<&'static str, BTreeMap<String, T>>,
) -> impl Iterator<Item = (&'static str, &'a str, &'a T)> {
    map.iter().flat_map(|(name, by_labels)| {
        by_labels
            .iter()
            .map(move |(labels, value)| (*name, labels.as_str(), value))
    })
}

fn help(name: &str) -> &'static str {
    match name {
        m::REQUESTS_TOTAL => "Requests served, by HTTP status and MCP method.",
        m::REQUEST_DURATION_SECONDS => "Request latency in seconds, by MCP method.",
        m::REQUESTS_FAILED_TOTAL => "Requests that failed, by status and error type.",
        m::AUTH_ATTEMPTS_TOTAL => "Authentication attempts.",
        m::AUTH_SUCCESS_TOTAL => "Successful authentications.",
        m::AUTH_FAILURES_TOTAL => "Failed authentications, by error type.",
        m::POLICY_DECISIONS_TOTAL => "Policy decisions, by decision and cache use.",
        m::POLICY_RELOADS_TOTAL => "Policy reloads, by result.",
        m::POLICY_LKG_ACTIVE => "1 while the last-known-good policy serves after a failed reload.",
        m::RATE_LIMITED_TOTAL => "Requests refused by a rate limit, by limit.",
        m::DLP_REDACTIONS_TOTAL => "DLP redactions, by pattern.",
        m::UPSTREAM_ERRORS_TOTAL => "Failed upstream calls, by upstream and error type.",
        m::UPSTREAM_UP => "1 when the upstream answered its last check.",
        m::UPSTREAM_DURATION_SECONDS => "Upstream call latency in seconds, by upstream.",
        m::AUDIT_ERRORS_TOTAL => "Audit events not written to the store, by reason.",
        m::AUDIT_EVENTS_TOTAL => "Audit events written.",
        m::AUDIT_BUFFERED_EVENTS => "Audit events accepted and not yet committed to the store.",
        m::AUDIT_STORE_UP => {
            "1 while the audit store takes writes, 0 while it is connecting or failing."
        }
        m::RATELIMIT_STORE_UP => {
            "1 while the shared rate-limit store answers, 0 while it does not."
        }
        m::TOOL_DRIFT_TOTAL => {
            "Tool definitions that changed since they were pinned, by upstream and tool."
        }
        m::TOOLS_WITHHELD => {
            "Tools an upstream lists that are withheld (drifted, unpinned or poisoned)."
        }
        m::SECURITY_VIOLATIONS_TOTAL => "Sandbox and scheme violations on virtual roots.",
        m::IN_FLIGHT_REQUESTS => "Requests in flight.",
        _ => "Airlock metric.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gauge_handle_moves_the_series_that_set_moves() {
        let metrics = Metrics::default();
        metrics.set(m::IN_FLIGHT_REQUESTS, &[], 0);
        let in_flight = metrics.gauge_handle(m::IN_FLIGHT_REQUESTS);
        in_flight.add(3);
        in_flight.add(-1);
        assert!(metrics.render().contains("airlock_in_flight_requests 2\n"));
        metrics.set(m::IN_FLIGHT_REQUESTS, &[], 7);
        in_flight.add(-8);
        assert!(metrics.render().contains("airlock_in_flight_requests -1\n"));
        in_flight.set(5);
        assert!(metrics.render().contains("airlock_in_flight_requests 5\n"));
    }

    #[test]
    fn renders_the_text_format() {
        let metrics = Metrics::default();
        metrics.inc(
            m::REQUESTS_TOTAL,
            &[("status", "200"), ("mcp_method", "tools/call")],
        );
        metrics.inc(
            m::REQUESTS_TOTAL,
            &[("status", "200"), ("mcp_method", "tools/call")],
        );
        metrics.set(m::POLICY_LKG_ACTIVE, &[], 1);
        metrics.observe(
            m::REQUEST_DURATION_SECONDS,
            &[("mcp_method", "ping")],
            0.003,
        );
        let text = metrics.render();
        assert!(text.contains("# TYPE airlock_requests_total counter\n"));
        assert!(
            text.contains("airlock_requests_total{status=\"200\",mcp_method=\"tools/call\"} 2\n")
        );
        assert!(text.contains("airlock_policy_lkg_active 1\n"));
        assert!(text.contains(
            "airlock_request_duration_seconds_bucket{mcp_method=\"ping\",le=\"0.0025\"} 0\n"
        ));
        assert!(text.contains(
            "airlock_request_duration_seconds_bucket{mcp_method=\"ping\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains("airlock_request_duration_seconds_count{mcp_method=\"ping\"} 1\n"));
        assert!(text.contains(
            "airlock_request_duration_seconds_bucket{mcp_method=\"ping\",le=\"60\"} 1\n"
        ));
        assert_eq!(render_labels(&[("a", "x\"y")]), "{a=\"x\\\"y\"}");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_in_the_count() {
        let metrics = Metrics::default();
        for seconds in [0.0001, 0.0005, 0.003, 0.003, 2.0, 61.0, f64::NAN] {
            metrics.observe(m::UPSTREAM_DURATION_SECONDS, &[], seconds);
        }
        let text = metrics.render();
        let bucket = |le: &str| {
            let prefix = format!("airlock_upstream_duration_seconds_bucket{{le=\"{le}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(prefix.as_str()))
                .unwrap_or_else(|| panic!("no bucket {le} in {text}"))
                .parse::<u64>()
                .unwrap()
        };
        assert_eq!(
            ["0.0005", "0.001", "0.0025", "0.005", "2.5", "60", "+Inf"].map(bucket),
            [2, 2, 2, 4, 5, 5, 7]
        );
        assert!(text.contains("airlock_upstream_duration_seconds_count 7\n"));
    }
}
