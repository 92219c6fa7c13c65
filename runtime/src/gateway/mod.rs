//! The MCP methods, served behind authentication: aggregation of the upstreams' tools,
//! resources and prompts (filtered by each upstream's `allowTools` and by policy), routing of
//! calls to the owning upstream, and DLP on everything returned. Transport concerns (HTTP,
//! headers, status codes) live in `http`.

use crate::app::App;
use crate::enforce::auth::Principal;
use crate::enforce::authz::{Decision, Input};
use crate::enforce::dlp::Counts;
use crate::enforce::roots::ViolationKind;
use crate::enforce::roots::tools::Request;
use crate::errors::{ErrorType, Failure};
use crate::mcp::jsonrpc::Message;
use crate::mcp::protocol::{self, Era};
use crate::record::traces::{KIND_CLIENT, KIND_INTERNAL, Timeline, now_ns};
use crate::upstream::{Upstream, UpstreamError};
use airlock_schema::metrics as m;
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use std::sync::Arc;

mod roots;

/// One authenticated call, and what it did (for logs, metrics and audit).
pub struct Call<'a> {
    pub app: &'a App,
    pub principal: &'a Principal,
    pub ip: IpAddr,
    pub era: Era,
    pub tool: Option<String>,
    pub resource: Option<String>,
    pub upstream: Option<String>,
    /// The virtual root a resource or built-in tool call resolved to.
    pub root: Option<String>,
    /// Set when the request was refused as a path or scheme violation.
    pub violation: Option<ViolationKind>,
    pub decision: Option<Decision>,
    pub redactions: u64,
    /// A session created by `initialize`, for the `Mcp-Session-Id` header.
    pub new_session: Option<String>,
    /// Child spans (policy, upstream, DLP) for the trace of this request.
    pub timeline: Timeline,
    /// The caller's requests in the last minute, when the policy reads it.
    pub requests_per_minute: Option<u32>,
}

/// A tool as clients see it: its gateway name and where it lives.
struct Route {
    name: String,
    upstream: Arc<Upstream>,
    definition: Value,
}

/// The upstream serving the tool clients call `name`, and the tool's own name there: the
/// first upstream (in configuration order) whose prefix, allow-list and catalog fit.
fn route_of<'a>(upstreams: &'a [Arc<Upstream>], name: &str) -> Option<(&'a Arc<Upstream>, String)> {
    upstreams.iter().find_map(|upstream| {
        let original = name.strip_prefix(upstream.config.tool_prefix.as_str())?;
        if upstream
            .config
            .allow_tools
            .as_ref()
            .is_some_and(|list| !list.iter().any(|t| t == original))
        {
            return None;
        }
        let catalog = upstream.catalog();
        let listed = catalog
            .tools
            .iter()
            .any(|t| t.get("name").and_then(Value::as_str) == Some(original));
        listed.then(|| (upstream, original.to_string()))
    })
}

impl<'a> Call<'a> {
    pub fn new(app: &'a App, principal: &'a Principal, ip: IpAddr, era: Era) -> Self {
        Self {
            app,
            principal,
            ip,
            era,
            tool: None,
            resource: None,
            upstream: None,
            root: None,
            violation: None,
            decision: None,
            redactions: 0,
            new_session: None,
            timeline: Timeline::default(),
            requests_per_minute: None,
        }
    }

    fn input(
        &self,
        method: &str,
        tool: &str,
        resource: &str,
        metadata: Map<String, Value>,
    ) -> Input {
        let mut metadata = metadata;
        metadata.insert("client_ip".into(), self.ip.to_string().into());
        metadata.insert("protocol_version".into(), self.era.version().into());
        if let Some(count) = self.requests_per_minute {
            metadata.insert(
                crate::enforce::authz::REQUESTS_PER_MINUTE.into(),
                count.into(),
            );
        }
        Input {
            subject: self.principal.subject.clone(),
            tenant: self.principal.tenant.clone(),
            groups: self.principal.groups.clone(),
            tool: tool.into(),
            resource: resource.into(),
            method: method.into(),
            metadata,
        }
    }

    fn allowed(
        &self,
        method: &str,
        tool: &str,
        resource: &str,
        metadata: Map<String, Value>,
    ) -> Decision {
        self.app
            .authz
            .decide(&self.input(method, tool, resource, metadata))
    }

