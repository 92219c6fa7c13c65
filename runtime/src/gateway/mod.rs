//! The MCP methods, served behind authentication: aggregation of the upstreams' tools,
//! resources and prompts (filtered by each upstream's `allowTools` and by policy), routing of
//! calls to the owning upstream, and DLP on everything returned. Transport concerns (HTTP,
//! headers, status codes) live in `http`.

use crate::app::App;
use crate::enforce::auth::Principal;
use crate::enforce::roots::tools::Request;
use crate::errors::{ErrorType, Failure};
use crate::mcp::jsonrpc::{self, Json, Message};
use crate::mcp::protocol::{self, Era};
use crate::record::exchange::Exchange;
use crate::record::traces::{KIND_CLIENT, now_ns};
use crate::upstream::{Upstream, UpstreamError};
use authorize::{Authorized, Target};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

pub mod authorize;
mod roots;

/// One authenticated call. What it learns (the tool, resource, upstream, root, decision,
/// violation, spans) goes straight into the request's [`Exchange`].
pub struct Call<'a, 'r> {
    pub app: &'a App,
    pub principal: &'a Principal,
    pub ip: IpAddr,
    pub era: Era,
    /// The caller's requests in the last minute, when the policy reads it.
    pub requests_per_minute: Option<u32>,
    record: &'r mut Exchange,
    /// A session created by `initialize`, for the `Mcp-Session-Id` header.
    new_session: Option<String>,
}

/// A method's answer, before DLP (the edge redacts every answer, in one place).
pub struct Reply {
    pub result: Json,
    /// A session `initialize` created, for the `Mcp-Session-Id` header.
    pub session: Option<String>,
}

/// A tool as clients see it: its gateway name and where it lives.
struct Route {
    name: String,
    upstream: Arc<Upstream>,
    definition: Value,
}

/// The params of a forwarded `tools/call`, borrowing the client's arguments (forwarded as the
/// text they came as, never parsed into a tree or copied).
#[derive(Serialize)]
struct ToolCall<'a> {
    name: &'a str,
    arguments: &'a RawValue,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Progress<'a>>,
}

#[derive(Serialize)]
struct Progress<'a> {
    #[serde(rename = "progressToken")]
    token: &'a RawValue,
}

/// `{}`: the arguments of a call that sent none (or `null`).
fn no_arguments() -> &'static RawValue {
    static EMPTY: std::sync::LazyLock<&'static RawValue> =
        std::sync::LazyLock::new(|| serde_json::from_str("{}").expect("an empty object"));
    *EMPTY
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

impl<'a, 'r> Call<'a, 'r> {
    pub fn new(
        app: &'a App,
        principal: &'a Principal,
        ip: IpAddr,
        era: Era,
        record: &'r mut Exchange,
    ) -> Self {
        Self {
            app,
            principal,
            ip,
            era,
            requests_per_minute: None,
            record,
            new_session: None,
        }
    }

    /// Records what the request is about, scrubbed: it repeats what the client sent.
    fn about_tool(&mut self, name: &str) {
        self.record.tool = Some(self.app.dlp.scrub(name.to_string()));
    }
    fn about_resource(&mut self, uri: &str) {
        self.record.resource = Some(self.app.dlp.scrub(uri.to_string()));
    }
    fn about_upstream(&mut self, upstream: &Upstream) {
        self.record.upstream = Some(upstream.name().to_string());
    }

