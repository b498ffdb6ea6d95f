#!/usr/bin/env bash
# Package the built book as a zip to read offline: unpack it anywhere and open index.html in a
# browser (file://). Pages, diagrams, fonts and search all work from disk; only the Run buttons need
# the network (the Rust Playground).
#
#   scripts/package-offline.sh                         build with the pinned mdbook, write async-rust-book.zip
#   scripts/package-offline.sh OUT.zip                 ... to OUT.zip
#   scripts/package-offline.sh --site DIR [OUT.zip]    package a book built already in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SITE=""
if [ "${1:-}" = "--site" ]; then
    SITE=$2
    shift 2
fi
OUT=${1:-async-rust-book.zip}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "$SITE" ]; then
    scripts/install-tools.sh >/dev/null
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    mdbook build -d "$WORK/build" >/dev/null
    SITE="$WORK/build"
fi
[ -f "$SITE/index.html" ] && [ -f "$SITE/searchindex.js" ] || {
    echo "package-offline.sh: $SITE is not a built book (no index.html or searchindex.js)" >&2
    exit 1
}

NAME=async-rust-book
mkdir -p "$WORK/pkg"
cp -R "$SITE" "$WORK/pkg/$NAME"
# Served sites only: the 404 page links from the site's root, which a folder on disk does not have.
rm -f "$WORK/pkg/$NAME/404.html" "$WORK/pkg/$NAME/.nojekyll"
cat > "$WORK/pkg/$NAME/README.txt" <<'TXT'
Async Rust: From First Principles to Production - offline copy

Open index.html in your browser (double-click it, or file:///path/to/async-rust-book/index.html).
Everything works from disk: pages, diagrams, search (press S), themes, print (print.html).
Only the Run buttons need a network connection: they send the program to the Rust Playground.
Every program also runs locally with `cargo run`; see the book's introduction.
TXT

rm -f "$OUT"
(cd "$WORK/pkg" && python3 - "$OUT" "$NAME" <<'PY'
import os, sys, zipfile
out, name = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for folder, dirs, files in os.walk(name):
        dirs.sort()
        for f in sorted(files):
            z.write(os.path.join(folder, f))
PY
)
echo "wrote $OUT ($(du -h "$OUT" | cut -f1)): unpack it and open $NAME/index.html"
