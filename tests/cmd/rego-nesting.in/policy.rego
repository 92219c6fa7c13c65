# Deeper bracket nesting than any real policy has: refused before regorus parses it (its parser
# takes time exponential in nesting; found by fuzzing).
package airlock.authz

import rego.v1

default allow := false

allow if "mcp.users" in input.groups

shapes := [[[[[[[[[[[[[[[[[[[[[[[["too deep"]]]]]]]]]]]]]]]]]]]]]]]]
