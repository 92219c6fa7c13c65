//! Each upstream answers `initialize` and lists its tools, as the gateway would connect to it;
//! tools named in `allowTools` that the upstream does not offer are a warning, and tools the
//! gateway would withhold (drifted from their pin, unpinned, poisoned) fail with their reason.

use super::Check;
use crate::record::metrics::Metrics;
use crate::upstream::Upstream;
use airlock_schema::runtime::FrozenConfig;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub async fn check(config: &FrozenConfig) -> Vec<Check> {
    let client = match crate::app::http_client() {
        Ok(client) => client,
        Err(error) => {
            return vec![Check::fail(
                "upstreams",
                error.to_string(),
                "see the reason",
            )];
        }
    };
    let mut checks = Vec::new();
    for upstream in &config.upstreams {
        let name = format!("upstream.{}", upstream.name);
        let connection = match Upstream::new(
            upstream,
            client.clone(),
            Arc::new(Metrics::default()),
            crate::upstream::Integrity::new(&config.tools, &upstream.name),
            None,
        ) {
            Ok(connection) => connection,
            Err(error) => {
                checks.push(Check::fail(
                    name,
                    error.to_string(),
                    "check the upstream's secrets (headers, env) are mounted",
                ));
                continue;
            }
        };
        let limit = Duration::from_millis(upstream.timeout_ms) + Duration::from_secs(5);
        let outcome = tokio::time::timeout(limit, connection.probe()).await;
        let verdict = match outcome {
            Err(_) => Check::fail(
                name,
                format!("no answer to initialize within {} s", limit.as_secs()),
                "check that the server runs and is reachable (address, socket path, command), and its timeout",
            ),
            Ok(Err(error)) => Check::fail(
                name,
                format!("initialize failed: {}", error.describe()),
                "check the upstream's address or command and that it speaks MCP (streamable HTTP or stdio)",
            ),
            Ok(Ok(())) => {
                let catalog = connection.catalog();
                if !catalog.withheld.is_empty() {
                    checks.push(withheld_check(&name, &catalog.withheld));
                }
                tools_check(&name, upstream, &catalog.tools)
            }
        };
        checks.push(verdict);
        connection.shutdown();
    }
    checks
}

fn tools_check(
    name: &str,
    upstream: &airlock_schema::runtime::UpstreamConfig,
    tools: &[Value],
) -> Check {
    let offered: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    let missing: Vec<&str> = upstream
        .allow_tools
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|t| !offered.contains(t))
        .collect();
    if missing.is_empty() {
        Check::pass(
            name,
            format!("answers initialize; offers {} tool(s)", offered.len()),
        )
    } else {
        Check::warn(
            name,
            format!(
                "allowTools names {missing:?}, which the upstream does not offer (it offers {offered:?})"
            ),
            "fix the names in allowTools (they are the upstream's own names, before toolPrefix)",
        )
    }
}

/// The tools the gateway would withhold, each with why.
fn withheld_check(
    name: &str,
    withheld: &std::collections::BTreeMap<String, crate::upstream::Withheld>,
) -> Check {
    use crate::upstream::Withheld;
    let reasons: Vec<String> = withheld
        .iter()
        .map(|(tool, why)| match why {
            Withheld::DefinitionChanged { pinned, actual } => {
                format!("{tool} changed since it was pinned ({pinned} is now {actual})")
            }
            Withheld::NotPinned => format!("{tool} is not pinned"),
            Withheld::Poisoned { markers } => format!(
                "{tool} carries {}",
                markers
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect();
    Check::fail(
        format!("{name}.tools"),
        format!("{} tool(s) withheld: {}", reasons.len(), reasons.join("; ")),
        "review the change with `airlock tools diff --config ... --lock airlock.tools.json`; if it is sound, pin it again (`airlock tools pin`) and rebuild",
    )
}
