#!/usr/bin/env python3
"""Check that every `airlock` / `airlockc` command line in the docs is real.

Usage:
    tests/docs/check_commands.py target/debug/airlock target/debug/airlockc [FILE ...]
                                 [--root DIR] [--inline] [--verbose]

Without FILEs it reads README.md and docs/**/*.md under the repository root (the directory two
levels above this script, or --root). In every fenced code block it finds the command lines
that run `airlock` or `airlockc` -- directly, as `target/debug/airlock` or `./airlockc`, inside
`$(...)` or backticks, after `|`, `&&`, `||` or `;`, behind `sudo`/`env`/`time`/`timeout`/
`nohup`/`exec`/`watch`, after the `--` of `kubectl exec ... -- airlock doctor`, or as
`cargo run -p airlockc -- build ...` -- and checks each against the binaries:

  * the subcommand path (`audit verify`) exists: `<bin> <path...> --help` exits 0, and every
    word of the path is listed in its parent's `Commands:`;
  * every flag used (`--config`, `--token=...`, `-o`) appears in that help output.

Trailing-backslash continuations are joined, comments and here-document bodies are skipped,
`$ ` prompts are stripped, and placeholders (`<pod>`, `$VAR`, `COMMAND`, `[--listen ADDR]`,
`...`) are tolerated. A word that merely contains "airlock" (`app.kubernetes.io/name=airlock`,
`deployment/airlock`, `airlock-system`, `mcp-airlock`, an image name, `-c airlock`) is never
taken for a command: only the command word of a simple command counts.

--inline also checks inline code spans (`airlockc test airlock.yaml`) outside code blocks.

Prints each problem as `file:line: message` and exits 1; otherwise prints a one-line summary
and exits 0. Exit 2 on a usage error (a binary that does not run). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# A word standing for a command substitution (`$(...)` or backticks) once its text was taken out.
SUBST = "\x00SUBST\x00"
# A word standing for a `<placeholder>`.
PLACEHOLDER = "\x00PLACEHOLDER\x00"

# Words that may precede the command word of a simple command.
SHELL_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time"}
# Wrappers that run their (first non-option) argument as a command.
WRAPPERS = {"sudo", "nohup", "exec", "command", "builtin", "nice", "stdbuf", "xargs", "watch"}
# Wrappers whose options take a value (so the value is not mistaken for the command).
WRAPPER_OPTIONS_WITH_VALUE = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"},
    "xargs": {"-n", "-I", "-L", "-P", "-d", "-E", "-s", "-a"},
    "watch": {"-n", "--interval", "-d"},
    "nice": {"-n"},
    "stdbuf": {"-i", "-o", "-e"},
}

ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
ANGLE_PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_ .:/|=-]*[A-Za-z0-9_.])>")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
UPPER_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.\.\.)?$")
LONG_FLAG = re.compile(r"^--[A-Za-z0-9][A-Za-z0-9-]*$")
SHORT_FLAG = re.compile(r"^-[A-Za-z]$")


@dataclass
class Invocation:
    """One `airlock`/`airlockc` command found in a document."""

    path: Path
    line: int
    program: str  # "airlock" or "airlockc"
    args: list[str]
    text: str


@dataclass
class Help:
    ok: bool
    text: str
    commands: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# Markdown: fenced code blocks (and, with --inline, inline code spans) as logical lines.
# ---------------------------------------------------------------------------------------------


SHELL_LANGUAGES = {"sh", "bash", "shell", "zsh", "ksh", "console", "shell-session", "shellsession"}


def code_lines(text: str, inline: bool) -> list[tuple[int, str, bool]]:
    """(line number, logical line, is shell) of every code line: continuations joined,
    here-document bodies skipped. Only shell blocks treat backticks as substitutions (elsewhere
    they quote prose, as in "the `airlock` runtime")."""
    out: list[tuple[int, str, bool]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if inline:
                for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", lines[i]):
                    out.append((i + 1, span, False))
            i += 1
            continue
        fence = match.group("fence")
        indent = len(match.group("indent"))
        info = match.group("info").strip().strip("{}").split(",")[0].split()
        shell = bool(info) and info[0].lower().lstrip(".") in SHELL_LANGUAGES
        i += 1
        block: list[tuple[int, str]] = []
        while i < len(lines):
            line = lines[i]
            closing = re.match(r"^\s*(`{3,}|~{3,})\s*$", line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                i += 1
                break
            # Remove the fence's own indentation (blocks nested in list items).
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            block.append((i + 1, line[strip:]))
            i += 1
        out.extend((number, line, shell) for number, line in logical_lines(block))
    return out


def logical_lines(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Joins backslash continuations; drops here-document bodies."""
    out: list[tuple[int, str]] = []
    j = 0
    while j < len(block):
        start, line = block[j]
        parts = [line]
        while ends_with_continuation(parts[-1]) and j + 1 < len(block):
            parts[-1] = parts[-1].rstrip()[:-1]
            j += 1
            parts.append(block[j][1])
        logical = " ".join(p.strip() for p in parts)
        out.append((start, logical))
        j += 1
        # A here-document: its body is data, not commands.
        heredoc = re.search(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1", logical)
        if heredoc and not re.search(r"<<<", logical):
            delimiter = heredoc.group(2)
            while j < len(block) and block[j][1].strip() != delimiter:
                j += 1
            j += 1
    return out


def ends_with_continuation(line: str) -> bool:
    """True when the line ends with an unescaped backslash (trailing blanks ignored)."""
    stripped = line.rstrip()
    trailing = len(stripped) - len(stripped.rstrip("\\"))
    return trailing % 2 == 1


# ---------------------------------------------------------------------------------------------
# Shell: a small, tolerant tokenizer (quotes, substitutions, operators, redirections, comments).
# ---------------------------------------------------------------------------------------------


def extract_substitutions(line: str, backticks: bool) -> tuple[str, list[str]]:
    """Replaces `$(...)` (and, in shell blocks, backtick) substitutions with a placeholder word;
    returns their texts."""
    out: list[str] = []
    inner: list[str] = []
    i = 0
    quote = None
    while i < len(line):
        c = line[i]
        if quote == "'":
            out.append(c)
            if c == "'":
                quote = None
            i += 1
            continue
        if c == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if c == "'" and quote is None:
            quote = "'"
            out.append(c)
            i += 1
            continue
        if c == '"':
            quote = None if quote == '"' else '"'
            out.append(c)
            i += 1
            continue
        if line.startswith("$((", i):  # arithmetic, not a command
            end = matching_paren(line, i + 1)
            out.append("0")
            i = end + 1
            continue
        if line.startswith("$(", i):
            end = matching_paren(line, i + 1)
            inner.append(line[i + 2 : end])
            out.append(SUBST)
            i = end + 1
            continue
        if c == "`" and backticks:
            end = line.find("`", i + 1)
            end = len(line) if end < 0 else end
            inner.append(line[i + 1 : end])
            out.append(SUBST)
            i = end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), inner