    /// Serves one request. Notifications are handled by the caller.
    pub async fn dispatch(&mut self, message: &Message) -> Result<Reply, Failure> {
        let modern = self.era.is_modern();
        let result: Json = match message.method.as_str() {
            "initialize" if !modern => self.initialize(message).await?.into(),
            "ping" if !modern => json!({}).into(),
            "server/discover" => protocol::discover_result().into(),
            "tools/list" => self.list_tools().into(),
            "tools/call" => self.call_tool(message).await?,
            "resources/list" => self.list_resources().into(),
            "resources/templates/list" => self.list_templates().into(),
            "resources/read" => self.read_resource(message).await?,
            "prompts/list" => self.list_prompts().into(),
            "prompts/get" => self.get_prompt(message).await?,
            "debug/token" => self.token_info().into(),
            other => {
                return Err(Failure::new(
                    ErrorType::MethodNotFound,
                    format!("method `{other}` is not supported by this gateway"),
                ));
            }
        };
        let result = match (modern, result) {
            // The draft revision adds members to results: those of upstreams become trees.
            (true, result) => {
                let tree = result.into_tree().map_err(|_| {
                    Failure::new(
                        ErrorType::UpstreamError,
                        "the upstream answered text that is not Unicode",
                    )
                })?;
                protocol::finish(&message.method, tree, &self.era).into()
            }
            (false, result) => result,
        };
        Ok(Reply {
            result,
            session: self.new_session.take(),
        })
    }

    async fn initialize(&mut self, message: &Message) -> Result<Value, Failure> {
        let requested = message.param("protocolVersion").and_then(Value::as_str);
        let version = protocol::negotiate(requested);
        self.new_session = Some(
            self.app
                .sessions
                .create(&self.principal.subject, version)
                .await,
        );
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

    fn list_tools(&mut self) -> Value {
        let mut tools = Vec::new();
        let routes = self.routes();
        let upstream_names: std::collections::HashSet<String> =
            routes.iter().map(|r| r.name.clone()).collect();
        for route in routes {
            if self.shows(&Target::Tool {
                name: &route.name,
                resource: "",
                upstream: &route.upstream,
            }) {
                let mut definition = route.definition;
                definition["name"] = route.name.into();
                tools.push(definition);
            }
        }
        tools.extend(self.builtin_tools(&|name| upstream_names.contains(name)));
        json!({ "tools": tools })
    }

    async fn call_tool(&mut self, message: &Message) -> Result<Json, Failure> {
        let [name, arguments, meta] = message.raw_params(["name", "arguments", "_meta"]);
        let name = name
            .and_then(jsonrpc::text_of)
            .ok_or_else(|| Failure::new(ErrorType::InvalidParams, "tools/call needs `name`"))?;
        let name = name.as_ref();
        let arguments = match arguments {
            None => no_arguments(),
            Some(args) if jsonrpc::is_null(args) => no_arguments(),
            Some(args) if jsonrpc::is_object(args) => args,
            Some(_) => {
                return Err(Failure::new(
                    ErrorType::InvalidParams,
                    "`arguments` must be an object",
                ));
            }
        };
        self.about_tool(name);
        let Some((upstream, original)) = route_of(&self.app.upstreams, name) else {
            // No upstream has the tool: a built-in file tool, when roots are configured.
            let tree = jsonrpc::from_slice_strict(arguments.get().as_bytes()).unwrap_or_default();
            if let Some(request) =
                Request::parse(name, &tree).filter(|_| !self.app.roots.is_empty())
            {
                let request = request.map_err(|message| {
                    Failure::new(ErrorType::InvalidParams, format!("{name}: {message}"))
                })?;
                return self.call_builtin(name, request).await.map(Json::Tree);
            }
            if let Some(failure) = self.withheld(name) {
                return Err(failure);
            }
            return Err(Failure::new(
                ErrorType::InvalidParams,
                format!("unknown tool `{name}`"),
            ));
        };
        let upstream = upstream.clone();
        self.about_upstream(&upstream);
        let resource = jsonrpc::members(arguments, ["uri", "path", "resource"])
            .into_iter()
            .flatten()
            .find_map(jsonrpc::text_of)
            .map(Cow::into_owned)
            .unwrap_or_default();
        if !resource.is_empty() {
            self.about_resource(&resource);
        }
        let authorized = self.authorize(&Target::Tool {
            name,
            resource: &resource,
            upstream: &upstream,
        })?;
        let params = ToolCall {
            name: &original,
            arguments,
            meta: meta
                .and_then(|meta| jsonrpc::members(meta, ["progressToken"])[0])
                .map(|token| Progress { token }),
        };
        self.forward(&authorized, &upstream, "tools/call", &params)
            .await
    }

    /// The refusal of a tool an upstream lists but the gateway withholds (`upstream::integrity`),
    /// if `name` is one.
    fn withheld(&mut self, name: &str) -> Option<Failure> {
        use crate::upstream::Withheld;
        self.app.upstreams.iter().find_map(|upstream| {
            let original = name.strip_prefix(upstream.config.tool_prefix.as_str())?;
            let catalog = upstream.catalog();
            let withheld = catalog.withheld.get(original)?;
            self.record.upstream = Some(upstream.name().to_string());
            let (kind, message) = match withheld {
                Withheld::DefinitionChanged { .. } => (
                    ErrorType::ToolDefinitionChanged,
                    format!("forbidden: the definition of `{name}` changed since it was reviewed and pinned; it is withheld until it is reviewed again"),
                ),
                Withheld::NotPinned => (
                    ErrorType::ToolNotPinned,
                    format!("forbidden: `{name}` is not among the reviewed (pinned) tools"),
                ),
                Withheld::Poisoned { .. } => (
                    ErrorType::ToolWithheld,
                    format!("forbidden: the definition of `{name}` hides text or addresses the model; it is withheld"),
                ),
            };
            Some(Failure::new(kind, message).with("upstream", upstream.name()))
        })
    }

    /// Calls the upstream, as the policy allowed.
    async fn forward<P: Serialize + Sync + ?Sized>(
        &mut self,
        _allowed: &Authorized,
        upstream: &Upstream,
        method: &str,
        params: &P,
    ) -> Result<Json, Failure> {
        let start = now_ns();
        let result = upstream.call(method, params).await;
        let attributes = || {
            let latency_ms = (now_ns().saturating_sub(start)) as f64 / 1e6;
            vec![
                ("upstream", upstream.name().into()),
                ("mcp.method", method.into()),
                ("latency_ms", latency_ms.into()),
            ]
        };
        self.record
            .timeline
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
                    let message = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("upstream error")
                        .to_string();
                    let mut failure = Failure::new(ErrorType::UpstreamRpcError, message);
                    failure.code = error.get("code").and_then(Value::as_i64);
                    if let Some(data) = error.get("data") {
                        failure.relayed = Some(data.clone());
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
                    && self.shows(&Target::Resource {
                        uri: &uri,
                        upstream,
                    })
                {
                    resources.push(resource);
                }
            }
        }
        json!({ "resources": resources })
    }

