# Production authorization policy for mcp-airlock, adapted from the Production Deployment Guide
# (step 3). The gateway evaluates `data.airlock.authz.allow` for every request with the input
#
#   {subject, tenant, groups, tool, resource, method, metadata}
#
# A request is either a tool call (`tool` set, `resource` possibly "") or a resource read
# (`method` == "resources/read", `resource` set, `tool` ""). A denied request gets 403 with
# `reason` and `rule_id` below.
package airlock.authz

import rego.v1

default allow := false

# Tool calls: an allowed tool, and, when the call names a resource, access to that resource.
allow if {
	base_conditions
	is_tool_call
	input.tool in allowed_tool
	tool_resource_ok
}

# Resource reads (`resources/read`): access to the resource.
allow if {
	base_conditions
	is_resource_read
	resource_allowed
}

# Every allowed request comes from a member of mcp.users that is not over its rate.
base_conditions if {
	"mcp.users" in member_of
	not rate_limited
}

# ---------------------------------------------------------------------------------------------
# Who and what

# The subject's groups, as a set.
member_of contains group if some group in input.groups

is_tool_call if input.tool != ""

is_resource_read if {
	input.method == "resources/read"
	not is_tool_call
	has_resource
}

has_resource if input.resource != ""

# Tool allowlist by group. Power users are also members of mcp.users (auth.oidc.requiredGroups).
user_tools := {"search_docs", "web_search_docs", "read_file", "list_directory", "search_files", "explain_diff", "find_symbol"}

power_user_tools := {"read_file", "write_file", "execute_command"}

# Tools that modify the resource they name.
write_tools := {"write_file"}

allowed_tool contains tool if {
	"mcp.users" in member_of
	some tool in user_tools
}

allowed_tool contains tool if {
	"mcp.power_users" in member_of
	some tool in power_user_tools
}

# A resource read, or a tool call that only reads, is a read; a write tool is a write.
access := "write" if {
	input.tool in write_tools
} else := "read"

# A tool call without a resource needs no resource access, unless it writes: a write must name
# the resource it writes so the rules below can check it.
tool_resource_ok if {
	not has_resource
	access == "read"
}

tool_resource_ok if resource_allowed

# ---------------------------------------------------------------------------------------------
# Resource access controls

repo_prefix := "mcp://repo/"

artifacts_prefix := "mcp://artifacts/"

# Groups that may read and write mcp://artifacts/.
artifact_groups := {"mcp.writers", "mcp.power_users"}

in_repo if startswith(input.resource, repo_prefix)

in_artifacts if startswith(input.resource, artifacts_prefix)

artifacts_member if {
	some group in member_of
	group in artifact_groups
}

# mcp://repo/ is read-only, and never serves its .git directory or a path that climbs out.
resource_allowed if {
	in_repo
	access == "read"
	safe_path
}

# mcp://artifacts/ is for writers and power users, to read and to write.
resource_allowed if {
	in_artifacts
	artifacts_member
	safe_path
}

# No `..` or `.git` path segment (this covers `../` and `.git/` anywhere in the path, and a
# trailing `..` or `.git`), and no percent-encoded dot or slash that could hide one. The
# gateway's roots also confine paths; this makes the decision and its reason explicit.
safe_path if {
	not forbidden_segment
	not contains(lower(input.resource), "%2e")
	not contains(lower(input.resource), "%2f")
}

forbidden_segment if {
	some segment in split(input.resource, "/")
	segment in {"..", ".git"}
}

# ---------------------------------------------------------------------------------------------
# Rate limiting check. The gateway fills input.metadata.requests_per_minute (the caller's
# requests to this replica in the last minute) because this policy mentions it; its own limiter
# is rateLimiting.perToken in airlock.yaml, which answers 429 before the policy runs.
rate_limited if input.metadata.requests_per_minute > 200

# ---------------------------------------------------------------------------------------------
# Explanation returned with a 403: the first matching case wins.
outcome := ["allow", "allowed"] if {
	allow
} else := ["deny-rate-limited", "rate limit exceeded: more than 200 requests per minute"] if {
	rate_limited
} else := ["deny-missing-group", "not a member of mcp.users"] if {
	not "mcp.users" in member_of
} else := ["deny-tool", sprintf("tool %q is not allowed for your groups", [input.tool])] if {
	is_tool_call
	not input.tool in allowed_tool
} else := ["deny-unsupported-request", "only tool calls and resources/read requests are authorized"] if {
	not is_tool_call
	not is_resource_read
} else := ["deny-path", "resource path must not contain .. or .git segments or encoded dots or slashes"] if {
	has_resource
	not safe_path
} else := ["deny-write-without-resource", sprintf("tool %q must name the resource it writes", [input.tool])] if {
	access == "write"
	not has_resource
} else := ["deny-read-only", "mcp://repo/ is read-only"] if {
	in_repo
	access == "write"
} else := ["deny-artifacts-group", "mcp://artifacts/ requires membership of mcp.writers or mcp.power_users"] if {
	in_artifacts
	not artifacts_member
} else := ["deny-resource", "resource is outside mcp://repo/ and mcp://artifacts/"]

rule_id := outcome[0]

reason := outcome[1]

# Audit metadata
audit_metadata := {
	"subject": input.subject,
	"tenant": input.tenant,
	"tool": input.tool,
	"resource": input.resource,
	"decision": allow,
	"groups": input.groups,
	"rule_id": rule_id,
}
