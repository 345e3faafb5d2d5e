#!/usr/bin/env python3
"""Checks that every relative link in README.md and docs/**/*.md names a file
that exists (and, for #anchors into markdown, a heading that does).

    check_links.py ROOT
"""
import os
import re
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to -."""
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^#+\s+(.*)", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(text.replace(" ", "-"))
    return out


def main():
    root = sys.argv[1]
    pages = [os.path.join(root, "README.md")]
    for dirpath, _, files in os.walk(os.path.join(root, "docs")):
        pages += [os.path.join(dirpath, f) for f in files if f.endswith(".md")]
    bad = []
    for page in pages:
        in_fence = False
        for n, line in enumerate(open(page, encoding="utf-8"), 1):
            if line.startswith("```"):
                in_fence = not in_fence
            if in_fence:
                continue
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target) or target.startswith("#") and False:
                    continue
                path, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                if not os.path.exists(full):
                    bad.append(f"{page}:{n}: {target}: no such file")
                elif anchor and full.endswith(".md") and anchor not in anchors(full):
                    bad.append(f"{page}:{n}: {target}: no heading #{anchor}")
    for b in bad:
        print(b, file=sys.stderr)
    print(f"{len(pages)} pages, {len(bad)} broken links")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