def matching_paren(line: str, open_index: int) -> int:
    """Index of the `)` closing the `(` at open_index (quotes respected), or the line's end."""
    depth = 0
    quote = None
    i = open_index
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(line)


def simple_commands(line: str, backticks: bool = True) -> list[list[str]]:
    """The words of every simple command in a line (substitutions recursively included)."""
    line = ANGLE_PLACEHOLDER.sub(PLACEHOLDER, line)
    line, substitutions = extract_substitutions(line, backticks)
    commands: list[list[str]] = []
    for text in substitutions:
        commands.extend(simple_commands(text, backticks))
    words: list[str] = []
    word: list[str] = []
    has_word = False
    brackets = 0  # depth of usage-syntax `[...]` groups, where `|` separates alternatives
    i = 0
    n = len(line)

    def flush() -> None:
        nonlocal word, has_word
        if has_word:
            words.append("".join(word))
        word = []
        has_word = False

    def end_command() -> None:
        nonlocal words
        flush()
        if words:
            commands.append(words)
        words = []

    while i < n:
        c = line[i]
        if c in " \t":
            flush()
            i += 1
        elif c == "#" and not has_word:
            break  # a comment
        elif c == "\\" and i + 1 < n:
            word.append(line[i + 1])
            has_word = True
            i += 2
        elif c == "'":
            end = line.find("'", i + 1)
            end = n if end < 0 else end
            word.append(line[i + 1 : end])
            has_word = True
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n:
                    word.append(line[j + 1])
                    j += 2
                    continue
                word.append(line[j])
                j += 1
            has_word = True
            i = j + 1
        elif c == "[" and not has_word:
            brackets += 1
            word.append(c)
            has_word = True
            i += 1
        elif c == "]" and brackets:
            brackets -= 1
            word.append(c)
            has_word = True
            i += 1
        elif c == "|" and brackets:
            flush()  # `human|json` inside `[...]`: alternatives of one value
            i += 1
        elif c in "|&;()":
            end_command()
            i += 2 if line[i : i + 2] in ("||", "&&", "|&", ";;") else 1
        elif c in "<>":
            # A redirection: an fd number before it and its target after it are not words.
            if has_word and "".join(word).isdigit():
                word = []
                has_word = False
            flush()
            j = i
            while j < n and line[j] in "<>&|-":
                j += 1
            if line[j - 1] == "&" and j < n and line[j].isdigit():
                while j < n and line[j].isdigit():
                    j += 1
                i = j
                continue
            while j < n and line[j] in " \t":
                j += 1
            # Skip the target word.
            quote = None
            while j < n:
                ch = line[j]
                if quote:
                    if ch == quote:
                        quote = None
                elif ch in "'\"":
                    quote = ch
                elif ch in " \t|&;()<>":
                    break
                j += 1
            i = j
        else:
            word.append(c)
            has_word = True
            i += 1
    end_command()
    return commands


