//! The record of what happened: the typed record of each request (`exchange`), from which come
//! the hash-chained audit trail (`audit`), one log line per request (`log`, written through `log_sink`, set up by `telemetry`), Prometheus metrics (`metrics`),
//! OTLP traces (`traces`), request ids (`ids`) and the timestamps they carry (`clock`).

pub mod audit;
pub(crate) mod clock;
pub(crate) mod exchange;
pub(crate) mod ids;
pub(crate) mod log;
pub(crate) mod log_sink;
pub mod metrics;
pub(crate) mod telemetry;
pub(crate) mod traces;
