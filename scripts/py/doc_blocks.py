"""The command blocks of a book page that a test runs, in page order.

  doc_blocks.py PAGE OUT_DIR
A fenced block right after `<!-- test-bed: run -->` is a shell step; one right after
`<!-- test-bed: file -->` is a file the page tells the reader to write, its first line
`# NAME` naming it. Writes OUT_DIR/NN-run.sh or OUT_DIR/NN-file-NAME for each, and prints
one line per block: `NN run|file FIRST-LINE`. Exits 1 when a page has no marked block.
"""
import argparse
import os
import re
import sys

MARK = re.compile(r"^<!-- test-bed: (run|file) -->\s*$")


def blocks(lines):
    pending = None
    fence = None
    body = []
    for line in lines:
        if fence is None:
            m = MARK.match(line)
            if m:
                pending = m.group(1)
            elif line.startswith("```"):
                fence, body = pending, []
                pending = None
                if fence is None:
                    fence = ""  # an unmarked block: skipped whole
            elif line.strip():
                pending = None
        elif line.startswith("```"):
            if fence:
                yield fence, body
            fence = None
        else:
            body.append(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page")
    parser.add_argument("out")
    args = parser.parse_args()
    with open(args.page, encoding="utf-8") as f:
        lines = f.read().splitlines()
    os.makedirs(args.out, exist_ok=True)
    n = 0
    for n, (kind, body) in enumerate(blocks(lines), start=1):
        if kind == "file":
            name = body[0].lstrip("# ").strip() if body and body[0].startswith("#") else ""
            if not name or "/" in name:
                sys.exit(f"{args.page}: block {n}: a file block's first line must be `# NAME`")
            path = os.path.join(args.out, f"{n:02d}-file-{name}")
        else:
            path = os.path.join(args.out, f"{n:02d}-run.sh")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(body) + "\n")
        print(f"{n:02d} {kind} {body[0] if body else ''}")
    if n == 0:
        sys.exit(f"{args.page}: no block marked for the test bed")


if __name__ == "__main__":
    main()
