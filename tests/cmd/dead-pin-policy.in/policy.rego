# Members of mcp.users may call the tools listed here and read any resource; everyone else is
# denied. The lock also pins docs/delete_page and code/explain_diff (served as
# code_explain_diff), which this policy never allows.
package airlock.authz

import rego.v1

default allow := false

allow if {
	"mcp.users" in input.groups
	input.tool in allowed_tools
}

allow if {
	"mcp.users" in input.groups
	reads_resource
}

reads_resource if input.method == "resources/read"

allowed_tools contains tool if some tool in {"search_docs", "code_find_symbol"}
