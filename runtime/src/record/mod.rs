//! The record of what happened: the typed record of each request (`exchange`), from which come
//! the hash-chained audit trail (`audit`), one log line per request (`log`, written through `log_sink`, set up by `telemetry`), Prometheus metrics (`metrics`),
//! OTLP traces (`traces`) and request ids (`ids`).

pub mod audit;
pub mod exchange;
pub mod ids;
pub mod log;
pub mod log_sink;
pub mod metrics;
pub mod telemetry;
pub mod traces;
