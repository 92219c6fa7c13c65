# Tests of policy.rego, run by `airlockc test` and `airlockc build` (and by `opa test .`).
package airlock.authz

import rego.v1

# A tool call by a member of mcp.users; fields overridden per test with object.union.
user_call := {
	"subject": "alice",
	"tenant": "acme",
	"groups": ["mcp.users"],
	"tool": "read_file",
	"resource": "mcp://repo/README.md",
	"method": "tools/call",
	"metadata": {"requests_per_minute": 10},
}

test_user_reads_repo_file if {
	allow with input as user_call
}

test_user_tool_without_resource if {
	allow with input as object.union(user_call, {"tool": "search_docs", "resource": ""})
}

test_user_resource_read if {
	allow with input as object.union(user_call, {"tool": "", "method": "resources/read"})
}

test_user_denied_power_tool if {
	not allow with input as object.union(user_call, {"tool": "execute_command", "resource": ""})
}

test_unknown_tool_denied if {
	not allow with input as object.union(user_call, {"tool": "delete_everything", "resource": ""})
}

test_denied_without_group if {
	not allow with input as object.union(user_call, {"groups": ["contractors"]})
}

test_power_user_without_users_group_denied if {
	not allow with input as object.union(user_call, {"groups": ["mcp.power_users"], "tool": "execute_command", "resource": ""})
}

test_denied_with_missing_groups if {
	not allow with input as object.remove(user_call, ["groups"])
}

test_power_user_executes_command if {
	allow with input as object.union(user_call, {
		"groups": ["mcp.users", "mcp.power_users"],
		"tool": "execute_command",
		"resource": "",
	})
}

test_power_user_writes_artifact if {
	allow with input as object.union(user_call, {
		"groups": ["mcp.users", "mcp.power_users"],
		"tool": "write_file",
		"resource": "mcp://artifacts/build/report.json",
	})
}

test_power_user_cannot_write_repo if {
	req := object.union(user_call, {
		"groups": ["mcp.users", "mcp.power_users"],
		"tool": "write_file",
		"resource": "mcp://repo/README.md",
	})
	not allow with input as req
	rule_id == "deny-read-only" with input as req
}

test_write_must_name_resource if {
	req := object.union(user_call, {
		"groups": ["mcp.users", "mcp.power_users"],
		"tool": "write_file",
		"resource": "",
	})
	not allow with input as req
	rule_id == "deny-write-without-resource" with input as req
}

test_path_traversal_denied if {
	not allow with input as object.union(user_call, {"resource": "mcp://repo/../../etc/passwd"})
	not allow with input as object.union(user_call, {"resource": "mcp://repo/docs/.."})
	not allow with input as object.union(user_call, {"resource": "mcp://repo/%2e%2e/etc/passwd"})
	not allow with input as object.union(user_call, {
		"tool": "",
		"method": "resources/read",
		"resource": "mcp://repo/src/../../secrets",
	})
	rule_id == "deny-path" with input as object.union(user_call, {"resource": "mcp://repo/../x"})
}

test_git_directory_denied if {
	not allow with input as object.union(user_call, {"resource": "mcp://repo/.git/config"})
	not allow with input as object.union(user_call, {"resource": "mcp://repo/vendor/lib/.git/HEAD"})
	not allow with input as object.union(user_call, {"tool": "list_directory", "resource": "mcp://repo/.git"})
}

test_git_lookalikes_allowed if {
	allow with input as object.union(user_call, {"resource": "mcp://repo/.gitignore"})
	allow with input as object.union(user_call, {"resource": "mcp://repo/.github/workflows/ci.yaml"})
}

test_artifacts_for_writers if {
	allow with input as object.union(user_call, {
		"groups": ["mcp.users", "mcp.writers"],
		"resource": "mcp://artifacts/build/report.json",
	})
	allow with input as object.union(user_call, {
		"groups": ["mcp.users", "mcp.writers"],
		"tool": "",
		"method": "resources/read",
		"resource": "mcp://artifacts/build/report.json",
	})
}

test_artifacts_denied_for_plain_users if {
	req := object.union(user_call, {"resource": "mcp://artifacts/build/report.json"})
	not allow with input as req
	rule_id == "deny-artifacts-group" with input as req
}

test_writers_cannot_use_write_tool if {
	# mcp.writers may read and write artifacts, but write_file is a power-user tool.
	not allow with input as object.union(user_call, {
		"groups": ["mcp.users", "mcp.writers"],
		"tool": "write_file",
		"resource": "mcp://artifacts/out.txt",
	})
}

test_resource_outside_roots_denied if {
	req := object.union(user_call, {"resource": "file:///etc/passwd"})
	not allow with input as req
	reason == "resource is outside mcp://repo/ and mcp://artifacts/" with input as req
}

test_rate_limited_denied if {
	req := object.union(user_call, {"metadata": {"requests_per_minute": 201}})
	not allow with input as req
	rule_id == "deny-rate-limited" with input as req
}

test_rate_limit_boundary_allowed if {
	allow with input as object.union(user_call, {"metadata": {"requests_per_minute": 200}})
}

test_other_methods_denied if {
	req := object.union(user_call, {"tool": "", "resource": "", "method": "tools/list"})
	not allow with input as req
	rule_id == "deny-unsupported-request" with input as req
}

test_reason_for_denied_tool if {
	req := object.union(user_call, {"tool": "write_file", "resource": "mcp://artifacts/out.txt"})
	reason == "tool \"write_file\" is not allowed for your groups" with input as req
	rule_id == "deny-tool" with input as req
}

test_reason_for_missing_group if {
	reason == "not a member of mcp.users" with input as object.union(user_call, {"groups": []})
}

test_reason_when_allowed if {
	reason == "allowed" with input as user_call
	rule_id == "allow" with input as user_call
}

test_audit_metadata_records_decision if {
	meta := audit_metadata with input as user_call
	meta.decision == true
	meta.rule_id == "allow"
	meta.tenant == "acme"
}
