#!/usr/bin/env python3
# doc_examples.py -- pulls the runnable examples out of the Markdown docs for
# tests/integration/test_docs_examples.sh ("every doc example runs as
# written"; docs/development.md says how they are tested).
#
#   doc_examples.py OUTDIR FILE.md ...
#
# A fenced block is an example when its info string (the word after the
# opening ```) is one of
#   sh, bash, shell   shell commands: run with bash
#   ini               a configuration file: must pass `flowlake config check`
#   sql               SQL: a query script for `flowlake query -f`, or
#                     CREATE METRIC statements for metrics.file
# Blocks with another or no info string (```json payloads, ```c, untagged
# blocks showing output, a usage synopsis or a folder layout) are not
# examples and are not looked at.
#
# An example that cannot run in a test is marked in the Markdown by an HTML
# comment on the last non-blank line before its opening fence:
#   <!-- example: not run (REASON) -->
# REASON is required. Any other "<!-- example..." comment (at the start of
# a line), or a marker
# that is not followed by an example block, is an error (exit 1), so a
# typo never skips a block silently.
#
# Output: for the Nth example (counted from 1 over all files, in order),
# OUTDIR/N.LANG holds the block's text exactly as written (LANG being sh,
# ini or sql), and OUTDIR/index.tsv gets one line:
#   N <TAB> LANG <TAB> FILE:LINE <TAB> run|skip <TAB> REASON (empty for run)
# where LINE is the line of the opening fence.
import os
import re
import sys

LANGS = {"sh": "sh", "bash": "sh", "shell": "sh", "ini": "ini", "sql": "sql"}
MARKER = re.compile(r"^<!-- example: not run \((.+)\) -->$")
# Indented four spaces or more, a line is an indented code block (showing
# a marker, say), not a marker.
ANY_MARKER = re.compile(r"^ {0,3}<!--\s*example")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`]*)")


def blocks(path):
    """Yields (line, info, text, marker_reason_or_None) for each fenced
    block of the file; raises ValueError on a malformed or stray marker."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    pending = None          # (line number, reason) of a marker not yet used
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            indent, fence, info = m.group(1), m.group(2), m.group(3).lower()
            start = i + 1                       # 1-based line of the fence
            body = []
            i += 1
            # The block ends at a fence of the same kind, at least as long.
            while i < len(lines) and not (
                    lines[i].strip().startswith(fence[0] * len(fence))
                    and lines[i].strip().strip(fence[0]) == ""):
                # Fences indented in a list item: drop that indentation.
                body.append(lines[i][len(indent):]
                            if lines[i].startswith(indent) else lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"{path}:{start}: block never closed")
            reason = None
            if pending is not None:
                if info not in LANGS:
                    raise ValueError(f"{path}:{pending[0]}: example marker "
                                     f"before a ```{info} block, which is "
                                     "not an example anyway")
                reason = pending[1]
                pending = None
            yield start, info, "\n".join(body) + "\n", reason
        elif ANY_MARKER.match(line):
            mm = MARKER.match(line.strip())
            if not mm:
                raise ValueError(f"{path}:{i + 1}: malformed example marker "
                                 "(want '<!-- example: not run (REASON) -->')")
            pending = (i + 1, mm.group(1))
        elif line.strip() != "" and pending is not None:
            raise ValueError(f"{path}:{pending[0]}: example marker not "
                             "right before a block")
        i += 1
    if pending is not None:
        raise ValueError(f"{path}:{pending[0]}: example marker at the end "
                         "of the file")


def main():
    if len(sys.argv) < 3:
        print("usage: doc_examples.py OUTDIR FILE.md ...", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    rows = []
    try:
        for path in sys.argv[2:]:
            for line, info, text, reason in blocks(path):
                if info not in LANGS:
                    continue
                n += 1
                lang = LANGS[info]
                with open(os.path.join(out, f"{n}.{lang}"), "w",
                          encoding="utf-8") as f:
                    f.write(text)
                rows.append(f"{n}\t{lang}\t{path}:{line}\t"
                            f"{'skip' if reason else 'run'}\t{reason or ''}\n")
    except ValueError as e:
        print(f"doc_examples.py: {e}", file=sys.stderr)
        return 1
    with open(os.path.join(out, "index.tsv"), "w", encoding="utf-8") as f:
        f.writelines(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
