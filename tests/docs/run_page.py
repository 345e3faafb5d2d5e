#!/usr/bin/env python3
"""Runs the shell blocks of one documentation page, in order, the way a reader
would paste them, and checks the output the page shows.

    run_page.py PAGE.md [--root DIR] [--timeout SECONDS]

Every fenced block tagged `sh` (or `bash`, `console`) runs in ONE bash
process per page, from the repository root, with `set -euo pipefail`, so
variables set by one block are there for the next. A command that fails
fails the page, naming the block and its line.

Directives, in HTML comments (invisible where the page is rendered), apply to
the next fenced block:

    <!-- doc-test: background wait-for=URL -->   run it in the background
        (like "in another terminal"); wait until URL answers 200 (60 s at
        most); it is killed when the page ends.
    <!-- doc-test: skip REASON -->               do not run it; the page says
        why in prose next to it.
    <!-- doc-test: output -->                    this block (any tag) is what
        the previous shell block printed: every line must match, in order.
        A line `...` matches any number of lines; `…` inside a line matches
        any text; trailing spaces are ignored.

And on their own, run where they stand but not shown to readers:

    <!-- doc-test: setup
    commands
    -->
    <!-- doc-test: teardown
    commands
    -->

Bounded: each page has a total timeout (default 300 s).
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
DIRECTIVE = re.compile(r"^<!--\s*doc-test:\s*(\w+)\s*(.*?)\s*(-->)?\s*$")
SHELL_TAGS = {"sh", "bash", "shell"}


class Block:
    def __init__(self, kind, text, line, options=""):
        self.kind = kind          # run, background, skip, output, setup, teardown
        self.text = text
        self.line = line
        self.options = options


def parse(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, pending, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        d = DIRECTIVE.match(line)
        if d:
            name, rest, closed = d.group(1), d.group(2), d.group(3)
            if name in ("setup", "teardown") and not closed:
                body, i = [], i + 1
                while i < len(lines) and lines[i].strip() != "-->":
                    body.append(lines[i])
                    i += 1
                blocks.append(Block(name, "\n".join(body), i + 1))
            elif name in ("background", "skip", "output"):
                pending = (name, rest)
            else:
                sys.exit(f"{path}:{i + 1}: unknown doc-test directive {name!r}")
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            fence, tag, start = f.group(1), f.group(2).lower(), i + 1
            body, i = [], i + 1
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            text = "\n".join(body)
            if pending and pending[0] == "output":
                blocks.append(Block("output", text, start + 1))
            elif pending and pending[0] == "skip":
                pass
            elif tag in SHELL_TAGS:
                kind = "background" if pending and pending[0] == "background" else "run"
                blocks.append(Block(kind, text, start + 1, pending[1] if pending else ""))
            pending = None
        i += 1
    return blocks


def script(blocks, workdir):
    """One bash script; markers on stdout split what each block printed."""
    out = ["set -euo pipefail", f"cd {quote(workdir)}", "__doc_pids=()", "__doc_teardown() {",
           "  set +e"]
    for b in blocks:
        if b.kind == "teardown":
            out.append(f"  {{ {b.text}\n  }} >/dev/null 2>&1")
    out += ['  for p in "${__doc_pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done',
            '  for p in "${__doc_pids[@]}"; do wait "$p" 2>/dev/null; done',
            "  return 0", "}", "trap __doc_teardown EXIT"]
    for n, b in enumerate(blocks):
        if b.kind in ("output", "teardown"):
            continue
        out.append(f"echo '@@doc-block {n}@@'; echo '@@doc-block {n}@@' >&2")
        if b.kind == "background":
            # Its own session, so the teardown stops everything it started.
            log = os.path.join(tempfile.gettempdir(), f"doc-background-{os.getpid()}-{n}.log")
            out.append(f"setsid bash -c {quote(b.text)} > {quote(log)} 2>&1 &")
            out.append("__doc_pids+=($!)")
            url = re.search(r"wait-for=(\S+)", b.options)
            if url:
                u = quote(url.group(1))
                out.append(
                    f"for __i in $(seq 600); do curl -fsS -o /dev/null {u} 2>/dev/null && break;"
                    f" kill -0 $! 2>/dev/null || {{ cat {quote(log)} >&2; exit 1; }}; sleep 0.1; done;"
                    f" curl -fsS -o /dev/null {u}")
        else:
            out.append(b.text)
    out.append("echo '@@doc-block end@@'")
    return "\n".join(out) + "\n"


def quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def split_output(text):
    parts, current = {}, None
    for line in text.split("\n"):
        m = re.fullmatch(r"@@doc-block (\d+|end)@@", line)
        if m:
            current = m.group(1)
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
    return parts


def line_matches(pattern, line):
    pieces = [re.escape(p) for p in pattern.rstrip().split("…")]
    return re.fullmatch(".*".join(pieces), line.rstrip()) is not None


def lines_match(expected, actual):
    """`...` lines match any run of lines; the rest match one line each."""
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(lines_match(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and line_matches(expected[0], actual[0]) and \
        lines_match(expected[1:], actual[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    blocks = parse(args.page)
    runnable = [b for b in blocks if b.kind in ("run", "background")]
    if not runnable:
        sys.exit(f"{args.page}: no shell block to run")
    proc = subprocess.Popen(["bash", "-c", script(blocks, args.root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        print(f"FAIL {args.page}: timed out after {args.timeout} s", file=sys.stderr)
        print(err[-4000:], file=sys.stderr)
        return 1
    try:  # anything a block left running
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    stdout, stderr = split_output(out), split_output(err)
    failed = False
    if "end" not in stdout:
        last = max((int(k) for k in stdout if k != "end"), default=None)
        where = f"line {blocks[last].line}" if last is not None else "the start"
        print(f"FAIL {args.page}: the block at {where} failed (exit {proc.returncode})",
              file=sys.stderr)
        if last is not None:
            print("--- its output ---\n" + "\n".join(stdout.get(str(last), [])[-40:]),
                  file=sys.stderr)
            print("--- its errors ---\n" + "\n".join(stderr.get(str(last), [])[-40:]),
                  file=sys.stderr)
        return 1
    for n, b in enumerate(blocks):
        if b.kind != "output":
            continue
        source = next((k for k in range(n - 1, -1, -1) if blocks[k].kind == "run"), None)
        actual = [l for l in stdout.get(str(source), [])]
        while actual and not actual[-1].strip():
            actual.pop()
        expected = b.text.split("\n")
        if not lines_match(expected, actual):
            failed = True
            print(f"FAIL {args.page}:{b.line}: the output shown no longer matches\n"
                  f"--- shown ---\n{b.text}\n--- printed ---\n" + "\n".join(actual),
                  file=sys.stderr)
    if not failed:
        print(f"ok {args.page}: {len(runnable)} blocks run, "
              f"{sum(b.kind == 'output' for b in blocks)} outputs checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
