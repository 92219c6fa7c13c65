//! Authorization with regorus. The entrypoint (e.g. `data.airlock.authz.allow`) is compiled to
//! the RVM and evaluated on a per-thread VM; on a denial, the optional `reason` and `rule_id`
//! rules of the same package explain it. The fast path is one execution of a generated rule
//! that yields the verdict and, only on a denial, both explanations (rules they share, such as
//! the production example's `outcome` and `allow`, are evaluated once). Whenever that path
//! cannot give exactly the reference answer (it errs, or the policy reads `data` whole), the
//! reference path decides: the entrypoint alone with lenient builtins, then each explanation
//! with strict ones, on the RVM or else the interpreter. Decisions are cached with a TTL and a size bound, keyed
//! by the whole input (so per tenant and subject). The policy reloads on SIGHUP or the admin
//! endpoint from the mounted modules; a policy that fails to compile leaves the
//! last-known-good one serving, and says so in a metric and the logs.

use crate::record::metrics::Metrics;
use airlock_schema::metrics as m;
use airlock_schema::runtime::{PolicyConfig, PolicyModule};
use arc_swap::ArcSwap;
use regorus::Value;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The input document of every decision; also the decision cache's key (hashed field by
/// field, compared whole: no serialization on a cache hit). A request's input borrows its text
/// from the request; only a cache miss copies it, into the cache's [`Key`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Hash)]
pub struct Input<'a> {
    pub subject: Cow<'a, str>,
    pub tenant: Cow<'a, str>,
    pub groups: Cow<'a, [String]>,
    pub tool: Cow<'a, str>,
    pub resource: Cow<'a, str>,
    pub method: Cow<'a, str>,
    pub metadata: Metadata,
}

impl Input<'_> {
    /// The same input owning its text.
    pub fn into_owned(self) -> Input<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        Input {
            subject: owned(self.subject),
            tenant: owned(self.tenant),
            groups: Cow::Owned(self.groups.into_owned()),
            tool: owned(self.tool),
            resource: owned(self.resource),
            method: owned(self.method),
            metadata: self.metadata,
        }
    }
}

/// The decision cache's key: an input that owns its text, looked up with a borrowed one (its
/// hash and equality are the input's, as `Borrow` requires).
#[derive(PartialEq, Eq, Hash)]
struct Key(Input<'static>);

impl<'a> std::borrow::Borrow<Input<'a>> for Key {
    fn borrow(&self) -> &Input<'a> {
        &self.0
    }
}

/// `input.metadata`: a handful of members named by the gateway. A sorted map of static names:
/// built, hashed and compared (on every cache hit) without hashing its keys.
pub type Metadata = std::collections::BTreeMap<&'static str, serde_json::Value>;

impl Input<'_> {
    /// The input as a Rego value, built directly (a detour through `serde_json::Value` cost
    /// more than evaluating a small policy).
    fn to_value(&self) -> Value {
        let text = |s: &str| Value::from(s);
        let mut object = std::collections::BTreeMap::new();
        object.insert(text("subject"), text(&self.subject));
        object.insert(text("tenant"), text(&self.tenant));
        let groups: Vec<Value> = self.groups.iter().map(|g| text(g)).collect();
        object.insert(text("groups"), Value::from(groups));
        object.insert(text("tool"), text(&self.tool));
        object.insert(text("resource"), text(&self.resource));
        object.insert(text("method"), text(&self.method));
        let metadata = self
            .metadata
            .iter()
            .map(|(&k, v)| (text(k), json_value(v)))
            .collect::<std::collections::BTreeMap<_, _>>();
        object.insert(text("metadata"), Value::from(metadata));
        Value::from(object)
    }
}

fn json_value(value: &serde_json::Value) -> Value {
    use serde::Deserialize as _;
    Value::deserialize(value).unwrap_or(Value::Undefined)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    pub reason: Option<String>,
    pub rule_id: Option<String>,
    pub cached: bool,
}

/// A compiled policy generation.
struct Compiled {
    generation: u64,
    /// The fast path's program (see `decision_module`), when the policy allows one.
    decision: Option<Arc<Program>>,
    /// The entrypoint, then the explanation rules the RVM runs (see `explanation`).
    program: Arc<Program>,
    /// Where a denial's `reason` and `rule_id` are evaluated (only on denials).
    explanation: [Explainer; 2],
    /// The reference evaluation of the explanations: used for a rule the RVM cannot lower or
    /// fails on (the interpreter is ~10x slower, so only then).
    engine: Mutex<regorus::Engine>,
    package: String,
    sha256: String,
    /// Whether a module mentions `requests_per_minute`: only then does the gateway count
    /// requests for the input (a count in the input makes every decision's key new).
    reads_request_rate: bool,
}

