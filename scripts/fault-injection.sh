#!/usr/bin/env bash
# Prove that the tests catch what they claim to catch: inject each fault alone into a scratch chapter,
# run the test that should catch it, and check that it fails, names the file and line, and does not
# hang. Prints one line per fault and exits non-zero if any fault slipped through.
#
#   scripts/fault-injection.sh
#
# The scratch chapter and the SUMMARY.md entry are removed when the script ends.
set -uo pipefail
cd "$(dirname "$0")/.."

SCRATCH=src/zz-fault-injection.md
cp src/SUMMARY.md /tmp/SUMMARY.md.fault-backup
cp src/reference/glossary.md /tmp/glossary.md.fault-backup
cleanup() {
    cp /tmp/SUMMARY.md.fault-backup src/SUMMARY.md
    cp /tmp/glossary.md.fault-backup src/reference/glossary.md
    rm -f "$SCRATCH"
}
trap cleanup EXIT
export RUST_BACKTRACE=0

listed() { cp /tmp/SUMMARY.md.fault-backup src/SUMMARY.md; printf '\n- [Fault injection](zz-fault-injection.md)\n' >> src/SUMMARY.md; }
unlisted() { cp /tmp/SUMMARY.md.fault-backup src/SUMMARY.md; }

failures=0
# expect NAME TEST_ARGS EXPECTED_TEXT: run `cargo test TEST_ARGS`, which must fail within 90 s
# (including compiling the changed test) with EXPECTED_TEXT in its output.
expect() {
    local name=$1 args=$2 want=$3 log start end secs status
    log=$(mktemp)
    start=$(date +%s)
    # shellcheck disable=SC2086
    timeout 300 cargo test $args >"$log" 2>&1
    status=$?
    end=$(date +%s)
    secs=$((end - start))
    if [ "$status" -eq 0 ]; then
        echo "MISSED  $name: cargo test $args passed"
        failures=$((failures + 1))
    elif [ "$status" -eq 124 ]; then
        echo "HUNG    $name: cargo test $args still running after 300 s"
        failures=$((failures + 1))
    elif ! grep -qF -- "$want" "$log"; then
        echo "VAGUE   $name: failed, but without \`$want\` in its output (see $log)"
        failures=$((failures + 1))
    else
        echo "caught  $name in ${secs} s: $(grep -F -m 1 -- "$want" "$log" | sed 's/^ *//' | cut -c1-150)"
        rm -f "$log"
    fi
}

chapter() { printf '%s\n' "# Fault injection" "" "$@" > "$SCRATCH"; }

listed
chapter '```rust' 'fn main() {' '    let x = ;' '}' '```'
expect "a snippet with a syntax error" "--test snippets zz_fault" "src/zz-fault-injection.md:3: this snippet does not compile"

chapter '```rust' 'fn main() {' '    assert_eq!(1 + 1, 3, "arithmetic");' '}' '```'
expect "a snippet whose assertion fails" "--test snippets zz_fault" "src/zz-fault-injection.md:3: this snippet compiled, then failed when run"

chapter '```rust' 'fn main() {' '    loop {' '        std::thread::sleep(std::time::Duration::from_millis(10));' '    }' '}' '```'
SNIPPET_TIMEOUT_SECS=${SNIPPET_TIMEOUT_SECS:-30} expect "a snippet that never ends" "--test snippets zz_fault" "src/zz-fault-injection.md:3: this snippet was still running"

chapter '```rust,should_panic' 'fn main() {' '    println!("no panic here");' '}' '```'
expect "a should_panic snippet that does not panic" "--test snippets zz_fault" "src/zz-fault-injection.md:3: this \`should_panic\` snippet ran to the end"

chapter '```rust,compile_fail,E0277' 'fn main() {' '    let x: i32 = "text";' '}' '```'
expect "a compile_fail block with the wrong error code" "--test compile_fail zz_fault" "src/zz-fault-injection.md:3: this \`compile_fail\` block fails to compile, but not with E0277"

chapter 'See [the missing chapter](part1/no-such-chapter.md).'
expect "a broken internal link" "--test book internal_links" "src/zz-fault-injection.md:3: \`part1/no-such-chapter.md\`"

