//! The pure middle of the pipeline: parse → validate (schema, semantics) → lint (Rego, DLP,
//! secrets). Produces every diagnostic and a [`Verdict`]: when the configuration is valid and
//! its policy compiled, the typed model and the policy bundle.

use crate::diagnostics::{Category, Diagnostic, Diagnostics, Location, Severity, codes};
use crate::lint;
use crate::policy::PolicyBundle;
use crate::syntax::{self, Document, Span};
use crate::validate::{self, ConfigDoc};
use crate::workspace::Workspace;
use airlock_schema::Config;
use airlock_schema::pins::ToolLock;

/// The outcome of analysing a workspace.
pub struct Analysis {
    /// Every finding, sorted, with quoted credentials masked.
    pub diagnostics: Diagnostics,
    pub verdict: Verdict,
}

/// What the diagnostics leave usable. Every verdict but [`Verdict::Ready`] comes with an
/// error among the diagnostics that says why.
pub enum Verdict {
    /// A schema or semantic error ([`Diagnostics::config_invalid`]): nothing can be tested or
    /// built.
    InvalidConfig,
    /// The configuration is valid, but a Rego error leaves no policy to test or embed.
    InvalidPolicy,
    /// The configuration is valid and its policy compiled. Lint errors elsewhere (DLP,
    /// secrets) may still refuse a build.
    Ready(Box<Ready>),
}

/// A valid configuration and its compiled policy.
pub struct Ready {
    pub config: Config,
    pub policy: PolicyBundle,
    /// The reviewed tool definitions (`toolPinning.lockFile`), when configured and sound.
    pub tools: Option<ToolLock>,
    /// `airlock.yaml` as parsed, so a later stage can locate a diagnostic at a config value
    /// without parsing it again.
    pub document: Document,
}

/// Runs every check on the workspace.
pub fn analyze(workspace: &Workspace) -> Analysis {
    let mut diagnostics = Diagnostics::default();
    let source = &workspace.files[0];
    if let Some(unreadable) = &workspace.unreadable {
        let at = unreadable.at.min(source.text.len());
        diagnostics.push(
            Diagnostic::new(
                codes::AL1001,
                Location {
                    file: 0,
                    span: Span::new(at, (at + 1).min(source.text.len())),
                },
                unreadable.reason.clone(),
            )
            .help(unreadable.help.clone()),
        );
        return Analysis {
            diagnostics,
            verdict: Verdict::InvalidConfig,
        };
    }
    let document = match syntax::parse(source) {
        Ok(document) => document,
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(
                    codes::AL1001,
                    Location {
                        file: 0,
                        span: error.span,
                    },
                    error.message,
                )
                .help(error.help.unwrap_or_else(|| {
                    "fix the YAML syntax; `airlockc` reads one YAML 1.2 document".into()
                })),
            );
            return Analysis {
                diagnostics,
                verdict: Verdict::InvalidConfig,
            };
        }
    };
    let mut doc = ConfigDoc::new(0, source, &document.root);
    for (span, key, first) in &document.duplicate_keys {
        let first_line = source.line_col(first.start).0;
        diagnostics.push(
            Diagnostic::new(
                codes::AL1013,
                doc.at(*span),
                format!("`{key}` is defined twice in the same mapping"),
            )
            .help(format!(
                "the first `{key}` is on line {first_line}; keep one of them"
            )),
        );
    }
    validate::schema::check(&mut doc, &mut diagnostics);
    validate::semantic::check(&doc, &mut diagnostics);
    let policy = lint::rego::check(&doc, workspace, &mut diagnostics);
    lint::dlp::check(&doc, &mut diagnostics);
    lint::secrets::check(&doc, &mut diagnostics);
    let tools = lint::tools::check(&doc, workspace, policy.as_ref(), &mut diagnostics);
    let config = typed_config(&doc, &mut diagnostics);
    let diagnostics = mask_quoted_secrets(source, diagnostics).sorted();
    // `typed_config` gives no config exactly when the config is invalid; `lint::rego::check`
    // gives no policy only after a Rego error, or the schema's error at `/policy`.
    let verdict = match (config, policy) {
        (Some(config), Some(policy)) => Verdict::Ready(Box::new(Ready {
            config,
            policy,
            tools,
            document,
        })),
        (Some(_), None) => Verdict::InvalidPolicy,
        (None, _) => Verdict::InvalidConfig,
    };
    debug_assert!(
        match &verdict {
            Verdict::InvalidConfig => diagnostics.config_invalid(),
            Verdict::InvalidPolicy => diagnostics
                .iter()
                .any(|d| { d.severity == Severity::Error && d.code.category == Category::Rego }),
            Verdict::Ready(_) => true,
        },
        "a verdict without the error that explains it"
    );
    Analysis {
        diagnostics,
        verdict,
    }
}

