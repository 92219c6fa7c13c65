//! The command line: parses arguments, runs a command, returns the process exit code. `main.rs`
//! only calls [`main`]. Exit codes: 0 clean, 1 findings at or above `--fail-level`, 2 usage,
//! 70 internal error, 78 invalid configuration.

use crate::analysis::Verdict;
use crate::build::Build;
use crate::diagnostics::{self, Diagnostics, Severity};
use crate::policy::tests::{self as policy_tests, Outcome};
use crate::render::{self, Format};
use crate::{analyze, output, workspace};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERNAL: u8 = 70;
pub const EXIT_INVALID_CONFIG: u8 = 78;

#[derive(Parser, Debug)]
#[command(
    name = "airlockc",
    version,
    about = "Compiles airlock.yaml into a hardened Kubernetes deployment of the Airlock MCP gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile airlock.yaml into a deployment directory (chart, manifests, runtime config, dashboard).
    Build(BuildArgs),
    /// Show what `build` would change in the output directory, as a unified diff.
    Diff(BuildArgs),
    /// Check airlock.yaml as `build` does, without writing: schema, semantics, Rego and DLP
    /// lints, credential scan, policy tests and the limits of the emitted objects.
    Validate(CheckArgs),
    /// The same checks as `validate` (for CI steps named after what they do).
    Lint(CheckArgs),
    /// Run the policy tests (rules named `test_*` in `policy.tests`), like `opa test`.
    Test(TestArgs),
    /// Print the JSON Schema of airlock.yaml (for editors and CI).
    Schema,
    /// Print the documentation of a diagnostic code, e.g. `airlockc explain AL1002`.
    Explain {
        /// The code (`AL1002`) or its name (`unknown-key`); `all` lists every code.
        code: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The airlock.yaml to check.
    pub config: PathBuf,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The least severe finding that makes the command fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailLevel::Error)]
    pub fail_level: FailLevel,
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The airlock.yaml to compile.
    pub config: PathBuf,
    /// The output directory; airlockc owns it and replaces its content atomically.
    #[arg(short, long, default_value = "deploy")]
    pub output: PathBuf,
    /// Write nothing; exit 1 and list the files that differ when the output is stale.
    #[arg(long)]
    pub check: bool,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The least severe finding that makes the command fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailLevel::Error)]
    pub fail_level: FailLevel,
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The airlock.yaml whose policy tests to run.
    pub config: PathBuf,
    /// How to print results: `human` (PASS/FAIL lines), `json` (every test's outcome), or
    /// `sarif`/`github` (the failures as diagnostics; the PASS/FAIL lines go to stderr).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
}

impl FailLevel {
    fn reached_by(self, severity: Severity) -> bool {
        match self {
            FailLevel::Error => severity == Severity::Error,
            FailLevel::Warning => true,
        }
    }
}

/// Runs the command line; never panics outward (a panic is an internal error, exit 70).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = std::panic::catch_unwind(|| run(cli));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            eprintln!("airlockc: internal error; please report it with the input that caused it");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Build(args) => build(&args, false),
        Command::Diff(args) => build(&args, true),
        Command::Validate(args) | Command::Lint(args) => validate(&args),
        Command::Test(args) => test(&args),
        Command::Schema => {
            print(&airlock_schema::json_schema_text());
            0
        }
        Command::Explain { code } => explain(&code),
    }
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`airlockc schema | head`) is not an error worth a panic.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn load(config: &std::path::Path) -> Result<workspace::Workspace, u8> {
    workspace::load(config).map_err(|error| {
        eprintln!("airlockc: {error}");
        EXIT_USAGE
    })
}

/// The exit code for a set of diagnostics.
pub fn exit_code(diagnostics: &Diagnostics, fail_level: FailLevel) -> u8 {
    if diagnostics.config_invalid() {
        EXIT_INVALID_CONFIG
    } else if diagnostics
        .iter()
        .any(|d| fail_level.reached_by(d.severity))
    {
        EXIT_FINDINGS
    } else {
        0
    }
}

fn validate(args: &CheckArgs) -> u8 {
    let workspace = match load(&args.config) {
        Ok(workspace) => workspace,
        Err(code) => return code,
    };
    // One set of checks: `validate` is `build` without the writing, so a configuration it
    // passes is one `build` compiles (policy tests and object limits included).
    let result = crate::build::build(&workspace);
    let diagnostics = result.diagnostics();
    print(&render::render(
        args.format,
        diagnostics.as_slice(),
        &workspace.files,
        &workspace.files[0].path,
    ));
    exit_code(diagnostics, args.fail_level)
}

