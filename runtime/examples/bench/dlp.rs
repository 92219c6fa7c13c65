//! DLP scan speed with 20 standard patterns over 1 MiB of realistic tool output: clean (no
//! secret) and dirty (a secret every ~2 KiB), through the gateway's `Redactor`; and a plain
//! `RegexSet` over the clean text for comparison (what the prefilter replaced). Then the answer
//! path of a 1 MiB `tools/call` result from an HTTP upstream: as a tree (parsed, walked,
//! serialized: what the gateway did before) and as text (validated, scanned, copied).

use airlock::enforce::dlp::{Counts, Redactor};
use airlock::mcp::jsonrpc::Json;
use airlock_schema::runtime::DlpRule;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Typical secret and personal-data detectors, as teams write them.
pub const STANDARD: [(&str, &str); 20] = [
    ("email", r"(?i)[a-z0-9._%+-]{1,64}@[a-z0-9.-]+\.[a-z]{2,}"),
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "aws-secret-key",
        r"(?i)aws_secret_access_key\s*[:=]\s*[A-Za-z0-9/+=]{40}",
    ),
    ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
    ("github-pat", r"\bgithub_pat_[A-Za-z0-9_]{82}\b"),
    ("slack-token", r"\bxox[baprs]-[A-Za-z0-9-]{10,72}\b"),
    (
        "slack-webhook",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
    ),
    ("stripe-key", r"\b(?:sk|rk)_live_[A-Za-z0-9]{24,99}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
    ),
    ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    ("bearer", r"(?i)\bbearer\s+[a-z0-9._~+/-]{16,}=*"),
    (
        "url-credentials",
        r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:@/]+:[^\s:@/]+@",
    ),
    ("password", r"(?i)\b(?:password|passwd|pwd)\s*[:=]\s*\S{6,}"),
    ("us-ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
    (
        "credit-card",
        r"\b(?:4\d{3}|5[1-5]\d{2}|3[47]\d{2}|6011)[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,4}\b",
    ),
    (
        "sendgrid-key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
    ),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("twilio-key", r"\bSK[0-9a-fA-F]{32}\b"),
    ("azure-storage-key", r"(?i)AccountKey=[A-Za-z0-9+/=]{88}"),
];

/// A pattern with no literal at all: it costs one full regex pass over every text.
const IBAN: &str = r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b";

const SECRETS: [&str; 6] = [
    "AKIAABCDEFGHIJKLMNOP",
    "ops@example.com",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "Bearer abcdefghijklmnop1234",
    "123-45-6789",
    "xoxb-1234567890-abcdefghij",
];

/// Tool output as it looks: prose, code, JSON and logs, with numbers, dates and paths.
const LINES: [&str; 8] = [
    "The deployment finished after 42 retries; see the runbook for the rollout on 2026-11-23.",
    "fn resolve(path: &str) -> Result<PathBuf, Error> { let parts = path.split('/'); Ok(root.join(parts)) }",
    "{\"id\": 1842, \"title\": \"Quarterly report\", \"tags\": [\"finance\", \"q3\"], \"size\": 20480}",
    "2026-11-23T04:17:59Z INFO request handled method=tools/call status=200 latency_ms=3.2",
    "Install the chart with helm upgrade --install and check the pods in the namespace.",
    "src/gateway/mod.rs:128: the policy decides before the upstream is called, never after.",
    "| region | requests | errors |\n| eu-west-1 | 10,482 | 3 |",
    "Users can read files under the repository root but cannot write outside artifacts.",
];

pub fn corpus(bytes: usize, secret_every: Option<usize>) -> String {
    let mut text = String::with_capacity(bytes + 256);
    let mut next_secret = secret_every.unwrap_or(usize::MAX);
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(LINES[i % LINES.len()]);
        text.push('\n');
        if text.len() >= next_secret {
            text.push_str("token: ");
            text.push_str(SECRETS[i % SECRETS.len()]);
            text.push('\n');
            next_secret += secret_every.unwrap_or(usize::MAX);
        }
        i += 1;
    }
    text
}

pub fn rules() -> Vec<DlpRule> {
    STANDARD
        .iter()
        .map(|(name, regex)| DlpRule {
            name: name.to_string(),
            regex: regex.to_string(),
            replacement: format!("[redacted-{name}]"),
        })
        .collect()
}