/// The package of the generated decision rule; a policy that names it gets no fast path.
const DECISION_PACKAGE: &str = "airlock_gateway_decision";

/// The generated rule behind the fast path: `true` when the entrypoint is `true`, else (`else`,
/// so an allowed request evaluates nothing more) the set of `["reason", text]` and
/// `["rule_id", text]` for the explanation rules the policy defines (`explained`: rule name and
/// full path), evaluated in the same run as the verdict so the rules they share are cached.
fn decision_module(entrypoint: &str, explained: &[(&str, &str)]) -> String {
    let denied = if explained.is_empty() {
        "set()"
    } else {
        "explanation"
    };
    let mut module = format!(
        "package {DECISION_PACKAGE}\nimport rego.v1\n\n\
         decision := true if {{\n\t{entrypoint} == true\n}} else := {denied}\n"
    );
    for (rule, path) in explained {
        module.push_str(&format!(
            "\nexplanation contains [\"{rule}\", text] if {{\n\ttext := {path}\n}}\n"
        ));
    }
    module
}

/// Whether a module may read the `data` document whole (`data[x]`, `some x in data`, ...):
/// that would see the generated package, so such a policy keeps the reference path. A plain
/// scan, conservative (a comment counts too).
fn reads_data_whole(source: &str) -> bool {
    let bytes = source.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    source.match_indices("data").any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 4).copied();
        !before.is_some_and(word) && !after.is_some_and(|b| word(b) || b == b'.')
    }) || source.contains(DECISION_PACKAGE)
}

/// The explanation rules of the entrypoint's package, in `Compiled::explanation` order.
const EXPLANATION_RULES: [&str; 2] = ["reason", "rule_id"];

/// How one explanation rule is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Explainer {
    /// The policy does not define it: a denial has no such text.
    Undefined,
    /// The RVM program's entry point of that index.
    Vm(usize),
    /// The RVM cannot lower it; the interpreter evaluates it.
    Interpreter,
}

/// The metadata key of the caller's requests in the last minute.
pub const REQUESTS_PER_MINUTE: &str = "requests_per_minute";

/// A thread's VMs for one policy generation: registers and caches are reused from decision to
/// decision, and no lock is taken.
struct Vms {
    generation: u64,
    /// Runs `Compiled::program` (the reference path).
    reference: RegoVM,
    /// Runs `Compiled::decision` (the fast path).
    decision: Option<RegoVM>,
}

impl Vms {
    fn new(policy: &Compiled) -> Self {
        let vm = |program: &Arc<Program>| {
            let mut vm = RegoVM::new();
            vm.set_max_instructions(airlock_schema::rego::MAX_POLICY_INSTRUCTIONS);
            vm.load_program(program.clone());
            vm
        };
        Self {
            generation: policy.generation,
            reference: vm(&policy.program),
            decision: policy.decision.as_ref().map(|program| {
                let mut fast = vm(program);
                // Strict: a builtin or type error aborts instead of turning undefined, so a
                // run that succeeds took no branch where lenient and strict evaluation
                // differ: its verdict is the lenient entrypoint's, its explanations the
                // strict ones.
                fast.set_strict_builtin_errors(true);
                fast
            }),
        }
    }
}

thread_local! {
    static VMS: RefCell<Option<Vms>> = const { RefCell::new(None) };
}

static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// One explanation rule's outcome on the VM.
enum Explained {
    /// Its value, when a string.
    Text(Option<String>),
    /// The VM could not evaluate it: the interpreter decides.
    Unknown,
}

/// An explanation rule's value as the 403 shows it: strings only.
fn text(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_string()),
        _ => None,
    }
}

/// `sha256:<hex>` of modules, as airlockc computes it.
pub fn modules_hash(modules: &[PolicyModule]) -> String {
    let mut hasher = Sha256::new();
    for module in modules {
        hasher.update(module.path.as_bytes());
        hasher.update([0]);
        hasher.update(module.source.as_bytes());
        hasher.update([0]);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Why a policy cannot serve: its modules cannot be read, or do not compile. The regorus
/// stages report a multi-line excerpt; the variants keep its location and message, one line.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A mounted module cannot be read.
    #[error("cannot read {}: {source}", .file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A reload was asked of a config with nowhere to reload from.
    #[error("this config has no policy reload directory")]
    NoReloadDirectory,
    /// Brackets nest beyond what either side parses.
    #[error(
        "{module}:{line}:{column}: brackets nest deeper than {} levels",
        airlock_schema::rego::MAX_NESTING
    )]
    TooDeep {
        module: String,
        line: usize,
        column: usize,
    },
    /// A module does not parse.
    #[error("{0}")]
    Parse(String),
    /// The modules do not compile with the entrypoint.
    #[error("{0}")]
    Compile(String),
    /// The compiled policy cannot be lowered to the RVM (a construct it cannot run).
    #[error("{0}")]
    Lower(String),
}