fn build(args: &BuildArgs, diff: bool) -> u8 {
    // A usage error, found before anything is read or written: `-o` must name a directory.
    if let Err(error) = output::destination(&args.output) {
        eprintln!("airlockc: {error}\nairlockc: nothing was written");
        return EXIT_USAGE;
    }
    let workspace = match load(&args.config) {
        Ok(workspace) => workspace,
        Err(code) => return code,
    };
    let result = crate::build::build(&workspace);
    let diagnostics = result.diagnostics();
    if !diagnostics.is_empty() {
        let text = render::render(
            args.format,
            diagnostics.as_slice(),
            &workspace.files,
            &workspace.files[0].path,
        );
        if args.format == Format::Human {
            eprint!("{text}")
        } else {
            print(&text)
        }
    }
    let code = exit_code(diagnostics, args.fail_level);
    let compiled = match result {
        Build::Compiled(compiled) if code == 0 => compiled,
        // A refusal holds an error, so its code is 1 or 78; a deployment with findings at the
        // fail level is not written either.
        _ => {
            eprintln!("airlockc: nothing was written");
            return code;
        }
    };
    let files = &compiled.files;
    let out = args.output.display();
    if args.check || diff {
        let changes = match output::compare(&args.output, files) {
            Ok(changes) => changes,
            Err(error) => {
                eprintln!("airlockc: {error}");
                return EXIT_USAGE;
            }
        };
        if changes.is_empty() {
            eprintln!("{out} is up to date with {}", args.config.display());
            return 0;
        }
        let mut text = String::new();
        for change in &changes {
            if diff {
                text.push_str(&output::unified(change));
            } else {
                let what = match change {
                    output::Change::Added(_) => "missing",
                    output::Change::Removed(_) => "extra",
                    output::Change::Modified { .. } => "differs",
                };
                text.push_str(&format!("{what}: {}/{}\n", out, change.path()));
            }
        }
        print(&text);
        eprintln!(
            "{out} is stale: {} file{} would change; run `airlockc build {} -o {out}`",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            args.config.display()
        );
        return EXIT_FINDINGS;
    }
    if let Err(error) = output::write(&args.output, files) {
        eprintln!("airlockc: {error}\nairlockc: nothing was written");
        return EXIT_USAGE;
    }
    eprintln!(
        "wrote {out}: {} files, {} policy tests passed, config {}",
        files.len(),
        compiled.tests_passed,
        compiled.config_hash
    );
    0
}

fn test(args: &TestArgs) -> u8 {
    let workspace = match load(&args.config) {
        Ok(workspace) => workspace,
        Err(code) => return code,
    };
    // Machine formats own stdout: the PASS/FAIL lines go to stderr for them.
    let show = |diagnostics: &[diagnostics::Diagnostic]| {
        print(&render::render(
            args.format,
            diagnostics,
            &workspace.files,
            &workspace.files[0].path,
        ));
    };
    let analysis = analyze(&workspace);
    let errors = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error);
    let ready = match analysis.verdict {
        Verdict::Ready(ready) => ready,
        Verdict::InvalidConfig => {
            show(&errors.cloned().collect::<Vec<_>>());
            eprintln!("airlockc: the configuration is invalid; no test was run");
            return EXIT_INVALID_CONFIG;
        }
        Verdict::InvalidPolicy => {
            show(
                &errors
                    .filter(|d| d.code.category == diagnostics::Category::Rego)
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            eprintln!("airlockc: the policy has errors; no test was run");
            return EXIT_FINDINGS;
        }
    };
    let results = match policy_tests::run(&ready.policy, &workspace) {
        Ok(results) => results,
        Err(diagnostic) => {
            show(&[diagnostic]);
            return EXIT_FINDINGS;
        }
    };
    let failures: Vec<_> = results.iter().filter_map(|r| r.diagnostic()).collect();
    match args.format {
        Format::Json => print(&test_json(&results, &workspace)),
        Format::Human => {
            print(&test_human(&results, &workspace));
            if !failures.is_empty() {
                show(&failures);
            }
        }
        Format::Sarif | Format::Github => {
            eprint!("{}", test_human(&results, &workspace));
            show(&failures);
        }
    }
    if failures.is_empty() {
        0
    } else {
        EXIT_FINDINGS
    }
}

fn test_human(results: &[policy_tests::TestResult], workspace: &workspace::Workspace) -> String {
    let mut out = String::new();
    for result in results {
        let file = &workspace.files[result.location.file];
        let (line, column) = file.line_col(result.location.span.start);
        let status = match result.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Error(_) => "ERROR",
        };
        out.push_str(&format!(
            "{status:<5} {} ({}:{line}:{column})\n",
            result.name, file.path
        ));
    }
    let passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    let failed = results.len() - passed;
    if results.is_empty() {
        out.push_str("no policy tests found: list test files in `policy.tests`\n");
    } else {
        out.push_str(&format!(
            "{} tests: {passed} passed, {failed} failed\n",
            results.len()
        ));
    }
    out
}

fn test_json(results: &[policy_tests::TestResult], workspace: &workspace::Workspace) -> String {
    let tests: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let file = &workspace.files[r.location.file];
            let (line, column) = file.line_col(r.location.span.start);
            let (outcome, error) = match &r.outcome {
                Outcome::Pass => ("pass", None),
                Outcome::Fail => ("fail", None),
                Outcome::Error(e) => ("error", Some(e.clone())),
            };
            serde_json::json!({"name": r.name, "outcome": outcome, "error": error, "file": file.path, "line": line, "column": column})
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&serde_json::json!({ "tests": tests })).expect("serializes");
    text.push('\n');
    text
}

fn explain(wanted: &str) -> u8 {
    if wanted == "all" {
        let mut out = String::new();
        for code in diagnostics::CODES {
            out.push_str(&format!(
                "{}  {:<24} {:<7}  {}\n",
                code.id,
                code.name,
                code.severity.as_str(),
                code.summary
            ));
        }
        print(&out);
        return 0;
    }
    match diagnostics::lookup(wanted) {
        Some(code) => {
            print(&format!(
                "{} {} ({})\n\n{}\n\n{}",
                code.id,
                code.name,
                code.severity.as_str(),
                code.summary,
                code.docs
            ));
            0
        }
        None => {
            eprintln!(
                "airlockc: unknown diagnostic code `{wanted}`; `airlockc explain all` lists them"
            );
            EXIT_USAGE
        }
    }
}