/// MB/s (10^6 bytes) of `scan` over `text`, the median of timed rounds of ~0.2 s.
fn throughput(text: &str, mut scan: impl FnMut(&str)) -> f64 {
    scan(text);
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            let mut rounds = 0;
            while started.elapsed() < Duration::from_millis(200) {
                scan(text);
                rounds += 1;
            }
            (text.len() * rounds) as f64 / started.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

pub fn run() {
    let redactor = Redactor::new(&rules()).expect("the standard patterns compile");
    let clean = corpus(1 << 20, None);
    let dirty = corpus(1 << 20, Some(2048));
    let mut counts = Counts::new();
    assert!(
        redactor.redact_str(&clean, &mut counts).is_none(),
        "the clean corpus has no secret"
    );
    let redacted = redactor
        .redact_str(&dirty, &mut counts)
        .expect("the dirty corpus has secrets");
    let found: u64 = counts.iter().sum();
    assert!(
        SECRETS.iter().all(|s| !redacted.contains(s)),
        "every secret is redacted"
    );
    println!("20 patterns, 1 MiB of tool output ({found} secrets in the dirty text)");
    println!(
        "clean text   {:>7.0} MB/s",
        throughput(&clean, |t| assert!(
            redactor.redact_str(t, &mut Counts::new()).is_none()
        ))
    );
    println!(
        "dirty text   {:>7.0} MB/s (finding and replacing every secret)",
        throughput(&dirty, |t| assert!(
            redactor.redact_str(t, &mut Counts::new()).is_some()
        ))
    );
    let mut slowest: Vec<(f64, &str)> = STANDARD
        .iter()
        .map(|(name, pattern)| {
            let regex = regex::Regex::new(pattern).expect("the pattern compiles");
            (
                throughput(&clean, |t| assert!(regex.find_iter(t).next().is_none())),
                *name,
            )
        })
        .collect();
    slowest.sort_by(|a, b| a.0.total_cmp(&b.0));
    let listed: Vec<String> = slowest[..5]
        .iter()
        .map(|(rate, name)| format!("{name} {rate:.0}"))
        .collect();
    println!(
        "slowest single patterns on clean text, MB/s: {}",
        listed.join(", ")
    );
    let mut with_iban = rules();
    with_iban.push(DlpRule {
        name: "iban".into(),
        regex: IBAN.into(),
        replacement: "[redacted-iban]".into(),
    });
    let with_iban = Redactor::new(&with_iban).expect("the patterns compile");
    println!(
        "clean text, 21st pattern without any literal (IBAN) {:>7.0} MB/s",
        throughput(&clean, |t| assert!(
            with_iban.redact_str(t, &mut Counts::new()).is_none()
        ))
    );
    let set = regex::RegexSet::new(STANDARD.iter().map(|(_, r)| r)).expect("the set compiles");
    println!(
        "clean text, plain RegexSet::is_match (for comparison) {:>5.0} MB/s",
        throughput(&clean, |t| assert!(!set.is_match(t)))
    );
    answer_path(&redactor, &clean, &dirty);
}

/// A `tools/call` result as upstreams write it: one text item per line of `text`.
fn tool_result(text: &str) -> String {
    let items: Vec<Value> = text
        .lines()
        .map(|line| json!({"type": "text", "text": line}))
        .collect();
    serde_json::to_string(&json!({"content": items, "isError": false})).expect("serializes")
}

/// The answer path, from the result's JSON text to the response body, both ways.
fn answer_path(redactor: &Redactor, clean: &str, dirty: &str) {
    let id = Value::from(7);
    let as_tree = |result: &str| {
        let tree: Value = serde_json::from_str(result).expect("the result is JSON");
        let body = redactor
            .redact(tree, &mut Counts::new())
            .into_jsonrpc_result(&id);
        assert!(body.as_bytes().len() > result.len() / 2);
    };
    let as_text = |result: &str| {
        let text: &RawValue = serde_json::from_str(result).expect("the result is JSON");
        let body = redactor
            .redact(Json::Text(text.to_owned()), &mut Counts::new())
            .into_jsonrpc_result(&id);
        assert!(body.as_bytes().len() > result.len() / 2);
    };
    for (name, text) in [("clean", clean), ("dirty", dirty)] {
        let result = tool_result(text);
        println!(
            "a {} KiB tools/call result, {name}: as a tree {:>5.0} MB/s, as text {:>5.0} MB/s",
            result.len() / 1024,
            throughput(&result, as_tree),
            throughput(&result, as_text)
        );
    }
}