/// Compiles modules as a reload would; the policy's digest, or why it does not compile.
pub fn check(entrypoint: &str, modules: &[PolicyModule]) -> Result<String, PolicyError> {
    compile(entrypoint, modules).map(|c| c.sha256)
}

/// The modules in `dir` under the given file names (what a reload reads).
pub fn read_modules(dir: &str, paths: &[String]) -> Result<Vec<PolicyModule>, PolicyError> {
    paths
        .iter()
        .map(|path| {
            let file = Path::new(dir).join(path);
            match std::fs::read_to_string(&file) {
                Ok(source) => Ok(PolicyModule {
                    path: path.clone(),
                    source,
                }),
                Err(source) => Err(PolicyError::Read { file, source }),
            }
        })
        .collect()
}

fn compile(entrypoint: &str, modules: &[PolicyModule]) -> Result<Compiled, PolicyError> {
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(true);
    engine.set_gather_prints(true);
    for module in modules {
        if let Some(offset) = airlock_schema::rego::too_deep(&module.source) {
            let (line, column) = airlock_schema::rego::line_column(&module.source, offset);
            return Err(PolicyError::TooDeep {
                module: module.path.clone(),
                line,
                column,
            });
        }
        engine
            .add_policy(module.path.clone(), module.source.clone())
            .map_err(|e| PolicyError::Parse(one_line(&e.to_string())))?;
    }
    let compiled = engine
        .compile_with_entrypoint(&entrypoint.into())
        .map_err(|e| PolicyError::Compile(one_line(&e.to_string())))?;
    let package = entrypoint
        .rsplit_once('.')
        .map_or(String::new(), |(p, _)| p.to_string());
    let defined = EXPLANATION_RULES.map(|rule| {
        let path = format!("{package}.{rule}");
        compiled.get_rules().contains_key(&path).then_some(path)
    });
    let explained: Vec<&str> = defined.iter().flatten().map(String::as_str).collect();
    // The explanation rules ride in the entrypoint's program, so a denial is explained on the
    // VM that decided it (the interpreter took 24 µs per rule for the production example). A
    // policy whose explanations use a construct the RVM cannot lower still serves: the
    // interpreter explains it, as before.
    let (program, explanation) =
        match Compiler::compile_from_policy(&compiled, &[&[entrypoint][..], &explained].concat()) {
            Ok(program) => {
                let explanation = defined.each_ref().map(|path| match path {
                    Some(path) => program
                        .get_entry_points()
                        .get_index_of(path.as_str())
                        .map_or(Explainer::Interpreter, Explainer::Vm),
                    None => Explainer::Undefined,
                });
                (program, explanation)
            }
            Err(_) => {
                let program = Compiler::compile_from_policy(&compiled, &[entrypoint])
                    .map_err(|e| PolicyError::Lower(one_line(&e.to_string())))?;
                let explanation = defined.each_ref().map(|path| {
                    path.as_ref()
                        .map_or(Explainer::Undefined, |_| Explainer::Interpreter)
                });
                (program, explanation)
            }
        };
    let decision = decision_program(entrypoint, modules, &explained);
    Ok(Compiled {
        generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        decision,
        program,
        explanation,
        engine: Mutex::new(engine),
        package,
        sha256: modules_hash(modules),
        reads_request_rate: modules
            .iter()
            .any(|m| m.source.contains(REQUESTS_PER_MINUTE)),
    })
}

/// The fast path's program, or `None` when the policy must keep the reference path: it reads
/// `data` whole, or the generated rule does not compile or lower with it.
fn decision_program(
    entrypoint: &str,
    modules: &[PolicyModule],
    explained: &[&str],
) -> Option<Arc<Program>> {
    if modules.iter().any(|m| reads_data_whole(&m.source)) {
        return None;
    }
    let named: Vec<(&str, &str)> = explained
        .iter()
        .map(|path| (path.rsplit_once('.').map_or(*path, |(_, rule)| rule), *path))
        .collect();
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(true);
    for module in modules {
        engine
            .add_policy(module.path.clone(), module.source.clone())
            .ok()?;
    }
    engine
        .add_policy(
            format!("{DECISION_PACKAGE}.rego"),
            decision_module(entrypoint, &named),
        )
        .ok()?;
    let entry = format!("data.{DECISION_PACKAGE}.decision");
    let compiled = engine
        .compile_with_entrypoint(&entry.as_str().into())
        .ok()?;
    Compiler::compile_from_policy(&compiled, &[&entry]).ok()
}

