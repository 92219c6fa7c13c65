# The quickstart's policy: members of mcp.users may call the sample server's tools and read the
# docs root; nobody may write. Everything else is denied (default deny).
package airlock.authz

import rego.v1

default allow := false

allow if {
	"mcp.users" in input.groups
	input.method == "tools/call"
	input.tool in {"echo", "word_count"}
}

allow if {
	"mcp.users" in input.groups
	input.method in {"tools/call", "resources/read"}
	input.tool in {"", "read_file", "list_directory", "search_files"}
	startswith(input.resource, "mcp://docs/")
}

# Listing tools and resources asks about each one without a resource.
allow if {
	"mcp.users" in input.groups
	input.method == "tools/call"
	input.tool in {"read_file", "list_directory", "search_files"}
	input.resource == ""
}

reason := "only members of mcp.users may use this gateway" if not "mcp.users" in input.groups
