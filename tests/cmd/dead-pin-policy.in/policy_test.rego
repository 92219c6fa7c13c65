package airlock.authz

import rego.v1

test_listed_tool_allowed if {
	allow with input as {"subject": "alice", "groups": ["mcp.users"], "tool": "search_docs", "method": "tools/call", "resource": ""}
}

test_unlisted_tool_denied if {
	not allow with input as {"subject": "alice", "groups": ["mcp.users"], "tool": "delete_page", "method": "tools/call", "resource": ""}
}