/// regorus errors are multi-line excerpts; logs and responses get the location and the message.
fn one_line(text: &str) -> String {
    let location = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .unwrap_or("");
    let message = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(text.trim());
    if location.is_empty() {
        message.to_string()
    } else {
        format!("{location}: {message}")
    }
}

struct CacheEntry {
    decision: Decision,
    at: Instant,
    generation: u64,
}

pub struct Authorizer {
    entrypoint: String,
    reload_dir: Option<String>,
    module_paths: Vec<String>,
    current: ArcSwap<Compiled>,
    lkg: AtomicBool,
    ttl: Duration,
    capacity: usize,
    cache: Mutex<HashMap<Key, CacheEntry, foldhash::fast::RandomState>>,
    metrics: Arc<Metrics>,
    /// `airlock_policy_decisions_total` by (allow, cached).
    decisions: [[Arc<AtomicU64>; 2]; 2],
    reload_lock: Mutex<()>,
}

/// The outcome of a reload, for the admin endpoint and logs.
#[derive(Clone, Debug, Serialize)]
pub struct ReloadOutcome {
    pub result: &'static str,
    pub policy_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub last_known_good: bool,
}

impl Authorizer {
    pub fn new(config: &PolicyConfig, metrics: Arc<Metrics>) -> Result<Self, PolicyError> {
        let compiled = compile(&config.entrypoint, &config.modules)?;
        metrics.set(m::POLICY_LKG_ACTIVE, &[], 0);
        Ok(Self {
            entrypoint: config.entrypoint.clone(),
            reload_dir: config.reload_dir.clone(),
            module_paths: config.modules.iter().map(|m| m.path.clone()).collect(),
            current: ArcSwap::from_pointee(compiled),
            lkg: AtomicBool::new(false),
            ttl: Duration::from_millis(config.cache_ttl_ms),
            capacity: config.cache_size as usize,
            cache: Mutex::new(HashMap::default()),
            decisions: [false, true].map(|allow| {
                [false, true].map(|cached| {
                    metrics.counter_handle(
                        m::POLICY_DECISIONS_TOTAL,
                        &[
                            ("decision", if allow { "allow" } else { "deny" }),
                            ("cache", if cached { "hit" } else { "miss" }),
                        ],
                    )
                })
            }),
            metrics,
            reload_lock: Mutex::new(()),
        })
    }

    pub fn sha256(&self) -> String {
        self.current.load().sha256.clone()
    }
    /// Whether the serving policy reads `input.metadata.requests_per_minute`.
    pub fn reads_request_rate(&self) -> bool {
        self.current.load().reads_request_rate
    }
    pub fn last_known_good(&self) -> bool {
        self.lkg.load(Ordering::Relaxed)
    }

    /// Decides one request.
    pub fn decide(&self, input: &Input<'_>) -> Decision {
        let policy = self.current.load();
        if !self.ttl.is_zero() {
            let cache = self.cache.lock().expect("decision cache lock");
            if let Some(entry) = cache
                .get(input)
                .filter(|e| e.generation == policy.generation && e.at.elapsed() < self.ttl)
            {
                let decision = Decision {
                    cached: true,
                    ..entry.decision.clone()
                };
                drop(cache);
                self.count(&decision);
                return decision;
            }
        }
        let decision = self.evaluate(&policy, input);
        if !self.ttl.is_zero() && self.capacity > 0 {
            let mut cache = self.cache.lock().expect("decision cache lock");
            if cache.len() >= self.capacity {
                cache.retain(|_, e| e.generation == policy.generation && e.at.elapsed() < self.ttl);
                if cache.len() >= self.capacity {
                    cache.clear();
                }
            }
            cache.insert(
                Key(input.clone().into_owned()),
                CacheEntry {
                    decision: decision.clone(),
                    at: Instant::now(),
                    generation: policy.generation,
                },
            );
        }
        self.count(&decision);
        decision
    }

    fn count(&self, decision: &Decision) {
        self.decisions[usize::from(decision.allow)][usize::from(decision.cached)]
            .fetch_add(1, Ordering::Relaxed);
    }

