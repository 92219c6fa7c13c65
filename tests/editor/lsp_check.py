#!/usr/bin/env python3
"""Editor support, proven: drives the real yaml-language-server (the server behind VS Code's
Red Hat YAML extension and Neovim's `yamlls`) over stdio, as an editor would, against
examples/minimal/airlock.yaml and its `# yaml-language-server: $schema=../../schema/...` modeline.

Checks:
  1. an unknown key under `auth.oidc` and a wrong type under `deployment` are each reported on
     exactly their line, and nowhere else;
  2. completion on an empty line under `auth: oidc:` offers the Oidc keys;
  3. the unmodified examples get zero diagnostics, and hover shows the schema's description;
  4. without a modeline, the `yaml.schemas` setting (`./schema/airlock.schema.json` ->
     `**/airlock.yaml`, as in docs/editor-setup.md) attaches the schema too.

Documents are opened with file:// URIs in the directories the examples live in, so the modeline's
relative path resolves exactly as it does for users; their text is sent in textDocument/didOpen
and nothing is written to disk. Standard library only. Needs node and tests/editor/install.sh.

Usage: tests/editor/install.sh && python3 tests/editor/lsp_check.py
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / ".tools/yaml-language-server/node_modules/yaml-language-server/bin/yaml-language-server"
EXAMPLE = ROOT / "examples/minimal/airlock.yaml"
SCHEMA = ROOT / "schema/airlock.schema.json"
TIMEOUT = float(os.environ.get("LSP_CHECK_TIMEOUT", "60"))  # seconds, for the whole run
SETTLE = 1.0  # seconds without a newer publishDiagnostics before a document's result is final

OIDC_KEYS = ["issuer", "audience", "jwksCacheTTL", "clockSkew", "requiredGroups"]
SETTINGS = {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}


class Failure(Exception):
    pass


SERVERS: list["Server"] = []  # every server started, for their stderr on failure


class Server:
    """A yaml-language-server process and a minimal LSP client (Content-Length framed JSON-RPC)."""

    def __init__(self, yaml_settings: dict, deadline: float):
        self.yaml_settings = yaml_settings
        self.deadline = deadline
        self.proc = subprocess.Popen(
            ["node", str(SERVER), "--stdio"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.next_id = 0
        self.write_lock = threading.Lock()
        self.responses: dict[int, queue.Queue] = {}
        self.diagnostics: dict[str, tuple[float, list]] = {}  # uri -> (received at, diagnostics)
        self.config_pulls = 0
        self.cond = threading.Condition()
        self.stderr: list[str] = []
        SERVERS.append(self)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # --- transport -------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        try:
            with self.write_lock:
                self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                self.proc.stdin.flush()
        except OSError as e:  # BrokenPipeError: the server is gone
            raise Failure(f"cannot write to the server ({e}); it exited with code {self.proc.poll()}") from None

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:  # headers
                line = out.readline()
                if not line:
                    with self.cond:
                        self.cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            self._dispatch(json.loads(out.read(length)))

    def _dispatch(self, msg: dict) -> None:
        if "id" in msg and "method" not in msg:  # a response to us
            q = self.responses.get(msg["id"])
            if q is not None:
                q.put(msg)
        elif "id" in msg:  # a request from the server
            try:
                self._answer(msg)
            except Failure:
                pass  # the server is gone; the waiting side reports it
        elif msg.get("method") == "textDocument/publishDiagnostics":
            with self.cond:
                p = msg["params"]
                self.diagnostics[p["uri"]] = (time.monotonic(), p["diagnostics"])
                self.cond.notify_all()

    def _answer(self, msg: dict) -> None:
        method = msg["method"]
        result = None
        if method == "workspace/configuration":
            sections = {"yaml": self.yaml_settings, "http": {"proxy": "", "proxyStrictSSL": False}}
            result = [sections.get(item.get("section"), {}) for item in msg["params"]["items"]]
            with self.cond:
                self.config_pulls += 1
                self.cond.notify_all()
        # client/registerCapability, window/workDoneProgress/create, ...: accept with null
        self._send({"id": msg["id"], "result": result})

    # --- requests --------------------------------------------------------------------------------
    def _left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def remaining(self) -> float:
        if self._left() <= 0:
            raise Failure(f"timed out after {TIMEOUT:g} s")
        return self._left()

    def request(self, method: str, params: dict) -> object:
        self.next_id += 1
        rid = self.next_id
        self.responses[rid] = q = queue.Queue()
        self._send({"id": rid, "method": method, "params": params})
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"the server exited (code {self.proc.returncode}) before answering {method}")
            try:
                msg = q.get(timeout=min(self._left(), 0.5))
                break
            except queue.Empty:
                if self._left() <= 0:
                    raise Failure(f"timed out after {TIMEOUT:g} s waiting for the answer to {method}") from None
        if "error" in msg:
            raise Failure(f"{method} failed: {msg['error']}")
        return msg.get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    def wait(self, predicate, what: str) -> None:
        with self.cond:
            while not predicate():
                if self.proc.poll() is not None:
                    raise Failure(f"the server exited (code {self.proc.returncode}) while waiting for {what}")
                if self._left() <= 0:
                    raise Failure(f"timed out after {TIMEOUT:g} s waiting for {what}")
                self.cond.wait(timeout=min(self._left(), 0.5))

    def start(self) -> None:
        root_uri = ROOT.as_uri()
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "clientInfo": {"name": "airlock-lsp-check"},
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": ROOT.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "workspaceFolders": True,
                                  "didChangeConfiguration": {"dynamicRegistration": False}},
                    "textDocument": {
                        "synchronization": {"didSave": True},
                        "publishDiagnostics": {"relatedInformation": True},
                        "completion": {"completionItem": {"snippetSupport": True,
                                                          "documentationFormat": ["markdown", "plaintext"]}},
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                    },
                },
            },
        )
        self.notify("initialized", {})
        # The server pulls its settings (workspace/configuration) when told they changed; wait for
        # that before opening documents, so they are validated with these settings.
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": self.yaml_settings}})
        self.wait(lambda: self.config_pulls > 0, "the server to pull its settings")

    def open(self, uri: str, text: str) -> None:
        self.notify("textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}})

    def diagnostics_for(self, uri: str) -> list:
        """The document's diagnostics once the server has published them and gone quiet."""
        self.wait(lambda: uri in self.diagnostics, f"diagnostics for {uri}")
        while True:
            with self.cond:
                at, diags = self.diagnostics[uri]
            quiet = time.monotonic() - at
            if quiet >= SETTLE:
                return diags
            time.sleep(min(SETTLE - quiet, self.remaining()))

    def stop(self) -> None:
        """shutdown + exit, then kill if the server is still there: it never outlives the check."""
        try:
            if self.proc.poll() is None:
                self.next_id += 1
                self.responses[self.next_id] = q = queue.Queue()
                self._send({"id": self.next_id, "method": "shutdown", "params": None})
                q.get(timeout=2)
                self.notify("exit", None)
                self.proc.wait(timeout=3)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def stderr_tail(self, n: int = 20) -> str:
        return "\n".join(self.stderr[-n:])