# ---------------------------------------------------------------------------------------------
# Finding invocations of the two programs.
# ---------------------------------------------------------------------------------------------


def program_of(word: str) -> str | None:
    base = word.rstrip("/").rsplit("/", 1)[-1]
    return base if base in ("airlock", "airlockc") else None


def skip_prefix(words: list[str]) -> list[str]:
    """Drops env assignments, shell keywords and wrappers before the command word."""
    i = 0
    while i < len(words):
        w = words[i]
        if ASSIGNMENT.match(w) or w in SHELL_KEYWORDS:
            i += 1
            continue
        if w == "env":
            i += 1
            while i < len(words) and (words[i].startswith("-") or ASSIGNMENT.match(words[i])):
                i += 1
            continue
        if w == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
            i += 1  # the duration
            continue
        if w in WRAPPERS:
            with_value = WRAPPER_OPTIONS_WITH_VALUE.get(w, set())
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in with_value else 1
            continue
        break
    return words[i:]


def invocation_of(words: list[str]) -> tuple[str, list[str]] | None:
    """(program, arguments) when this simple command runs airlock or airlockc."""
    words = skip_prefix(words)
    if not words:
        return None
    program = program_of(words[0])
    if program:
        return program, words[1:]
    # `cargo run -p airlockc -- build ...` / `cargo run --bin airlock -- serve ...`
    if words[0] == "cargo" and len(words) > 1 and words[1] == "run":
        if "--example" in words or "--" not in words:
            return None
        head = words[: words.index("--")]
        for flag in ("-p", "--package", "--bin"):
            for k, w in enumerate(head):
                value = None
                if w == flag and k + 1 < len(head):
                    value = head[k + 1]
                elif w.startswith(flag + "="):
                    value = w.split("=", 1)[1]
                if value in ("airlock", "airlockc"):
                    return value, words[words.index("--") + 1 :]
        return None
    # `kubectl exec POD -c airlock -- airlock doctor ...` and other `... -- CMD ARGS` forms.
    if "--" in words[1:]:
        rest = words[words.index("--", 1) + 1 :]
        return invocation_of(rest)
    return None


def find_invocations(path: Path, inline: bool) -> list[Invocation]:
    found: list[Invocation] = []
    text = path.read_text(encoding="utf-8")
    for line_number, line, shell in code_lines(text, inline):
        logical = re.sub(r"^\s*\$\s+", "", line)  # a `$ ` prompt
        for words in simple_commands(logical, backticks=shell):
            hit = invocation_of(words)
            if hit:
                program, args = hit
                found.append(Invocation(path, line_number, program, args, logical.strip()))
    return found


# ---------------------------------------------------------------------------------------------
# Checking against the binaries.
# ---------------------------------------------------------------------------------------------


