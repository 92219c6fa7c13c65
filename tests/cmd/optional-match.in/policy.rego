# A group-based policy: members of mcp.users may call any tool and read any resource the
# upstreams offer; everyone else is denied.
package airlock.authz

import rego.v1

default allow := false

allow if "mcp.users" in input.groups

# Returned with a 403.
reason := "allowed" if {
	allow
} else := "not a member of mcp.users"

rule_id := "allow-mcp-users" if {
	allow
} else := "deny-missing-group"