    fn list_templates(&mut self) -> Value {
        let mut templates = self.root_templates();
        templates.extend(
            self.app
                .upstreams
                .iter()
                .flat_map(|u| u.catalog().resource_templates.clone()),
        );
        json!({ "resourceTemplates": templates })
    }

    async fn read_resource(&mut self, message: &Message) -> Result<Json, Failure> {
        let [uri] = message.raw_params(["uri"]);
        let uri = uri
            .and_then(jsonrpc::text_of)
            .ok_or_else(|| Failure::new(ErrorType::InvalidParams, "resources/read needs `uri`"))?
            .into_owned();
        if self.app.roots.serves(&uri) {
            return self.read_root_resource(&uri).await.map(Json::Tree);
        }
        self.about_resource(&crate::enforce::roots::truncate(&uri));
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
        self.about_upstream(&upstream);
        let authorized = self.authorize(&Target::Resource {
            uri: &uri,
            upstream: &upstream,
        })?;
        self.forward(
            &authorized,
            &upstream,
            "resources/read",
            &json!({ "uri": uri }),
        )
        .await
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
                    && self.shows(&Target::Prompt {
                        name: &name,
                        upstream,
                    })
                {
                    prompts.push(prompt);
                }
            }
        }
        json!({ "prompts": prompts })
    }

    async fn get_prompt(&mut self, message: &Message) -> Result<Json, Failure> {
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
        self.about_upstream(&upstream);
        let authorized = self.authorize(&Target::Prompt {
            name: &name,
            upstream: &upstream,
        })?;
        let mut params = json!({ "name": name });
        if let Some(arguments) = message.param("arguments") {
            params["arguments"] = arguments.clone();
        }
        self.forward(&authorized, &upstream, "prompts/get", &params)
            .await
    }
}
