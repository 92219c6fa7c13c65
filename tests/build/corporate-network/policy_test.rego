# Tests of policy.rego, run by `airlockc test` and `airlockc build`.
package airlock.authz

import rego.v1

test_member_calls_tool if {
	allow with input as {"subject": "alice", "groups": ["mcp.users"], "tool": "search_docs", "resource": ""}
}

test_break_glass if {
	allow with input as {"subject": "oncall-admin@corp.example.com", "groups": [], "tool": "search_docs", "resource": ""}
}

test_others_denied if {
	not allow with input as {"subject": "bob", "groups": ["contractors"], "tool": "search_docs", "resource": ""}
	reason == "not a member of mcp.users" with input as {"subject": "bob", "groups": [], "tool": "search_docs"}
	rule_id == "deny-missing-group" with input as {"subject": "bob", "groups": [], "tool": "search_docs"}
}