class Binaries:
    def __init__(self, airlock: str, airlockc: str) -> None:
        self.paths = {"airlock": airlock, "airlockc": airlockc}
        self.cache: dict[tuple[str, tuple[str, ...]], Help] = {}

    def help(self, program: str, path: tuple[str, ...]) -> Help:
        key = (program, path)
        if key not in self.cache:
            try:
                run = subprocess.run(
                    [self.paths[program], *path, "--help"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    env={**os.environ, "NO_COLOR": "1"},
                )
                text = run.stdout + run.stderr
                self.cache[key] = Help(run.returncode == 0, text, parse_commands(text))
            except (OSError, subprocess.TimeoutExpired) as error:
                self.cache[key] = Help(False, str(error))
        return self.cache[key]


def parse_commands(help_text: str) -> set[str]:
    """The subcommand names of a clap help's `Commands:` section."""
    names: set[str] = set()
    in_section = False
    for line in help_text.splitlines():
        if re.match(r"^(Commands|Subcommands):\s*$", line):
            in_section = True
            continue
        if in_section:
            if not line.strip():
                break
            if not line.startswith(" "):
                break
            match = re.match(r"^\s{1,4}([A-Za-z0-9][A-Za-z0-9_-]*)(,|\s|$)", line)
            if match:
                names.add(match.group(1))
    return names


def is_placeholder(word: str) -> bool:
    return (
        PLACEHOLDER in word
        or SUBST in word
        or word.startswith("$")
        or word in ("...", "…")
        or bool(UPPER_PLACEHOLDER.match(word.strip("[]")))
        or (word.startswith("[") and word.endswith("]") and not word.startswith("[-"))
    )


def check(inv: Invocation, binaries: Binaries, root: Path) -> list[str]:
    problems: list[str] = []
    where = f"{display(inv.path, root)}:{inv.line}"
    subpath: list[str] = []
    args = inv.args
    k = 0
    # The subcommand path: leading words the parent's help lists under `Commands:`.
    while k < len(args):
        word = args[k]
        if word == "--" or word.startswith("-") or word.startswith("[-"):
            break
        parent = binaries.help(inv.program, tuple(subpath))
        if not parent.ok or not parent.commands:
            break  # a positional argument
        if is_placeholder(word):
            break
        if word not in parent.commands:
            problems.append(
                f"{where}: `{inv.program} {' '.join(subpath + [word])}`: no such subcommand"
                f" (`{inv.program}{''.join(' ' + s for s in subpath)}` has: {', '.join(sorted(parent.commands))})"
            )
            return problems
        subpath.append(word)
        k += 1
    help_ = binaries.help(inv.program, tuple(subpath))
    shown = " ".join([inv.program, *subpath])
    if not help_.ok:
        problems.append(f"{where}: `{shown} --help` fails: {first_line(help_.text)}")
        return problems
    seen: set[str] = set()
    for word in args[k:]:
        if word == "--":
            break
        flag = word.lstrip("[").rstrip("]").rstrip(",")
        if "=" in flag and flag.startswith("-"):
            flag = flag.split("=", 1)[0]
        if not (LONG_FLAG.match(flag) or SHORT_FLAG.match(flag)) or flag in seen:
            continue
        seen.add(flag)
        if not re.search(r"(?<![A-Za-z0-9-])" + re.escape(flag) + r"(?![A-Za-z0-9-])", help_.text):
            problems.append(f"{where}: `{shown}` has no option `{flag}` (see `{shown} --help`)")
    return problems


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no output)"


def display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def default_files(root: Path) -> list[Path]:
    files = [root / "README.md"] if (root / "README.md").exists() else []
    files += sorted((root / "docs").rglob("*.md"))
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("airlock", help="path of the airlock binary (e.g. target/debug/airlock)")
    parser.add_argument("airlockc", help="path of the airlockc binary (e.g. target/debug/airlockc)")
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md, docs/**/*.md)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--inline", action="store_true", help="also check inline code spans")
    parser.add_argument("--verbose", action="store_true", help="print every command checked")
    options = parser.parse_args(argv)

    binaries = Binaries(options.airlock, options.airlockc)
    for program in ("airlock", "airlockc"):
        if not binaries.help(program, ()).ok:
            print(
                f"check_commands: `{binaries.paths[program]} --help` does not run: "
                f"{first_line(binaries.help(program, ()).text)}",
                file=sys.stderr,
            )
            return 2

    files = options.files or default_files(options.root)
    problems: list[str] = []
    checked = 0
    for path in files:
        if not path.exists():
            problems.append(f"{display(path, options.root)}:0: file not found")
            continue
        for inv in find_invocations(path, options.inline):
            checked += 1
            found = check(inv, binaries, options.root)
            problems.extend(found)
            if options.verbose:
                status = "FAIL" if found else "ok"
                shown = " ".join(inv.args).replace(PLACEHOLDER, "<...>").replace(SUBST, "$(...)")
                print(f"{status:4}  {display(inv.path, options.root)}:{inv.line}: {inv.program} {shown}")
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"check_commands: {len(problems)} problem(s) in {checked} airlock/airlockc command(s)"
            f" from {len(files)} file(s)",
            file=sys.stderr,
        )
        return 1
    print(f"check_commands: OK, {checked} airlock/airlockc commands checked in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
