"""Every link inside the built book resolves: the page exists, and so does the anchor.

  book_links.py BOOK_DIR [--markdown FILE...]
      BOOK_DIR is mdBook's HTML output; --markdown adds Markdown files outside the book (the
      README) whose relative links must name files that exist. Prints each broken link as
      `PAGE: HREF (why)` and exits 1 if there is any.
Links out of the book (http:, https:, mailto:) are not followed: the checks run offline.
"""
import argparse
import html.parser
import os
import re
import sys
import urllib.parse

# mdBook's own pages: the printable copy repeats every link, and 404 points to the site root.
SKIPPED = {"print.html", "404.html", "toc.html"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if tag == "a" and name == "href" and value:
                self.hrefs.append(value)


def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    return page


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", help="the built book (mdBook's HTML output)")
    parser.add_argument("--markdown", nargs="*", default=[], help="Markdown files outside the book")
    args = parser.parse_args()
    root = os.path.abspath(args.book)
    pages, broken, checked = {}, [], 0
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".html") and name not in SKIPPED:
                pages[os.path.join(folder, name)] = None
    for path in sorted(pages):
        page = parse(path)
        pages[path] = page
    for path, page in sorted(pages.items()):
        shown = os.path.relpath(path, root)
        for href in page.hrefs:
            url = urllib.parse.urlsplit(href)
            if url.scheme or href.startswith("//") or href.startswith("javascript:"):
                continue
            checked += 1
            target = path if not url.path else os.path.normpath(
                os.path.join(os.path.dirname(path), urllib.parse.unquote(url.path)))
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            if not os.path.exists(target):
                broken.append(f"{shown}: {href} (no such page)")
                continue
            if url.fragment and target.endswith(".html"):
                seen = pages.get(target) or parse(target)
                if urllib.parse.unquote(url.fragment) not in seen.ids:
                    broken.append(f"{shown}: {href} (no such anchor)")
    for md in args.markdown:
        with open(md, encoding="utf-8") as f:
            text = f.read()
        for href in re.findall(r"\]\(([^)\s]+)\)", text):
            url = urllib.parse.urlsplit(href)
            if url.scheme or not url.path:
                continue
            checked += 1
            target = os.path.join(os.path.dirname(os.path.abspath(md)), url.path)
            if not os.path.exists(target):
                broken.append(f"{md}: {href} (no such file)")
    for line in broken:
        print(line)
    print(f"{checked} links in {len(pages)} pages, {len(broken)} broken")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
