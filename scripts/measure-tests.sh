#!/usr/bin/env bash
# How long `cargo test` takes on this machine, and how many snippets it runs.
#
#   scripts/measure-tests.sh           warm full run, and the re-run after one chapter is edited
#   scripts/measure-tests.sh --cold    also a cold run, from an empty target directory (slow: it
#                                      compiles every dependency; the usual target/ is left alone)
#
# Prints one line per figure. The chapter edit is undone before the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

CHAPTER="${MEASURE_CHAPTER:-src/introduction.md}"
cores=$(nproc 2>/dev/null || echo "?")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "machine: $cores cores, ${cpu:-unknown CPU}; $(rustc --version)"

# Seconds taken by a command (its output goes to a log, kept for the snippet count).
timed() {
    local log=$1; shift
    local start end
    start=$(date +%s.%N)
    if ! "$@" >"$log" 2>&1; then
        echo "FAILED: $* (see $log)" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}

snippets_run() {
    # The line after "Running tests/snippets.rs" ... "test result: ok. N passed"
    awk '/Running tests\/snippets.rs/ {s=1} s && /test result:/ {print $4; exit}' "$1"
}

logs=$(mktemp -d)
if [ "${1:-}" = "--cold" ]; then
    cold_target=$(mktemp -d)
    t=$(CARGO_TARGET_DIR="$cold_target" timed "$logs/cold.log" cargo test)
    echo "cold cargo test (empty target dir, dependencies compiled): ${t} s"
    rm -rf "$cold_target"
fi

# Make sure everything is built and every snippet's binary is cached, then time a warm run.
timed "$logs/prime.log" cargo test >/dev/null
t=$(timed "$logs/warm.log" cargo test)
echo "warm cargo test (nothing changed): ${t} s, $(snippets_run "$logs/warm.log") snippets run"

# Edit one chapter: change the text of one of its snippets, as a writer would.
cp "$CHAPTER" "$logs/chapter.bak"
trap 'cp "$logs/chapter.bak" "$CHAPTER"' EXIT
# A comment line added at the end of the first rust block changes that snippet's program.
awk 'BEGIN{done=0} /^```rust/ && !done {inrust=1} inrust && /^```$/ && !done {print "// edited " systime(); inrust=0; done=1} {print}' "$logs/chapter.bak" > "$CHAPTER"
t=$(timed "$logs/edit.log" cargo test)
echo "cargo test after editing one snippet of $CHAPTER: ${t} s"
chapter_filter=$(basename "$CHAPTER" .md | tr '-' '_')
awk 'BEGIN{done=0} /^```rust/ && !done {inrust=1} inrust && /^```$/ && !done {print "// edited again " systime(); inrust=0; done=1} {print}' "$logs/chapter.bak" > "$CHAPTER"
t=$(timed "$logs/one.log" cargo test --test snippets "$chapter_filter")
echo "cargo test --test snippets $chapter_filter after another edit (that chapter's snippets only): ${t} s"
