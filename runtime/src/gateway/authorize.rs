//! Authorization, decided in one place. Every question the gateway asks the policy is a
//! [`Target`] (an upstream tool, resource or prompt, a built-in tool, an entry of a root),
//! which alone decides the policy's `method`, `tool`, `resource` and `metadata`. Lists are
//! filtered with [`Call::decide`]; a request that acts is refused or allowed by
//! [`Call::authorize`], whose [`Authorized`] is what the upstream call and the file-system
//! access demand, so no path reaches an upstream or a root without a decision:
//!
//! ```compile_fail
//! // Outside this module an `Authorized` cannot be made: only a decision makes one.
//! let forged = airlock::gateway::authorize::Authorized(());
//! ```

use super::Call;
use crate::enforce::authz::{Decision, Input, Metadata};
use crate::enforce::roots::Root;
use crate::errors::{ErrorType, Failure};
use crate::record::exchange::Verdict;
use crate::record::traces::{KIND_INTERNAL, now_ns};
use crate::upstream::Upstream;
use std::borrow::Cow;

/// What a policy decision is about.
#[derive(Clone, Copy)]
pub enum Target<'t> {
    /// A tool of an upstream, by the name clients call it; `resource` is the URI or path its
    /// arguments name, if any.
    Tool {
        name: &'t str,
        resource: &'t str,
        upstream: &'t Upstream,
    },
    /// A built-in file tool as listed (no file named yet).
    BuiltinTool { name: &'t str },
    /// A resource an upstream serves.
    Resource {
        uri: &'t str,
        upstream: &'t Upstream,
    },
    /// A prompt an upstream serves.
    Prompt {
        name: &'t str,
        upstream: &'t Upstream,
    },
    /// A file or directory of a root, reached by `resources/read` or by the built-in tool
    /// `tool` (a read, a listing entry, a search hit).
    RootEntry {
        uri: &'t str,
        root: &'t Root,
        tool: Option<&'t str>,
    },
}

/// The proof that the policy allowed the request: demanded by the upstream call and by the
/// file-system access of a root.
pub struct Authorized(());

impl Target<'_> {
    /// The policy's `method`, `tool`, `resource` and metadata for this target.
    fn input_parts(&self) -> (&'static str, &str, &str, Metadata) {
        let mut metadata = Metadata::new();
        let named = |metadata: &mut Metadata, key: &'static str, value: &str| {
            metadata.insert(key, value.into());
        };
        match *self {
            Target::Tool {
                name,
                resource,
                upstream,
            } => {
                named(&mut metadata, "upstream", upstream.name());
                ("tools/call", name, resource, metadata)
            }
            Target::BuiltinTool { name } => ("tools/call", name, "", metadata),
            Target::Resource { uri, upstream } => {
                named(&mut metadata, "upstream", upstream.name());
                ("resources/read", "", uri, metadata)
            }
            Target::Prompt { name, upstream } => {
                named(&mut metadata, "upstream", upstream.name());
                named(&mut metadata, "prompt", name);
                ("prompts/get", "", "", metadata)
            }
            Target::RootEntry { uri, root, tool } => {
                named(&mut metadata, "root", root.name());
                match tool {
                    Some(tool) => ("tools/call", tool, uri, metadata),
                    None => ("resources/read", "", uri, metadata),
                }
            }
        }
    }
}

impl Call<'_, '_> {
    fn input<'s>(&'s self, target: &'s Target<'_>) -> Input<'s> {
        let (method, tool, resource, mut metadata) = target.input_parts();
        metadata.insert("client_ip", crate::enforce::client_ip::text(self.ip).into());
        metadata.insert("protocol_version", self.era.version().into());
        if let Some(count) = self.requests_per_minute {
            metadata.insert(crate::enforce::authz::REQUESTS_PER_MINUTE, count.into());
        }
        Input {
            subject: Cow::Borrowed(&self.principal.subject),
            tenant: Cow::Borrowed(&self.principal.tenant),
            groups: Cow::Borrowed(&self.principal.groups),
            tool: Cow::Borrowed(tool),
            resource: Cow::Borrowed(resource),
            method: Cow::Borrowed(method),
            metadata,
        }
    }

    /// The policy's decision on `target`, for filtering what a list shows.
    pub(super) fn decide(&self, target: &Target<'_>) -> Decision {
        self.app.authz.decide(&self.input(target))
    }

    /// Whether `target` is shown in a list.
    pub(super) fn shows(&self, target: &Target<'_>) -> bool {
        self.decide(target).allow
    }

    /// Decides whether the request may act on `target`: traced, recorded in the exchange, and
    /// a 403 with the policy's reason when it may not.
    pub(super) fn authorize(&mut self, target: &Target<'_>) -> Result<Authorized, Failure> {
        let start = now_ns();
        let decision = self.decide(target);
        let attributes = || {
            let (_, tool, _, _) = target.input_parts();
            vec![
                ("decision", Verdict::of(decision.allow).as_str().into()),
                ("tool", tool.into()),
                ("tenant", self.principal.tenant.clone().into()),
                ("cache_hit", decision.cached.into()),
            ]
        };
        self.record
            .timeline
            .mark("policy", KIND_INTERNAL, start, attributes, !decision.allow);
        self.record.decision = Some(Verdict::of(decision.allow));
        self.record.rule_id.clone_from(&decision.rule_id);
        if decision.allow {
            return Ok(Authorized(()));
        }
        let reason = decision.reason.unwrap_or_else(|| "denied by policy".into());
        let mut failure = Failure::new(ErrorType::Forbidden, format!("forbidden: {reason}"))
            .with("reason", reason);
        if let Some(rule_id) = decision.rule_id {
            failure = failure.with("rule_id", rule_id);
        }
        Err(failure)
    }
}