    fn authorize(
        &mut self,
        method: &str,
        tool: &str,
        resource: &str,
        metadata: Map<String, Value>,
    ) -> Result<(), Failure> {
        let start = now_ns();
        let decision = self.allowed(method, tool, resource, metadata);
        let verdict = if decision.allow { "allow" } else { "deny" };
        let attributes = vec![
            ("decision", verdict.into()),
            ("tool", tool.into()),
            ("tenant", self.principal.tenant.clone().into()),
            ("cache_hit", decision.cached.into()),
        ];
        self.timeline
            .mark("policy", KIND_INTERNAL, start, attributes, !decision.allow);
        let allow = decision.allow;
        let reason = decision
            .reason
            .clone()
            .unwrap_or_else(|| "denied by policy".into());
        let rule_id = decision.rule_id.clone();
        self.decision = Some(decision);
        if allow {
            return Ok(());
        }
        let mut failure = Failure::new(ErrorType::Forbidden, format!("forbidden: {reason}"))
            .with("reason", reason);
        if let Some(rule_id) = rule_id {
            failure = failure.with("rule_id", rule_id);
        }
        Err(failure)
    }

    fn redact(&mut self, value: &mut Value) {
        let start = now_ns();
        let mut counts = Counts::new();
        self.app.dlp.redact_json(value, &mut counts);
        let found: u64 = counts.iter().sum();
        self.timeline.mark(
            "dlp",
            KIND_INTERNAL,
            start,
            vec![("redactions", found.into())],
            false,
        );
        for (pattern, n) in self.app.dlp.summarize(&counts) {
            self.app
                .metrics
                .add(m::DLP_REDACTIONS_TOTAL, &[("pattern", pattern)], n);
            self.redactions += n;
        }
    }

    /// Serves one request. Notifications are handled by the caller.
    pub async fn dispatch(&mut self, message: &Message) -> Result<Value, Failure> {
        let modern = self.era.is_modern();
        let result = match message.method.as_str() {
            "initialize" if !modern => self.initialize(message),
            "ping" if !modern => Ok(json!({})),
            "server/discover" => Ok(protocol::discover_result()),
            "tools/list" => Ok(self.list_tools()),
            "tools/call" => self.call_tool(message).await,
            "resources/list" => Ok(self.list_resources()),
            "resources/templates/list" => Ok(self.list_templates()),
            "resources/read" => self.read_resource(message).await,
            "prompts/list" => Ok(self.list_prompts()),
            "prompts/get" => self.get_prompt(message).await,
            "debug/token" => Ok(self.token_info()),
            other => Err(Failure::new(
                ErrorType::MethodNotFound,
                format!("method `{other}` is not supported by this gateway"),
            )),
        }?;
        Ok(protocol::finish(&message.method, result, &self.era))
    }

    fn initialize(&mut self, message: &Message) -> Result<Value, Failure> {
        let requested = message.param("protocolVersion").and_then(Value::as_str);
        let version = protocol::negotiate(requested);
        self.new_session = Some(self.app.sessions.create(&self.principal.subject, version));
        Ok(json!({
            "protocolVersion": version,
            "capabilities": protocol::capabilities(),
            "serverInfo": protocol::server_info(),
            "instructions": format!("Airlock gateway `{}`: tools, resources and prompts of its upstream MCP servers, filtered by policy.", self.app.config.name),
        }))
    }

    /// `debug/token`: what the gateway read from the caller's own token (the troubleshooting
    /// guide's "verify groups in token"): the identity policy sees, the claims it came from,
    /// and when the token expires. Nothing of the token itself.
    fn token_info(&self) -> Value {
        let auth = &self.app.config.auth;
        let expires_at = self.principal.expires_at;
        let now = crate::record::audit::now_secs().max(0) as u64;
        json!({
            "subject": self.principal.subject,
            "tenant": self.principal.tenant,
            "groups": self.principal.groups,
            "claims": {
                "subject": auth.subject_claim,
                "groups": auth.groups_claim,
                "tenant": auth.tenant_claim,
            },
            "issuer": auth.issuer,
            "audience": auth.audience,
            "requiredGroups": auth.required_groups,
            "expiresAt": crate::record::audit::rfc3339(expires_at.saturating_mul(1000) as i64),
            "expiresInSeconds": expires_at.saturating_sub(now),
        })
    }