    fn evaluate(&self, policy: &Compiled, input: &Input<'_>) -> Decision {
        let value = input.to_value();
        VMS.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot
                .as_ref()
                .is_none_or(|vms| vms.generation != policy.generation)
            {
                *slot = Some(Vms::new(policy));
            }
            let vms = slot.as_mut().expect("vms just set");
            if let Some(fast) = vms.decision.as_mut() {
                fast.set_input(value.clone());
                match fast.execute_entry_point_by_index(0) {
                    Ok(Value::Bool(true)) => {
                        return Decision {
                            allow: true,
                            reason: None,
                            rule_id: None,
                            cached: false,
                        };
                    }
                    Ok(Value::Set(explanation)) => return Self::denial(&explanation),
                    // An error, or anything unforeseen: the reference path answers.
                    _ => {}
                }
            }
            self.evaluate_reference(policy, &mut vms.reference, value)
        })
    }

    /// A denial with the fast path's explanations.
    fn denial(explanation: &regorus::value::Set) -> Decision {
        let [mut reason, mut rule_id] = [None, None];
        for entry in explanation.iter() {
            if let Value::Array(pair) = entry
                && let [Value::String(rule), value] = pair.as_slice()
            {
                let slot = match rule.as_ref() {
                    "reason" => &mut reason,
                    _ => &mut rule_id,
                };
                *slot = text(value.clone());
            }
        }
        Decision {
            allow: false,
            reason,
            rule_id,
            cached: false,
        }
    }

    /// The reference path: the entrypoint alone with lenient builtins (as decisions always
    /// were), then, on a denial, each explanation with strict builtins (as the interpreter
    /// gives them), a rule the VM fails on being asked of the interpreter rather than dropped.
    fn evaluate_reference(&self, policy: &Compiled, vm: &mut RegoVM, value: Value) -> Decision {
        vm.set_strict_builtin_errors(false);
        vm.set_input(value.clone());
        let allow = match vm.execute_entry_point_by_index(0) {
            Ok(Value::Bool(allow)) => allow,
            Ok(_) => false,
            Err(error) => {
                tracing::error!(request_id = crate::record::ids::current().as_deref(), error = %one_line(&error.to_string()), "policy evaluation failed; denying");
                return Decision {
                    allow: false,
                    reason: Some("the policy could not be evaluated".into()),
                    rule_id: None,
                    cached: false,
                };
            }
        };
        if allow {
            return Decision {
                allow,
                reason: None,
                rule_id: None,
                cached: false,
            };
        }
        vm.set_strict_builtin_errors(true);
        let explained = policy.explanation.map(|explainer| match explainer {
            Explainer::Undefined => Explained::Text(None),
            Explainer::Vm(index) => match vm.execute_entry_point_by_index(index) {
                Ok(value) => Explained::Text(text(value)),
                Err(_) => Explained::Unknown,
            },
            Explainer::Interpreter => Explained::Unknown,
        });
        let [reason, rule_id] = self.explain_rest(policy, &value, explained);
        Decision {
            allow,
            reason,
            rule_id,
            cached: false,
        }
    }

    /// The explanations the VM left unknown, from the interpreter.
    fn explain_rest(
        &self,
        policy: &Compiled,
        input: &Value,
        explained: [Explained; 2],
    ) -> [Option<String>; 2] {
        if explained.iter().all(|e| matches!(e, Explained::Text(_))) {
            return explained.map(|e| match e {
                Explained::Text(text) => text,
                Explained::Unknown => None,
            });
        }
        let mut engine = policy.engine.lock().expect("policy engine lock");
        engine.set_input(input.clone());
        let [reason, rule_id] = explained;
        [
            (reason, EXPLANATION_RULES[0]),
            (rule_id, EXPLANATION_RULES[1]),
        ]
        .map(|(e, rule)| match e {
            Explained::Text(text) => text,
            Explained::Unknown => engine
                .eval_rule(format!("{}.{rule}", policy.package))
                .ok()
                .and_then(text),
        })
    }

    /// Re-reads the policy modules and swaps them in if they compile; otherwise keeps the
    /// last-known-good policy. In-flight decisions finish on the policy they started with.
    pub fn reload(&self) -> ReloadOutcome {
        let _serial = self.reload_lock.lock().expect("reload lock");
        let modules = match self.read_modules() {
            Ok(modules) => modules,
            Err(error) => return self.reload_failed(error),
        };
        match compile(&self.entrypoint, &modules) {
            Ok(compiled) => {
                let sha256 = compiled.sha256.clone();
                self.current.store(Arc::new(compiled));
                self.cache.lock().expect("decision cache lock").clear();
                self.lkg.store(false, Ordering::Relaxed);
                self.metrics.set(m::POLICY_LKG_ACTIVE, &[], 0);
                self.metrics
                    .inc(m::POLICY_RELOADS_TOTAL, &[("result", "success")]);
                tracing::info!(policy_sha256 = %sha256, "policy reloaded");
                ReloadOutcome {
                    result: "reloaded",
                    policy_sha256: sha256,
                    error: None,
                    last_known_good: false,
                }
            }
            Err(error) => self.reload_failed(error),
        }
    }

    fn reload_failed(&self, error: PolicyError) -> ReloadOutcome {
        self.lkg.store(true, Ordering::Relaxed);
        self.metrics.set(m::POLICY_LKG_ACTIVE, &[], 1);
        self.metrics
            .inc(m::POLICY_RELOADS_TOTAL, &[("result", "failure")]);
        let sha256 = self.sha256();
        tracing::error!(error = %error, policy_sha256 = %sha256, error_type = "policy_reload_failed", "policy reload failed; the last-known-good policy keeps serving");
        ReloadOutcome {
            result: "failed",
            policy_sha256: sha256,
            error: Some(error.to_string()),
            last_known_good: true,
        }
    }

    fn read_modules(&self) -> Result<Vec<PolicyModule>, PolicyError> {
        let dir = self
            .reload_dir
            .as_ref()
            .ok_or(PolicyError::NoReloadDirectory)?;
        read_modules(dir, &self.module_paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"package airlock.authz
import rego.v1
default allow := false
allow if {
    "mcp.users" in input.groups
    input.tool in {"search_docs", "read_file"}
}
reason := sprintf("tool %v is not allowed", [input.tool]) if not allow
rule_id := "deny-tool" if not allow
"#;

    fn config(dir: Option<String>, source: &str) -> PolicyConfig {
        let modules = vec![PolicyModule {
            path: "policy.rego".into(),
            source: source.into(),
        }];
        PolicyConfig {
            entrypoint: "data.airlock.authz.allow".into(),
            sha256: modules_hash(&modules),
            modules,
            tests: Vec::new(),
            reload_dir: dir,
            cache_ttl_ms: 60_000,
            cache_size: 100,
        }
    }

    fn input(tool: &str) -> Input<'_> {
        Input {
            subject: "alice".into(),
            tenant: "t1".into(),
            groups: vec!["mcp.users".into()].into(),
            tool: tool.into(),
            resource: "".into(),
            method: "tools/call".into(),
            metadata: Default::default(),
        }
    }

    #[test]
    fn the_rego_input_is_the_json_input() {
        let mut with_metadata = input("read_file");
        with_metadata
            .metadata
            .insert("requests_per_minute", 10.into());
        with_metadata.metadata.insert(
            "nested",
            serde_json::json!({"a": [1, "x", null, true, 2.5]}),
        );
        assert_eq!(
            with_metadata.to_value(),
            Value::from(serde_json::to_value(&with_metadata).unwrap())
        );
    }

    #[test]
    fn decides_explains_and_caches() {
        let authz = Authorizer::new(&config(None, POLICY), Arc::new(Metrics::default())).unwrap();
        let allowed = authz.decide(&input("read_file"));
        assert!(allowed.allow && !allowed.cached);
        assert!(authz.decide(&input("read_file")).cached);
        let denied = authz.decide(&input("rm_rf"));
        assert_eq!(
            (
                denied.allow,
                denied.reason.as_deref(),
                denied.rule_id.as_deref()
            ),
            (false, Some("tool rm_rf is not allowed"), Some("deny-tool"))
        );
    }

    /// The RVM stops a program after 25,000 instructions unless told otherwise, which an
    /// ordinary allowlist of a few thousand entries exceeds: every call was denied with "the
    /// policy could not be evaluated" while `airlockc test` (the interpreter) passed.
    #[test]
    fn a_policy_over_thousands_of_entries_is_evaluated_not_cut_off() {
        let tools: Vec<String> = (0..5000).map(|i| format!("\"tool_{i}\"")).collect();
        let policy = format!(
            "package airlock.authz\nimport rego.v1\ndefault allow := false\n\
             tools := [{}]\n\
             allow if {{\n    some tool in tools\n    tool == input.tool\n}}\n",
            tools.join(",\n")
        );
        let authz = Authorizer::new(&config(None, &policy), Arc::new(Metrics::default())).unwrap();
        let last = authz.decide(&input("tool_4999"));
        assert!(last.allow, "{last:?}");
        assert!(!authz.decide(&input("tool_5000")).allow);
    }

    #[test]
    fn a_runaway_policy_is_stopped_and_denies() {
        let policy = "package airlock.authz\nimport rego.v1\ndefault allow := false\n\
             allow if {\n    some i in numbers.range(1, 100000)\n    \
             some j in numbers.range(1, 100000)\n    i + j == 0\n}\n";
        let authz = Authorizer::new(&config(None, policy), Arc::new(Metrics::default())).unwrap();
        let decision = authz.decide(&input("read_file"));
        assert_eq!(
            (decision.allow, decision.reason.as_deref()),
            (false, Some("the policy could not be evaluated"))
        );
    }

    #[test]
    fn deeply_nested_policies_are_refused_not_parsed_forever() {
        let deep = format!("{POLICY}\nx := {}1{}\n", "[".repeat(40), "]".repeat(40));
        let error = check("data.airlock.authz.allow", &config(None, &deep).modules)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("policy.rego:11:22: brackets nest deeper than 16"),
            "{error}"
        );
    }

    /// What the interpreter alone says of `input`, rule by rule: the reference the gateway's
    /// decisions must equal, however they are computed.
    fn reference(source: &str, input: &Input) -> (bool, Option<String>, Option<String>) {
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(true);
        engine
            .add_policy("policy.rego".into(), source.into())
            .unwrap();
        engine.set_input(Value::from(serde_json::to_value(input).unwrap()));
        let allow =
            engine.eval_rule("data.airlock.authz.allow".into()).unwrap() == Value::from(true);
        if allow {
            return (true, None, None);
        }
        let mut text = |rule: &str| match engine.eval_rule(format!("data.airlock.authz.{rule}")) {
            Ok(Value::String(s)) => Some(s.to_string()),
            _ => None,
        };
        (false, text("reason"), text("rule_id"))
    }

    /// A request of the table below: who asks, for what, and what the policy must answer.
    struct Case {
        groups: &'static [&'static str],
        method: &'static str,
        tool: &'static str,
        resource: &'static str,
        requests_per_minute: Option<u64>,
        rule_id: &'static str,
    }

    const fn call(
        groups: &'static [&'static str],
        tool: &'static str,
        resource: &'static str,
        rule_id: &'static str,
    ) -> Case {
        Case {
            groups,
            method: "tools/call",
            tool,
            resource,
            requests_per_minute: None,
            rule_id,
        }
    }

    const fn read(
        groups: &'static [&'static str],
        resource: &'static str,
        rule_id: &'static str,
    ) -> Case {
        Case {
            groups,
            method: "resources/read",
            tool: "",
            resource,
            requests_per_minute: None,
            rule_id,
        }
    }

    const USER: &[&str] = &["mcp.users"];
    const POWER: &[&str] = &["mcp.users", "mcp.power_users"];
    const WRITER: &[&str] = &["mcp.users", "mcp.writers"];

    /// Every outcome of the production example's policy, allowed and denied.
    const PRODUCTION_CASES: &[Case] = &[
        call(USER, "read_file", "mcp://repo/docs/guide.md", "allow"),
        call(USER, "search_docs", "", "allow"),
        call(POWER, "execute_command", "", "allow"),
        call(POWER, "write_file", "mcp://artifacts/out.txt", "allow"),
        read(USER, "mcp://repo/README.md", "allow"),
        read(WRITER, "mcp://artifacts/report.pdf", "allow"),
        Case {
            requests_per_minute: Some(200),
            ..call(USER, "read_file", "mcp://repo/a", "allow")
        },
        Case {
            requests_per_minute: Some(201),
            ..call(USER, "read_file", "mcp://repo/a", "deny-rate-limited")
        },
        call(&[], "read_file", "mcp://repo/a", "deny-missing-group"),
        call(&["engineering"], "search_docs", "", "deny-missing-group"),
        call(USER, "execute_command", "", "deny-tool"),
        call(USER, "write_file", "mcp://artifacts/x", "deny-tool"),
        call(USER, "rm \"-rf\"", "", "deny-tool"),
        Case {
            method: "prompts/get",
            ..call(USER, "", "", "deny-unsupported-request")
        },
        Case {
            method: "tools/list",
            ..call(USER, "", "", "deny-unsupported-request")
        },
        read(USER, "", "deny-unsupported-request"),
        read(USER, "mcp://repo/../etc/passwd", "deny-path"),
        read(USER, "mcp://repo/.git/config", "deny-path"),
        read(USER, "mcp://repo/docs/..", "deny-path"),
        read(USER, "mcp://repo/%2E%2E/secret", "deny-path"),
        call(USER, "read_file", "mcp://repo/a%2fb", "deny-path"),
        call(POWER, "write_file", "", "deny-write-without-resource"),
        call(
            POWER,
            "write_file",
            "mcp://repo/docs/guide.md",
            "deny-read-only",
        ),
        read(USER, "mcp://artifacts/report.pdf", "deny-artifacts-group"),
        read(USER, "https://example.com/x", "deny-resource"),
        call(USER, "read_file", "file:///etc/passwd", "deny-resource"),
    ];

    /// The minimal example's policy: by group alone.
    const MINIMAL_CASES: &[Case] = &[
        call(USER, "anything", "", "allow-mcp-users"),
        read(POWER, "mcp://x", "allow-mcp-users"),
        call(&[], "anything", "", "deny-missing-group"),
        read(&["mcp.writers"], "mcp://x", "deny-missing-group"),
    ];

    fn case_input(case: &Case) -> Input<'_> {
        let mut input = Input {
            groups: case.groups.iter().map(|g| g.to_string()).collect(),
            tool: case.tool.into(),
            resource: case.resource.into(),
            method: case.method.into(),
            ..input("")
        };
        input.metadata.insert("client_ip", "10.1.2.3".into());
        input
            .metadata
            .insert("protocol_version", "2025-06-18".into());
        if let Some(count) = case.requests_per_minute {
            input.metadata.insert(REQUESTS_PER_MINUTE, count.into());
        }
        input
    }

    /// Which path a policy's decisions take.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Speed {
        Fast,
        Reference,
    }

    /// The gateway's decisions (allow, reason, rule_id) equal the interpreter's, case by case,
    /// for the examples' policies and this module's own; each denial also lands on the rule it
    /// was written for, so the table covers every branch of the explanations.
    #[test]
    fn decisions_equal_the_interpreters_rule_by_rule() {
        let production = include_str!("../../../examples/production/policy.rego");
        let minimal = include_str!("../../../examples/minimal/policy.rego");
        let own: &[Case] = &[
            call(USER, "read_file", "", "allow"),
            call(USER, "rm_rf", "", "deny-tool"),
        ];
        // A reason the VM fails on (strict division by zero): the fast path errs and the
        // reference path asks the interpreter, which fails too, so only the rule_id shows.
        let failing_reason = POLICY.replace(
            "reason := sprintf(\"tool %v is not allowed\", [input.tool]) if not allow",
            "reason := sprintf(\"%v\", [1 / (count(input.groups) - count(input.groups))]) if not allow",
        );
        // A policy that reads `data` whole gets the reference path only.
        let reads_data = format!("{POLICY}\npackages := count(data)\n");
        for (source, cases, fast) in [
            (production, PRODUCTION_CASES, Speed::Fast),
            (minimal, MINIMAL_CASES, Speed::Fast),
            (POLICY, own, Speed::Fast),
            (failing_reason.as_str(), own, Speed::Fast),
            (reads_data.as_str(), own, Speed::Reference),
        ] {
            let mut uncached = config(None, source);
            uncached.cache_ttl_ms = 0;
            let authz = Authorizer::new(&uncached, Arc::new(Metrics::default())).unwrap();
            assert_eq!(
                authz.current.load().decision.is_some(),
                fast == Speed::Fast,
                "{source}"
            );
            for case in cases {
                let input = case_input(case);
                let expected = reference(source, &input);
                // Twice: the per-thread VM is reused from the first decision.
                for _ in 0..2 {
                    let decision = authz.decide(&input);
                    assert_eq!(
                        (
                            decision.allow,
                            decision.reason.clone(),
                            decision.rule_id.clone()
                        ),
                        expected,
                        "{input:?}"
                    );
                }
                let allowed = case.rule_id.starts_with("allow");
                assert_eq!(expected.0, allowed, "{input:?}");
                if !allowed {
                    assert_eq!(expected.2.as_deref(), Some(case.rule_id), "{input:?}");
                    assert_eq!(expected.1.is_some(), source != failing_reason, "{input:?}");
                }
            }
        }
    }

    #[test]
    fn a_broken_reload_keeps_the_last_known_good() {
        let dir = std::env::temp_dir().join(format!("airlock-authz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("policy.rego"), POLICY).unwrap();
        let authz = Authorizer::new(
            &config(Some(dir.display().to_string()), POLICY),
            Arc::new(Metrics::default()),
        )
        .unwrap();
        std::fs::write(dir.join("policy.rego"), "package airlock.authz\nallow if {").unwrap();
        let outcome = authz.reload();
        assert_eq!((outcome.result, outcome.last_known_good), ("failed", true));
        assert!(
            authz.decide(&input("read_file")).allow,
            "the last-known-good policy still decides"
        );
        std::fs::write(
            dir.join("policy.rego"),
            POLICY.replace("\"read_file\"", "\"write_file\""),
        )
        .unwrap();
        assert_eq!(authz.reload().result, "reloaded");
        assert!(!authz.last_known_good());
        assert!(
            !authz.decide(&input("read_file")).allow,
            "the new policy decides and the cache was cleared"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
