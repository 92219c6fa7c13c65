# Tests of policy.rego, run by `airlockc test` and `airlockc build`.
package airlock.authz

import rego.v1

test_member_calls_tool if {
	allow with input as {"subject": "alice", "groups": ["mcp.users"], "tool": "search_docs", "resource": ""}
}

test_member_reads_resource if {
	allow with input as {"subject": "alice", "groups": ["mcp.users"], "tool": "", "method": "resources/read", "resource": "mcp://docs/index.md"}
}

test_non_member_denied if {
	not allow with input as {"subject": "bob", "groups": ["contractors"], "tool": "search_docs", "resource": ""}
	not allow with input as {"subject": "bob", "tool": "search_docs", "resource": ""}
}

test_denial_reason if {
	reason == "not a member of mcp.users" with input as {"subject": "bob", "groups": [], "tool": "search_docs"}
	rule_id == "deny-missing-group" with input as {"subject": "bob", "groups": [], "tool": "search_docs"}
}
