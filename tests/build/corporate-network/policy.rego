# Members of mcp.users may call any tool; the on-call admin may always, to repair a broken
# group mapping.
package airlock.authz

import rego.v1

default allow := false

break_glass := {"oncall-admin@corp.example.com"}

allow if "mcp.users" in input.groups

allow if input.subject in break_glass

reason := "allowed" if {
	allow
} else := "not a member of mcp.users"

rule_id := "allow" if {
	allow
} else := "deny-missing-group"