    fn routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = Vec::new();
        for upstream in &self.app.upstreams {
            let allow = upstream.config.allow_tools.as_ref();
            for tool in upstream.catalog().tools.iter().cloned() {
                let Some(original) = tool.get("name").and_then(Value::as_str).map(str::to_string)
                else {
                    continue;
                };
                if allow.is_some_and(|list| !list.contains(&original)) {
                    continue;
                }
                let name = format!("{}{original}", upstream.config.tool_prefix);
                if routes.iter().any(|r| r.name == name) {
                    continue;
                }
                routes.push(Route {
                    name,
                    upstream: upstream.clone(),
                    definition: tool,
                });
            }
        }
        routes
    }

    fn upstream_meta(upstream: &Upstream) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("upstream".into(), upstream.name().into());
        map
    }

    fn list_tools(&mut self) -> Value {
        let mut tools = Vec::new();
        let routes = self.routes();
        let upstream_names: std::collections::HashSet<String> =
            routes.iter().map(|r| r.name.clone()).collect();
        for route in routes {
            if self
                .allowed(
                    "tools/call",
                    &route.name,
                    "",
                    Self::upstream_meta(&route.upstream),
                )
                .allow
            {
                let mut definition = route.definition;
                definition["name"] = route.name.into();
                tools.push(definition);
            }
        }
        tools.extend(self.builtin_tools(&|name| upstream_names.contains(name)));
        let mut result = json!({ "tools": tools });
        self.redact(&mut result);
        result
    }

    async fn call_tool(&mut self, message: &Message) -> Result<Value, Failure> {
        let name = message
            .param("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(ErrorType::InvalidParams, "tools/call needs `name`"))?;
        let arguments = match message.param("arguments") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(args @ Value::Object(_)) => args.clone(),
            Some(_) => {
                return Err(Failure::new(
                    ErrorType::InvalidParams,
                    "`arguments` must be an object",
                ));
            }
        };
        self.tool = Some(name.to_string());
        let Some((upstream, original)) = route_of(&self.app.upstreams, name) else {
            // No upstream has the tool: a built-in file tool, when roots are configured.
            if let Some(request) =
                Request::parse(name, &arguments).filter(|_| !self.app.roots.is_empty())
            {
                let request = request.map_err(|message| {
                    Failure::new(ErrorType::InvalidParams, format!("{name}: {message}"))
                })?;
                return self.call_builtin(name, request).await;
            }
            return Err(Failure::new(
                ErrorType::InvalidParams,
                format!("unknown tool `{name}`"),
            ));
        };
        let upstream = upstream.clone();
        self.upstream = Some(upstream.name().to_string());
        let resource = ["uri", "path", "resource"]
            .iter()
            .find_map(|k| arguments.get(*k).and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        self.resource = (!resource.is_empty()).then(|| resource.clone());
        self.authorize(
            "tools/call",
            name,
            &resource,
            Self::upstream_meta(&upstream),
        )?;
        let mut params = json!({ "name": original, "arguments": arguments });
        if let Some(token) = message.param("_meta").and_then(|m| m.get("progressToken")) {
            params["_meta"] = json!({ "progressToken": token });
        }
        let mut result = self.forward(&upstream, "tools/call", params).await?;
        self.redact(&mut result);
        Ok(result)
    }

    async fn forward(
        &mut self,
        upstream: &Upstream,
        method: &str,
        params: Value,
    ) -> Result<Value, Failure> {
        let start = now_ns();
        let result = upstream.call(method, params).await;
        let latency_ms = (now_ns().saturating_sub(start)) as f64 / 1e6;
        let attributes = vec![
            ("upstream", upstream.name().into()),
            ("mcp.method", method.into()),
            ("latency_ms", latency_ms.into()),
        ];
        self.timeline
            .mark("upstream", KIND_CLIENT, start, attributes, result.is_err());
        result.map_err(|error| {
            let name = upstream.name();
            match error {
                UpstreamError::Timeout => Failure::new(
                    ErrorType::UpstreamTimeout,
                    format!(
                        "upstream `{name}` did not answer within {} ms",
                        upstream.config.timeout_ms
                    ),
                ),
                UpstreamError::Unavailable(_) | UpstreamError::SessionExpired => Failure::new(
                    ErrorType::UpstreamUnavailable,
                    format!("upstream `{name}` is unavailable"),
                ),
                UpstreamError::Protocol(_) => Failure::new(
                    ErrorType::UpstreamError,
                    format!("upstream `{name}` answered something that is not MCP"),
                ),
                UpstreamError::Rpc(error) => {
                    let mut error = error;
                    self.redact(&mut error);
                    let message = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("upstream error")
                        .to_string();
                    let mut failure = Failure::new(ErrorType::UpstreamRpcError, message);
                    failure.code = error.get("code").and_then(Value::as_i64);
                    if let Some(data) = error.get("data") {
                        failure = failure.with("upstream_data", data.clone());
                    }
                    failure
                }
            }
        })
    }

    fn resource_owner(&self, uri: &str) -> Option<Arc<Upstream>> {
        let catalogs: Vec<_> = self
            .app
            .upstreams
            .iter()
            .map(|u| (u.clone(), u.catalog()))
            .collect();
        catalogs
            .iter()
            .find(|(_, c)| {
                c.resources
                    .iter()
                    .any(|r| r.get("uri").and_then(Value::as_str) == Some(uri))
            })
            .or_else(|| {
                catalogs.iter().find(|(_, c)| {
                    c.resource_templates.iter().any(|t| {
                        t.get("uriTemplate")
                            .and_then(Value::as_str)
                            .is_some_and(|template| {
                                let prefix = template.split('{').next().unwrap_or(template);
                                !prefix.is_empty() && uri.starts_with(prefix)
                            })
                    })
                })
            })
            .map(|(u, _)| u.clone())
    }

    fn list_resources(&mut self) -> Value {
        let mut resources = self.root_resources();
        // A URI two upstreams offer is read from the first (`resource_owner`): listed once.
        let mut seen = std::collections::HashSet::new();
        for upstream in &self.app.upstreams {
            for resource in upstream.catalog().resources.iter().cloned() {
                let uri = resource
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if seen.insert(uri.clone())
                    && self
                        .allowed("resources/read", "", &uri, Self::upstream_meta(upstream))
                        .allow
                {
                    resources.push(resource);
                }
            }
        }
        let mut result = json!({ "resources": resources });
        self.redact(&mut result);
        result
    }

    fn list_templates(&mut self) -> Value {
        let mut templates = self.root_templates();
        templates.extend(
            self.app
                .upstreams
                .iter()
                .flat_map(|u| u.catalog().resource_templates.clone()),
        );
        let mut result = json!({ "resourceTemplates": templates });
        self.redact(&mut result);
        result
    }

    async fn read_resource(&mut self, message: &Message) -> Result<Value, Failure> {
        let uri = message
            .param("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(ErrorType::InvalidParams, "resources/read needs `uri`"))?
            .to_string();
        if self.app.roots.serves(&uri) {
            return self.read_root_resource(&uri).await;
        }
        self.resource = Some(crate::enforce::roots::truncate(&uri));
        let Some(upstream) = self.resource_owner(&uri) else {
            if crate::enforce::roots::is_guarded_scheme(&uri) {
                // `file:`, `http(s):` and unknown `mcp:` URIs are probes, not typos.
                return Err(self.resolve_root(&uri).err().unwrap_or_else(|| {
                    Failure::new(ErrorType::InternalError, "a root resolved unexpectedly")
                }));
            }
            return Err(Failure::new(
                ErrorType::ResourceNotFound,
                format!(
                    "resource not found: `{}`",
                    crate::enforce::roots::truncate(&uri)
                ),
            ));
        };
        self.upstream = Some(upstream.name().to_string());
        self.authorize("resources/read", "", &uri, Self::upstream_meta(&upstream))?;
        let mut result = self
            .forward(&upstream, "resources/read", json!({ "uri": uri }))
            .await?;
        self.redact(&mut result);
        Ok(result)
    }

    fn prompt_meta(upstream: &Upstream, name: &str) -> Map<String, Value> {
        let mut map = Self::upstream_meta(upstream);
        map.insert("prompt".into(), name.into());
        map
    }

    fn list_prompts(&mut self) -> Value {
        let mut prompts = Vec::new();
        // A name two upstreams offer is served by the first (`get_prompt`): listed once.
        let mut seen = std::collections::HashSet::new();
        for upstream in &self.app.upstreams {
            for prompt in upstream.catalog().prompts.iter().cloned() {
                let name = prompt
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if seen.insert(name.clone())
                    && self
                        .allowed("prompts/get", "", "", Self::prompt_meta(upstream, &name))
                        .allow
                {
                    prompts.push(prompt);
                }
            }
        }
        let mut result = json!({ "prompts": prompts });
        self.redact(&mut result);
        result
    }

    async fn get_prompt(&mut self, message: &Message) -> Result<Value, Failure> {
        let name = message
            .param("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(ErrorType::InvalidParams, "prompts/get needs `name`"))?
            .to_string();
        let upstream = self
            .app
            .upstreams
            .iter()
            .find(|u| {
                u.catalog()
                    .prompts
                    .iter()
                    .any(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))
            })
            .cloned()
            .ok_or_else(|| {
                Failure::new(ErrorType::InvalidParams, format!("unknown prompt `{name}`"))
            })?;
        self.upstream = Some(upstream.name().to_string());
        self.authorize("prompts/get", "", "", Self::prompt_meta(&upstream, &name))?;
        let mut params = json!({ "name": name });
        if let Some(arguments) = message.param("arguments") {
            params["arguments"] = arguments.clone();
        }
        let mut result = self.forward(&upstream, "prompts/get", params).await?;
        self.redact(&mut result);
        Ok(result)
    }
}
