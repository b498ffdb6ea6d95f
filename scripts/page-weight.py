#!/usr/bin/env python3
"""Page weight: the bytes a first visit of each page transfers (HTML, scripts, styles, fonts),
measured in headless Chromium, for the book as we build it and for the same book built with plain
mdBook (no preprocessors, no theme additions, default settings), page by page. A page without a
diagram may weigh at most 110% of its plain twin (--max-ratio), a page with diagrams at most 130%
(--max-ratio-diagrams: its diagrams are SVGs in the page, drawn when the book was built), and no
page may load a diagram script. print.html, the whole book on one page with every diagram, is
measured and shown but has no limit (--limit-print gives it the limit of a page with diagrams).

    scripts/page-weight.py                         build both books with the pinned `mdbook`, measure
    scripts/page-weight.py --site DIR --plain DIR  measure two books built already
    scripts/page-weight.py --pages 404.html,introduction.html

Needs node, tests/browser/node_modules (`npm ci --prefix tests/browser`) and Chromium
(/usr/bin/chromium, or $CHROMIUM). Exits 1 when a page is over its limit or loads mermaid.
"""
import argparse
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = pathlib.Path(__file__).resolve().parent.parent


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        # Like any static host configured for mdBook: unknown paths get the book's 404 page.
        page = pathlib.Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        else:
            super().send_error(code, message, explain)


def serve(directory):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def mdbook():
    found = shutil.which("mdbook") or str(pathlib.Path.home() / ".cargo/bin/mdbook")
    if not os.path.exists(found):
        sys.exit("page-weight: no `mdbook` (run scripts/install-tools.sh), or pass --site and --plain")
    return found


def build_ours(dest):
    subprocess.run([mdbook(), "build", "-d", str(dest)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def build_plain(dest):
    """The same markdown, built by mdBook alone: its default theme and settings, no plugins."""
    with tempfile.TemporaryDirectory() as tmp:
        title = "Async Rust: From First Principles to Production"
        (pathlib.Path(tmp) / "book.toml").write_text(
            f'[book]\ntitle = "{title}"\nsrc = "{ROOT / "src"}"\n[build]\ncreate-missing = false\n')
        subprocess.run([mdbook(), "build", "-d", str(dest)], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(site, pages):
    server, url = serve(site)
    try:
        out = subprocess.run(
            ["node", str(ROOT / "tests/browser/page-weight.mjs"), url, *pages],
            cwd=ROOT / "tests/browser", check=True, capture_output=True, text=True, timeout=900)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.shutdown()


def kb(n):
    return f"{n / 1024:8.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", help="our built book (default: build it with mdbook)")
    ap.add_argument("--plain", help="the book built with plain mdBook (default: build it)")
    ap.add_argument("--pages", help="comma-separated pages (default: every page but toc.html)")
    ap.add_argument("--max-ratio", type=float, default=1.10, help="for a page without a diagram")
    ap.add_argument("--max-ratio-diagrams", type=float, default=1.30, help="for a page with diagrams")
    ap.add_argument("--limit-print", action="store_true", help="hold print.html to the limits too")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        site = pathlib.Path(args.site) if args.site else pathlib.Path(tmp) / "ours"
        plain = pathlib.Path(args.plain) if args.plain else pathlib.Path(tmp) / "plain"
        if not args.site:
            build_ours(site)
        if not args.plain:
            build_plain(plain)
        if args.pages:
            pages = [p.strip() for p in args.pages.split(",") if p.strip()]
        else:
            pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                           if p.name != "toc.html" and "FontAwesome" not in p.parts)
        ours = measure(site, pages)
        base = measure(plain, [p for p in pages if (plain / p).is_file()])

    print(f"{'page':48} {'html':>8} {'scripts':>8} {'styles':>8} {'fonts':>8} {'total kB':>9} "
          f"{'plain kB':>9} {'ratio':>6}  diagram")
    failures = []
    figures = {}
    for page in pages:
        o = ours[page]
        p = base.get(page)
        ratio = o["total"] / p["total"] if p and p["total"] else None
        figures[page] = {"ours": o["total"], "plain": p["total"] if p else None, "ratio": ratio,
                         "diagram": o["diagram"], "html": o["html"], "scripts": o["scripts"],
                         "styles": o["styles"], "fonts": o["fonts"]}
        print(f"{page:48} {kb(o['html'])} {kb(o['scripts'])} {kb(o['styles'])} {kb(o['fonts'])} "
              f"{kb(o['total'])} {kb(p['total']) if p else '       -'} "
              f"{(f'{ratio * 100:5.0f}%') if ratio else '     -'}  {'yes' if o['diagram'] else 'no'}")
        limit = args.max_ratio_diagrams if o["diagram"] else args.max_ratio
        if ratio is not None and ratio > limit and (page != "print.html" or args.limit_print):
            failures.append(f"{page}: {o['total']} bytes, {ratio * 100:.0f}% of plain mdBook's "
                            f"{p['total']} (limit {limit * 100:.0f}%)")
        if o.get("scripted"):
            failures.append(f"{page}: loads {', '.join(o['scripted'])}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=1))
    if failures:
        print("\nover the limit:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    measured = [f for page, f in figures.items() if f["ratio"] and page != "print.html"]
    if measured:
        worst = max(measured, key=lambda f: f["ratio"])
        total_ours = sum(f["ours"] for f in measured)
        total_plain = sum(f["plain"] for f in measured)
        print(f"\n{len(measured)} pages (print.html aside): {total_ours / 1024:.0f} kB against plain mdBook's "
              f"{total_plain / 1024:.0f} kB ({total_ours / total_plain * 100:.0f}%); the heaviest "
              f"{worst['ratio'] * 100:.0f}%")
    if "print.html" in figures and figures["print.html"]["ratio"]:
        print(f"print.html (the whole book, no limit): {figures['print.html']['ratio'] * 100:.0f}% of plain mdBook's")
    print(f"every page without a diagram is within {args.max_ratio * 100:.0f}% of plain mdBook, every page "
          f"with diagrams within {args.max_ratio_diagrams * 100:.0f}%, and none loads a diagram script")


if __name__ == "__main__":
    main()
