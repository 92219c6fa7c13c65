//! Metric names: a contract between the runtime that exports them and the alerts and dashboard
//! the compiler emits. The seeds' names are kept (`airlock_requests_total`, ...).

/// Requests served, by `status` (HTTP status code) and `mcp_method` (the JSON-RPC method).
pub const REQUESTS_TOTAL: &str = "airlock_requests_total";
/// Request latency histogram, seconds, by `mcp_method`.
pub const REQUEST_DURATION_SECONDS: &str = "airlock_request_duration_seconds";
/// Requests that failed (HTTP status 4xx/5xx), by `status` and `error_type`.
pub const REQUESTS_FAILED_TOTAL: &str = "airlock_requests_failed_total";
/// Authentication attempts (every request carrying or lacking a token).
pub const AUTH_ATTEMPTS_TOTAL: &str = "airlock_auth_attempts_total";
/// Successful authentications.
pub const AUTH_SUCCESS_TOTAL: &str = "airlock_auth_success_total";
/// Failed authentications, by `error_type`.
pub const AUTH_FAILURES_TOTAL: &str = "airlock_auth_failures_total";
/// Policy decisions, by `decision` (`allow`/`deny`) and `cache` (`hit`/`miss`).
pub const POLICY_DECISIONS_TOTAL: &str = "airlock_policy_decisions_total";
/// Policy reloads, by `result` (`success`/`failure`).
pub const POLICY_RELOADS_TOTAL: &str = "airlock_policy_reloads_total";
/// 1 while the last-known-good policy serves because the newest one failed to compile.
pub const POLICY_LKG_ACTIVE: &str = "airlock_policy_lkg_active";
/// Requests refused by a rate limit, by `limit` (`token`/`ip`/`tenant`/`failed_auth`).
pub const RATE_LIMITED_TOTAL: &str = "airlock_rate_limited_total";
/// DLP redactions, by `pattern`.
pub const DLP_REDACTIONS_TOTAL: &str = "airlock_dlp_redactions_total";
/// Upstream calls that failed, by `upstream` and `error_type`.
pub const UPSTREAM_ERRORS_TOTAL: &str = "airlock_upstream_errors_total";
/// 1 when the upstream answered its last health check, by `upstream`.
pub const UPSTREAM_UP: &str = "airlock_upstream_up";
/// Upstream call latency histogram, seconds, by `upstream`.
pub const UPSTREAM_DURATION_SECONDS: &str = "airlock_upstream_duration_seconds";
/// Audit events that could not be written (buffered or lost), by `reason`.
pub const AUDIT_ERRORS_TOTAL: &str = "airlock_audit_errors_total";
/// Audit events written.
pub const AUDIT_EVENTS_TOTAL: &str = "airlock_audit_events_total";
/// Audit events accepted and not yet committed to the store (at most `audit.bufferSize`).
pub const AUDIT_BUFFERED_EVENTS: &str = "airlock_audit_buffered_events";
/// 1 while the audit store takes writes, 0 while it is connecting or failing (writes or probes).
pub const AUDIT_STORE_UP: &str = "airlock_audit_store_up";
/// 1 while the shared rate-limit store answers, 0 while it does not (limits are then local, or
/// requests refused, as `onUnavailable` says).
pub const RATELIMIT_STORE_UP: &str = "airlock_ratelimit_store_up";
/// Tool definitions that changed since they were pinned, by `upstream` and `tool` (the lock's
/// names: bounded by the lock).
pub const TOOL_DRIFT_TOTAL: &str = "airlock_tool_drift_total";
/// Tools an upstream lists that are withheld (drifted, unpinned or poisoned), by `upstream`.
pub const TOOLS_WITHHELD: &str = "airlock_tools_withheld";
/// Path-sandbox and scheme violations on virtual roots.
pub const SECURITY_VIOLATIONS_TOTAL: &str = "airlock_security_violations_total";
/// Requests in flight.
pub const IN_FLIGHT_REQUESTS: &str = "airlock_in_flight_requests";