/// Masks, in every message and help, the text of every credential a secret detector found
/// (all but its first four characters), so a diagnostic that quotes the value (an invalid URL,
/// a model refusal) does not echo it, in any output format.
fn mask_quoted_secrets(source: &syntax::SourceFile, diagnostics: Diagnostics) -> Diagnostics {
    let secrets: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.conceal && d.location.file == 0)
        .filter_map(|d| source.text.get(d.location.span.start..d.location.span.end))
        .map(|text| text.trim_matches(|c| c == '"' || c == '\''))
        .filter(|text| text.chars().count() > 4)
        .collect();
    if secrets.is_empty() {
        return diagnostics;
    }
    let mask = |text: &str| {
        secrets.iter().fold(text.to_string(), |text, secret| {
            let masked: String = secret
                .chars()
                .enumerate()
                .map(|(i, c)| if i < 4 { c } else { '*' })
                .collect();
            text.replace(secret, &masked)
        })
    };
    let mut out = Diagnostics::default();
    for mut d in diagnostics.into_vec() {
        d.message = mask(&d.message);
        d.help = d.help.as_deref().map(mask);
        out.push(d);
    }
    out
}

/// The whole document as the typed model, when nothing invalidated it; `None` exactly when the
/// configuration is invalid. The checks before are meant to catch everything the model
/// refuses; when one misses, the refusal is still reported (never a silent build failure), at
/// the value the model's error names when it can be found.
fn typed_config(doc: &ConfigDoc<'_>, diagnostics: &mut Diagnostics) -> Option<Config> {
    if diagnostics.config_invalid() {
        return None;
    }
    match serde_json::from_value(doc.json.clone()) {
        Ok(config) => Some(config),
        Err(error) => {
            diagnostics.push(model_refused(doc, &error.to_string()));
            None
        }
    }
}

fn model_refused(doc: &ConfigDoc<'_>, error: &str) -> Diagnostic {
    let message = format!("the configuration does not fit the model: {error}");
    let help = "airlockc's checks should have explained this value; fix it as the message says, \
                and please report the input so the check can be added";
    match named_value(&doc.json, error) {
        Some(pointer) => doc.value_diag(codes::AL1010, &pointer, message),
        None => Diagnostic::new(
            codes::AL1010,
            Location {
                file: doc.file,
                span: Span::new(0, 0),
            },
            message,
        ),
    }
    .help(help)
}

/// The first scalar (in document order) that the error message quotes as `` `value` ``.
fn named_value(value: &serde_json::Value, error: &str) -> Option<String> {
    use serde_json::Value;
    validate::schema::leaves(value)
        .into_iter()
        .find(|(_, leaf)| match leaf {
            Value::String(text) => !text.is_empty() && error.contains(&format!("`{text}`")),
            Value::Number(number) => error.contains(&format!("`{number}`")),
            _ => false,
        })
        .map(|(pointer, _)| pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::SourceFile;

    /// A value the model refuses, with every earlier check skipped, is still a located error.
    #[test]
    fn a_model_refusal_is_never_silent() {
        let text = "version: 1\nrateLimiting:\n  perToken: 0/min\n";
        let source = SourceFile::new("airlock.yaml", text);
        let document = syntax::parse(&source).unwrap();
        let doc = ConfigDoc::new(0, &source, &document.root);
        let mut diagnostics = Diagnostics::default();
        assert!(typed_config(&doc, &mut diagnostics).is_none());
        let [refused] = diagnostics.iter().collect::<Vec<_>>()[..] else {
            panic!("one diagnostic expected");
        };
        assert_eq!(refused.code.id, "AL1010");
        assert!(diagnostics.config_invalid());
        assert!(
            refused.message.contains("fit the model"),
            "{}",
            refused.message
        );
        let start = refused.location.span.start;
        assert_eq!(&text[start..start + 5], "0/min");
    }
}