chapter 'See [a missing heading](introduction.md#no-such-heading).'
expect "a broken anchor" "--test book internal_links" "src/zz-fault-injection.md:3: \`introduction.md#no-such-heading\`"

chapter '```admonish sparkles' 'Not a type mdbook-admonish knows.' '```'
expect "an unknown admonish type" "--test book admonish" "src/zz-fault-injection.md:3: unknown admonish type \`sparkles\`"

chapter '````admonish tip' '```rust' 'fn main() {}' '```' '````'
expect "a rust block inside an admonish fence" "--test book code_blocks" "src/zz-fault-injection.md:4: a code block inside an admonish block is never tested"

chapter '```rust,norun' 'fn main() {}' '```'
expect "an unknown code block attribute" "--test book code_blocks" "src/zz-fault-injection.md:3: unknown attribute \`norun\`"

chapter '```rust,ignore' 'fn main() {}' '```'
expect "an ignore block without its reason" "--test book code_blocks" "src/zz-fault-injection.md:3: an \`ignore\` block carries its reason"

chapter '```rust' 'fn main() {' '    println!("ready");' '}' '```' '' '```text,output' 'reaady' '```'
expect "an output block that differs by one character" "--test snippets zz_fault" "src/zz-fault-injection.md:9: this output block (of the snippet at line 3) is not what the snippet shows"

chapter '```rust' 'fn main() {' '    println!("ready");' '}' '```'
expect "a printing snippet without its output block" "--test snippets zz_fault" "src/zz-fault-injection.md:3: this snippet prints, but there is no output block under it"

chapter 'Some prose.' '' '```text,output' 'ready' '```'
expect "an output block with no snippet above it" "--test book code_blocks" "src/zz-fault-injection.md:5: an output block with no snippet above it"

chapter '```rust,compile_fail,E0308' 'fn main() {' '    let x: i32 = "text";' '}' '```' '' '```text,output' 'error[E0308]: mismatched types' '```'
expect "a compile_fail block whose output block is not the compiler's first error" "--test compile_fail zz_fault" "src/zz-fault-injection.md:9: this output block (of the snippet at line 3)"

chapter '```rust,should_panic' 'fn main() {' '    panic!("out of cheese");' '}' '```' '' '```text,output' "thread 'main' ([..]) panicked at src/main.rs:2:5:" 'out of milk' '```'
expect "a should_panic block whose output block has another panic message" "--test snippets zz_fault" "src/zz-fault-injection.md:9: this output block (of the snippet at line 3)"

chapter '```rust' 'fn main() {' '    println!("ready");' '}' '```' '' '```text,output' 'ready' '```' '' 'It prints `steady`.'
expect "prose that quotes output the snippet does not print" "--test book quoted_output" "src/zz-fault-injection.md:13: says the program prints \`steady\`"

long=$(printf '    println!("%s"); ' $(seq 1 400))
chapter '```rust' 'fn main() {' "$long" '}' '```'
expect "a snippet whose Playground link is over the ceiling" "--test book playground_links" "src/zz-fault-injection.md:3: its Playground link is"

unlisted
chapter 'A page nobody listed.'
expect "a chapter missing from SUMMARY.md" "--test book every_chapter" "src/zz-fault-injection.md:1: not listed in src/SUMMARY.md"

printf '\n**Backoff**: defined a second time.\n' >> src/reference/glossary.md
line=$(wc -l < src/reference/glossary.md)
expect "a glossary term defined twice" "--test book glossary_terms" "src/reference/glossary.md:$line: **Backoff** is defined twice"
cp /tmp/glossary.md.fault-backup src/reference/glossary.md

# An example edited after its binary was built (`cargo test --test NAME` builds no example).
cargo build --quiet --example exercise1_solution
sleep 1
touch examples/exercise1_solution.rs
expect "an exercise test run against a stale example" "--test exercises_06abc" "examples/exercise1_solution.rs changed"
cargo build --quiet --example exercise1_solution

if [ "$failures" -gt 0 ]; then
    echo "$failures fault(s) were not caught as they should be"
    exit 1
fi
echo "every injected fault was caught, with its file and line"
