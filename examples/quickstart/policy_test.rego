package airlock.authz_test

import rego.v1

import data.airlock.authz

user := {"subject": "alice", "tenant": "", "groups": ["mcp.users"], "method": "tools/call", "tool": "echo", "resource": "", "metadata": {}}

test_users_call_the_sample_tools if {
	authz.allow with input as user
}

test_users_read_the_docs_root if {
	authz.allow with input as object.union(user, {"tool": "read_file", "resource": "mcp://docs/welcome.md"})
	authz.allow with input as object.union(user, {"method": "resources/read", "tool": "", "resource": "mcp://docs/welcome.md"})
}

test_nobody_writes if {
	not authz.allow with input as object.union(user, {"tool": "write_file", "resource": "mcp://docs/welcome.md"})
}

test_strangers_are_denied if {
	not authz.allow with input as object.union(user, {"groups": ["guests"]})
}
