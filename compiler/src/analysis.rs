//! The pure middle of the pipeline: parse → validate (schema, semantics) → lint (Rego, DLP,
//! secrets). Produces every diagnostic and, when the configuration is valid, the typed model.

use crate::diagnostics::{Diagnostic, Diagnostics, Location, code};
use crate::lint;
use crate::syntax::{self, Span};
use crate::validate::{self, ConfigDoc};
use crate::workspace::Workspace;
use airlock_schema::Config;

/// The outcome of analysing a workspace.
pub struct Analysis {
    pub diagnostics: Diagnostics,
    /// The typed configuration, when the schema and semantic checks found no error.
    pub config: Option<Config>,
    /// The compiled policy, when the policy files parsed and compiled.
    pub policy: Option<lint::rego::PolicyBundle>,
}

/// Runs every check on the workspace.
pub fn analyze(workspace: &Workspace) -> Analysis {
    let mut diagnostics = Diagnostics::default();
    let source = &workspace.files[0];
    if let Some((reason, at)) = &workspace.unreadable {
        diagnostics.push(
            Diagnostic::new(
                code("AL1001"),
                Location {
                    file: 0,
                    span: Span::new(*at, *at + 1),
                },
                reason.clone(),
            )
            .help("save the file as UTF-8"),
        );
        return Analysis {
            diagnostics,
            config: None,
            policy: None,
        };
    }
    let document = match syntax::parse(source) {
        Ok(document) => document,
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(
                    code("AL1001"),
                    Location {
                        file: 0,
                        span: error.span,
                    },
                    error.message,
                )
                .help("fix the YAML syntax; `airlockc` reads one YAML 1.2 document"),
            );
            return Analysis {
                diagnostics,
                config: None,
                policy: None,
            };
        }
    };
    let mut doc = ConfigDoc::new(0, source, &document.root);
    for (span, key, first) in &document.duplicate_keys {
        let first_line = source.line_col(first.start).0;
        diagnostics.push(
            Diagnostic::new(
                code("AL1013"),
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
    let config = typed_config(&doc, &diagnostics, &mut Diagnostics::default());
    let diagnostics = diagnostics.sorted();
    let config = config.filter(|_| !diagnostics.config_invalid());
    Analysis {
        diagnostics,
        config,
        policy,
    }
}

/// The whole document as the typed model, when nothing invalidated it.
fn typed_config(
    doc: &ConfigDoc<'_>,
    diagnostics: &Diagnostics,
    _: &mut Diagnostics,
) -> Option<Config> {
    if diagnostics.config_invalid() {
        return None;
    }
    serde_json::from_value(doc.json.clone()).ok()
}