# --- the documents -------------------------------------------------------------------------------
def line_of(lines: list[str], text: str) -> int:
    """The 0-based index of the only line equal to `text`."""
    hits = [i for i, line in enumerate(lines) if line == text]
    if len(hits) != 1:
        raise Failure(f"expected exactly one line {text!r} in {EXAMPLE}, found {len(hits)}")
    return hits[0]


def show(diags: list) -> str:
    if not diags:
        return "    (none)"
    return "\n".join(
        f"    line {d['range']['start']['line'] + 1}, col {d['range']['start']['character'] + 1}: "
        f"{d.get('message', '').strip()}" for d in diags
    )


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def run(deadline: float) -> None:
    original = EXAMPLE.read_text()
    lines = original.splitlines()
    modeline = "# yaml-language-server: $schema=../../schema/airlock.schema.json"
    check(lines[0] == modeline, f"{EXAMPLE} does not start with the modeline {modeline!r}")
    example_dir = EXAMPLE.parent

    # 1. an unknown key under auth.oidc and a wrong type under deployment.
    broken = list(lines)
    broken.insert(line_of(broken, "    audience: mcp-airlock") + 1, "    jwks_cache_ttl: 5m")
    at = line_of(broken, "auth:")
    broken[at:at] = ["deployment:", "  replicas: three", ""]
    unknown_line = line_of(broken, "    jwks_cache_ttl: 5m")
    wrong_type_line = line_of(broken, "  replicas: three")
    broken_uri = (example_dir / "airlock.lsp-check-errors.yaml").as_uri()

    # 2. completion on an empty line in the `auth: oidc:` mapping (its keys removed, so none is
    #    filtered out as already present).
    completion = list(lines)
    oidc = line_of(completion, "  oidc:")
    check(completion[oidc + 1].startswith("    issuer:") and completion[oidc + 2].startswith("    audience:"),
          f"unexpected auth.oidc block in {EXAMPLE}")
    completion[oidc + 1 : oidc + 3] = ["    "]
    completion_pos = {"line": oidc + 1, "character": 4}
    completion_uri = (example_dir / "airlock.lsp-check-completion.yaml").as_uri()

    print(f"yaml-language-server {server_version()} (node {node_version()}), schema {SCHEMA.relative_to(ROOT)}")
    server = Server(SETTINGS, deadline)
    try:
        server.start()
        server.open(broken_uri, "\n".join(broken) + "\n")
        server.open(completion_uri, "\n".join(completion) + "\n")
        examples = sorted(ROOT.glob("examples/*/airlock.yaml"))
        for example in examples:
            server.open(example.as_uri(), example.read_text())

        diags = server.diagnostics_for(broken_uri)
        print(f"\n[1] diagnostics, example + `jwks_cache_ttl: 5m` (line {unknown_line + 1}) "
              f"+ `replicas: three` (line {wrong_type_line + 1}):\n{show(diags)}")
        on = lambda n: [d for d in diags if d["range"]["start"]["line"] == n]  # noqa: E731
        check(on(unknown_line), f"no diagnostic on line {unknown_line + 1} (unknown key `jwks_cache_ttl`)")
        check(on(wrong_type_line), f"no diagnostic on line {wrong_type_line + 1} (`replicas: three`, not an integer)")
        check(any("jwks_cache_ttl" in d["message"] or "not allowed" in d["message"] for d in on(unknown_line)),
              f"the diagnostic on line {unknown_line + 1} does not report an unknown key")
        check(any("integer" in d["message"] for d in on(wrong_type_line)),
              f"the diagnostic on line {wrong_type_line + 1} does not report the expected type (integer)")
        stray = [d for d in diags if d["range"]["start"]["line"] not in (unknown_line, wrong_type_line)]
        check(not stray, f"unexpected diagnostics on other lines:\n{show(stray)}")
        print("    ok: exactly the two lines")

        result = server.request("textDocument/completion",
                                {"textDocument": {"uri": completion_uri}, "position": completion_pos})
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        labels = sorted({item["label"] for item in items})
        print(f"\n[2] completion at line {completion_pos['line'] + 1}, col {completion_pos['character'] + 1} "
              f"(empty line under `auth: oidc:`):\n    {', '.join(labels) or '(none)'}")
        missing = [k for k in OIDC_KEYS if k not in labels]
        check(not missing, f"completion under auth.oidc lacks {missing}")
        foreign = [k for k in ("adminGroups", "version", "upstreams") if k in labels]
        check(not foreign, f"completion under auth.oidc offers keys of other mappings: {foreign}")
        print(f"    ok: offers {', '.join(OIDC_KEYS)}")

        print("\n[3] diagnostics, the examples unmodified (their own modelines):")
        for example in examples:
            diags = server.diagnostics_for(example.as_uri())
            print(f"  {example.relative_to(ROOT)}:\n{show(diags)}")
            check(not diags, f"{example.relative_to(ROOT)} should have no diagnostics")
        # Hover proves the schema is attached to the real file (zero diagnostics alone would also
        # follow from no schema at all), and that a key typed by a shared scalar (`issuer` is an
        # HttpUrl, `clockSkew` a Duration) shows the key's own description, not the type's.
        oidc = json.loads(SCHEMA.read_text())["definitions"]["Oidc"]["properties"]
        for key, text in (("audience", "    audience: mcp-airlock"), ("issuer", "    issuer: https://idp.example.com")):
            line = line_of(lines, text)
            described = oidc[key]["description"]
            hover = server.request("textDocument/hover", {"textDocument": {"uri": EXAMPLE.as_uri()},
                                                          "position": {"line": line, "character": 6}})
            shown = ((hover or {}).get("contents") or {}).get("value", "") if isinstance(hover, dict) else ""
            check(described[:30] in shown, f"hover on `{key}` does not show its description "
                  f"{described[:30]!r}...: {shown[:300]!r}")
            print(f"    ok: hover on `{key}` (line {line + 1}) shows: {described.splitlines()[0]}")
        print("    ok: no diagnostics on the examples")
    finally:
        server.stop()

    # 4. no modeline: the schema attached by the `yaml.schemas` setting, as docs/editor-setup.md says.
    plain = [line for line in broken if not line.startswith("#")]
    plain_unknown = line_of(plain, "    jwks_cache_ttl: 5m")
    plain_uri = (ROOT / "tests/editor/settings-association/airlock.yaml").as_uri()
    settings = {**SETTINGS, "schemas": {"./schema/airlock.schema.json": "**/airlock.yaml"}}
    server = Server(settings, deadline)
    try:
        server.start()
        server.open(plain_uri, "\n".join(plain) + "\n")
        diags = server.diagnostics_for(plain_uri)
        print(f"\n[4] diagnostics, no modeline, yaml.schemas {settings['schemas']}:\n{show(diags)}")
        check(any(d["range"]["start"]["line"] == plain_unknown for d in diags),
              f"no diagnostic on line {plain_unknown + 1}: the yaml.schemas setting did not attach the schema")
        print("    ok: the setting attaches the schema")
    finally:
        server.stop()


def server_version() -> str:
    return json.loads((SERVER.parent.parent / "package.json").read_text())["version"]


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()


def main() -> int:
    if shutil.which("node") is None:
        print("lsp_check: node is not on PATH (Node >= 18 runs yaml-language-server 1.x)", file=sys.stderr)
        return 2
    if not SERVER.exists():
        print(f"lsp_check: {SERVER.relative_to(ROOT)} is missing; run tests/editor/install.sh", file=sys.stderr)
        return 2
    deadline = time.monotonic() + TIMEOUT
    try:
        run(deadline)
    except Failure as e:
        print(f"\nFAIL: {e}", file=sys.stderr)
        if SERVERS and SERVERS[-1].stderr:
            print(f"\nyaml-language-server stderr (last lines):\n{SERVERS[-1].stderr_tail()}", file=sys.stderr)
        return 1
    print("\nok: yaml-language-server validates, completes and hovers airlock.yaml from the schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
