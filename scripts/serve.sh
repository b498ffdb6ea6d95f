#!/usr/bin/env bash
# Serve the book at http://localhost:3000, rebuilding it when a file changes.
# On first run, installs the pinned mdBook and preprocessors (a few minutes, once).
#   scripts/serve.sh            serve on localhost:3000
#   scripts/serve.sh --open     ... and open a browser
# Other arguments go to `mdbook serve` (e.g. --port 4000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
echo "Serving the book at http://localhost:3000 (Ctrl-C to stop)"
exec mdbook serve --hostname 127.0.0.1 --port 3000 "$@"
