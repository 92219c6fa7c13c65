//! The whole compile, in memory: analyze, run the policy tests, lower, emit. Nothing is
//! emitted unless the configuration is valid, the lints found no error and every policy test
//! passed. Writing is the caller's business (`output`).

use crate::analysis::{Ready, Verdict, analyze};
use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::emit::{self, Files};
use crate::lower::{self, Model};
use crate::policy::tests::{self, Outcome};
use crate::validate::ConfigDoc;
use crate::workspace::Workspace;

/// Kubernetes refuses a ConfigMap (or Secret) whose data — keys and values — holds more than
/// 1 MiB (1,048,576 bytes). The stored object also carries its metadata (labels, annotations,
/// managed fields), and the request that creates it must fit etcd's request limit; airlockc
/// keeps 16 KiB of that for them, and so that a configuration a few bytes under the limit does
/// not start failing when a later airlockc adds a field to `airlock.json`.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024 - 16 * 1024;

/// The outcome of a build: the deployment, or the reasons there is none.
pub enum Build {
    /// Every check and every policy test passed.
    Compiled(Compiled),
    /// Nothing to write: the diagnostics, among them at least one error, say why.
    Refused(Diagnostics),
}

/// A deployment, ready to write.
pub struct Compiled {
    /// The files of the deployment, by path.
    pub files: Files,
    /// The warnings found on the way.
    pub diagnostics: Diagnostics,
    pub tests_passed: usize,
    /// The frozen config's content hash, `sha256:<hex>`.
    pub config_hash: String,
}

impl Build {
    /// The files of the deployment, unless the build was refused.
    pub fn files(&self) -> Option<&Files> {
        match self {
            Build::Compiled(compiled) => Some(&compiled.files),
            Build::Refused(_) => None,
        }
    }

    /// Every diagnostic of the build, whatever its outcome.
    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            Build::Compiled(compiled) => &compiled.diagnostics,
            Build::Refused(diagnostics) => diagnostics,
        }
    }
}

pub fn build(workspace: &Workspace) -> Build {
    match compile(workspace) {
        Ok(compiled) => Build::Compiled(compiled),
        Err(diagnostics) => {
            debug_assert!(diagnostics.has_errors(), "a refusal without an error");
            Build::Refused(diagnostics)
        }
    }
}

/// The build, with `Err` holding the diagnostics of a refusal.
fn compile(workspace: &Workspace) -> Result<Compiled, Diagnostics> {
    let analysis = analyze(workspace);
    let mut diagnostics = analysis.diagnostics;
    let Verdict::Ready(ready) = analysis.verdict else {
        return Err(diagnostics);
    };
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let results = match tests::run(&ready.policy, workspace) {
        Ok(results) => results,
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Err(diagnostics);
        }
    };
    let failures: Vec<Diagnostic> = results
        .iter()
        .filter_map(tests::TestResult::diagnostic)
        .collect();
    if !failures.is_empty() {
        diagnostics.extend(failures);
        return Err(diagnostics.sorted());
    }
    let tests_passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    let model = lower::lower(&ready.config, &ready.policy, ready.tools.as_ref());
    if let Some(diagnostic) = config_map_size(&model, &ready, workspace) {
        diagnostics.push(diagnostic);
        return Err(diagnostics.sorted());
    }
    let files = emit::emit(&model).unwrap_or_else(|e| panic!("emitting a valid model failed: {e}"));
    Ok(Compiled {
        files,
        diagnostics,
        tests_passed,
        config_hash: model.config_hash,
    })
}

/// AL2031: the ConfigMap's data over [`CONFIG_MAP_LIMIT`], located at the config value naming
/// its biggest contributor. Each policy module is in the data twice — inside `airlock.json`,
/// which the gateway loads (and whose hash it verifies), and under its own key, which a policy
/// reload reads — and each test file once, inside `airlock.json`.
fn config_map_size(model: &Model, ready: &Ready, workspace: &Workspace) -> Option<Diagnostic> {
    let policy = &ready.policy;
    let total: usize = model
        .config_files
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    if total <= CONFIG_MAP_LIMIT {
        return None;
    }
    let json_len = |text: &str| serde_json::to_string(text).map_or(text.len(), |s| s.len());
    let mut parts: Vec<(String, String, usize)> = Vec::new();
    for (path, source) in &policy.sources {
        let own_key = lower::file_name(path).len() + source.len();
        parts.push((
            "/policy/file".into(),
            format!("`{path}` is in it twice, {} bytes: inside `airlock.json` (which the gateway loads) and as its own key (which a policy reload reads)", own_key + json_len(source)),
            own_key + json_len(source),
        ));
    }
    for (index, (path, source)) in policy.tests.iter().enumerate() {
        parts.push((
            format!("/policy/tests/{index}"),
            format!(
                "the test file `{path}` is in it inside `airlock.json`, {} bytes",
                json_len(source)
            ),
            json_len(source),
        ));
    }
    if let Some(pins) = &model.frozen.tools.pins {
        let text = serde_json::to_string_pretty(&pins.upstreams).unwrap_or_default();
        // Three levels deep in `airlock.json`: six more spaces on every line.
        let bytes = text.len() + 6 * text.lines().count();
        parts.push((
            "/toolPinning/lockFile".into(),
            format!("the reviewed tool definitions of this lock are in it inside `airlock.json`, about {bytes} bytes (pin only the upstreams' tools clients may call)"),
            bytes,
        ));
    }
    let rest = total.saturating_sub(parts.iter().map(|p| p.2).sum());
    parts.push((
        String::new(),
        format!("the rest of the runtime configuration `airlock.json` is {rest} bytes"),
        rest,
    ));
    // The biggest contributor; the first one on a tie, for a stable location.
    let biggest = parts
        .iter()
        .fold(&parts[0], |best, p| if p.2 > best.2 { p } else { best });
    let source = &workspace.files[0];
    let message = format!(
        "the ConfigMap `{}` would hold {total} bytes of data; Kubernetes refuses more than 1048576 (1 MiB), and airlockc keeps 16 KiB of it for metadata",
        model.config_map_name
    );
    let help = format!(
        "{}; shrink it until the data is at most {CONFIG_MAP_LIMIT} bytes (move large tables out of the policy, e.g. into group claims or `allowTools`)",
        biggest.1
    );
    let doc = ConfigDoc::new(0, source, &ready.document.root);
    Some(
        doc.value_diag(codes::AL2031, &biggest.0, message)
            .help(help),
    )
}
