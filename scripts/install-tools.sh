#!/usr/bin/env bash
# Install the book's toolchain: mdBook and its two preprocessors, at the versions pinned in
# Cargo.toml (the one place they are written), with `cargo install --locked`, and only when a tool
# is missing or at another version; and the book's own preprocessor, tools/mdbook-async-book, which
# draws the diagrams at build time (no node, no browser).
#
#   scripts/install-tools.sh                  install what is missing
#   scripts/install-tools.sh --print-versions print "tool version" lines and exit
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned version of a tool: its `name = { version = "=X.Y.Z" ... }` line in Cargo.toml.
pinned() {
    local v
    v=$(sed -n "s/^$1 = { *version = \"=\([0-9][0-9.]*\)\".*/\1/p" Cargo.toml | head -n 1)
    if [ -z "$v" ]; then
        echo "install-tools.sh: Cargo.toml pins no version of $1 (expected a line: $1 = { version = \"=X.Y.Z\", ... })" >&2
        exit 1
    fi
    echo "$v"
}

TOOLS=(mdbook mdbook-admonish mdbook-mermaid)

if [ "${1:-}" = "--print-versions" ]; then
    for tool in "${TOOLS[@]}"; do
        echo "$tool $(pinned "$tool")"
    done
    exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-tools.sh: cargo is not on PATH; install Rust from https://rustup.rs first" >&2
    exit 1
fi

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

for tool in "${TOOLS[@]}"; do
    want=$(pinned "$tool")
    have=""
    if command -v "$tool" >/dev/null 2>&1; then
        # "mdbook v0.4.52", "mdbook-admonish 1.20.0", "mdbook-mermaid 0.16.2"
        have=$("$tool" --version 2>/dev/null | sed -n 's/^[^ ]* v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1)
    fi
    if [ "$have" = "$want" ]; then
        echo "$tool $want: installed"
    else
        echo "$tool $want: installing (found: ${have:-none})"
        cargo install --locked --quiet "$tool" --version "=$want"
    fi
done

# The book's own preprocessor, from this repository: it draws the diagrams (merman, pinned in its
# Cargo.toml and locked in its own Cargo.lock) and writes the page footers. Needs Rust 1.95 or later.
# The first build takes several minutes (merman); after that cargo rebuilds it only when its sources
# changed: a second or less.
echo "mdbook-async-book: installing from tools/mdbook-async-book"
cargo install --locked --quiet --path tools/mdbook-async-book
