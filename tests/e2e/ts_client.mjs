// The official TypeScript MCP SDK as a client: connects to URL with a bearer token, makes CALLS
// `echo` calls (listing tools around them, as SDK clients do), and prints one JSON line with
// what it got. Used by test_replicas.py through the load balancer.
//
//     node ts_client.mjs URL TOKEN CALLS
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, calls] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "airlock-e2e", version: "1.0.0" });
const result = { ok: 0, errors: [], protocolVersion: null };
try {
  await client.connect(transport);
  result.protocolVersion = transport.protocolVersion ?? null;
  for (let i = 0; i < Number(calls); i++) {
    try {
      if (i % 10 === 0) await client.listTools();
      const answer = await client.callTool({ name: "echo", arguments: { text: `ts-${i}` } });
      const text = answer.content?.map((c) => c.text ?? "").join("");
      if (text === `ts-${i}`) result.ok += 1;
      else result.errors.push(`call ${i}: ${JSON.stringify(answer)}`);
    } catch (error) {
      result.errors.push(`call ${i}: ${error}`);
    }
  }
  await transport.terminateSession();
  await client.close();
} catch (error) {
  result.errors.push(`session: ${error}`);
}
console.log(JSON.stringify(result));
