//! Turns every ```` ```rust ```` block of the book into a test, and every ```` ```python ```` block
//! (run with `python3 -X dev` by `tests/harness`) too.
//!
//! skeptic reads each markdown file and writes one test per rust block. This script then files
//! those tests under a module per markdown file (`part2_06a_first_async_program::line_42`), and routes
//! each through `tests/harness/mod.rs`, which adds what skeptic lacks: a time limit, failure
//! messages that name the markdown file and line, `should_panic` that cannot be satisfied by a
//! compile error or a hang, and `compile_fail,E0XXX` blocks checked for their error code.
//!
//! A new chapter is picked up without touching this file: every `.md` under `src/` is read.
//! A problem with a block never makes this script fail: it becomes a failing test that says why.

#[path = "checks/markdown.rs"]
mod markdown;

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// A test skeptic generated, as read back from its output.
struct SkepticTest {
    line: usize,
    ignore: bool,
    should_panic: bool,
    no_run: bool,
    /// The `let s = &format!(...);` statement that builds the program text.
    text_stmt: String,
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").expect("TARGET");

    // A directory makes cargo look at everything below it, so new chapters are noticed.
    for watched in ["src", "README.md", "CONTRIBUTING.md", "checks/markdown.rs", "build.rs"] {
        println!("cargo:rerun-if-changed={watched}");
    }

    let mut snippets = String::new();
    let mut compile_fail = String::new();
    let mut count = 0usize;
    let mut python_count = 0usize;
    for rel in markdown::tested_files(&root) {
        let text = match fs::read_to_string(root.join(&rel)) {
            Ok(text) => text,
            Err(e) => {
                let module = markdown::module_name(&rel);
                writeln!(
                    snippets,
                    "mod {module} {{ #[test] fn unreadable() {{ panic!(\"{}: cannot be read: {}\"); }} }}",
                    rel.display(),
                    e.to_string().replace('"', "'")
                )
                .unwrap();
                continue;
            }
        };
        let all = markdown::blocks(&text);
        let lines: Vec<&str> = text.lines().collect();
        // The rust blocks skeptic sees, each with its ordinal among them (how the harness finds a
        // block again when it rewrites the file) and the output block under it.
        let blocks: Vec<(usize, &markdown::Block, Option<&markdown::Block>)> = all
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_rust() && !b.in_admonish && b.closed)
            .enumerate()
            .map(|(ordinal, (i, b))| (ordinal, b, markdown::output_after(&lines, &all, i)))
            .collect();
        let module = markdown::module_name(&rel);
        let file = rel.to_string_lossy().replace('\\', "/");

        // python blocks: run with python3 by tests/harness (`python_line_N`), in the same module
        // as the file's rust blocks, so `cargo test --test snippets 06c` runs both languages.
        let mut py_tests = String::new();
        let python = all
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_run_python())
            .enumerate()
            .map(|(ordinal, (i, b))| (ordinal, b, markdown::output_after(&lines, &all, i)));
        for (ordinal, b, output) in python {
            python_count += 1;
            writeln!(
                py_tests,
                "    #[test] fn python_line_{line}() {{\n        crate::harness::python(&crate::harness::Snippet {{ \
                 file: {file:?}, line: {line}, mode: crate::harness::Mode::Python, root: {root:?}, \
                 out: {out:?}, triple: {target:?}, text: {text}, ordinal: {ordinal}, output: {output} }});\n    }}",
                line = b.line,
                root = root.to_string_lossy(),
                out = out_dir.to_string_lossy(),
                text = raw_string(&b.python_program()),
                output = output_literal(output),
            )
            .unwrap();
        }
        if blocks.is_empty() {
            if !py_tests.is_empty() {
                writeln!(snippets, "mod {module} {{\n{py_tests}}}").unwrap();
            }
            continue;
        }

        // compile_fail blocks: skeptic would try to run them; they get their own check.
        let mut cf_tests = String::new();
        for &(ordinal, b, output) in blocks.iter().filter(|(_, b, _)| b.has_attr("compile_fail")) {
            let codes: Vec<String> = b.error_codes().iter().map(|c| format!("{c:?}")).collect();
            let message = markdown::expected_message(&lines, b).unwrap_or_default();
            writeln!(
                cf_tests,
                "    #[test] fn line_{line}() {{\n        crate::harness::compile_fail(&crate::harness::Snippet {{ \
                 file: {file:?}, line: {line}, mode: crate::harness::Mode::CompileFail(&[{codes}], {message:?}), \
                 root: {root:?}, out: {out:?}, triple: {target:?}, text: {text}, ordinal: {ordinal}, \
                 output: {output} }});\n    }}",
                line = b.line,
                codes = codes.join(", "),
                root = root.to_string_lossy(),
                out = out_dir.to_string_lossy(),
                text = raw_string(&b.program()),
                output = output_literal(output),
            )
            .unwrap();
        }
        if !cf_tests.is_empty() {
            writeln!(compile_fail, "mod {module} {{\n{cf_tests}}}").unwrap();
        }

        // Everything else that skeptic can see goes through skeptic.
        let for_skeptic: Vec<&(usize, &markdown::Block, Option<&markdown::Block>)> = blocks
            .iter()
            .filter(|(_, b, _)| !b.has_attr("compile_fail") && !b.includes_file())
            .collect();
        if for_skeptic.is_empty() {
            if !py_tests.is_empty() {
                writeln!(snippets, "mod {module} {{\n{py_tests}}}").unwrap();
            }
            continue;
        }
        skeptic::generate_doc_tests(&[rel.clone()]);
        let generated = fs::read_to_string(out_dir.join("skeptic-tests.rs"))
            .expect("skeptic writes skeptic-tests.rs");
        let by_line: BTreeMap<usize, SkepticTest> = parse_skeptic(&generated)
            .into_iter()
            .map(|t| (t.line, t))
            .collect();

        let mut tests = String::new();
        for &&(ordinal, b, output) in &for_skeptic {
            count += 1;
            let Some(t) = by_line.get(&b.line) else {
                writeln!(
                    tests,
                    "    #[test] fn line_{line}() {{ panic!(\"{file}:{line}: this rust block was not \
                     turned into a test (is the fence indented, or inside a list or quote?): put it \
                     at the start of a line, outside other blocks\"); }}",
                    line = b.line
                )
                .unwrap();
                continue;
            };
            let mode = if t.should_panic {
                "ShouldPanic"
            } else if t.no_run {
                "NoRun"
            } else {
                "Run"
            };
            if t.ignore {
                writeln!(
                    tests,
                    "    #[ignore = \"marked `ignore` in {file}:{}: the reason is above the block\"]",
                    b.line
                )
                .unwrap();
            }
            writeln!(
                tests,
                "    #[test] fn line_{line}() {{\n    {stmt}\n        crate::harness::snippet(&crate::harness::Snippet {{ \
                 file: {file:?}, line: {line}, mode: crate::harness::Mode::{mode}, root: {root:?}, \
                 out: {out:?}, triple: {target:?}, text: s, ordinal: {ordinal}, output: {output} }});\n    }}",
                line = b.line,
                stmt = t.text_stmt,
                root = root.to_string_lossy(),
                out = out_dir.to_string_lossy(),
                output = output_literal(output),
            )
            .unwrap();
        }
        writeln!(snippets, "mod {module} {{\n{tests}{py_tests}}}").unwrap();
    }
    writeln!(snippets, "pub const SNIPPET_COUNT: usize = {count};").unwrap();
    writeln!(snippets, "pub const PYTHON_COUNT: usize = {python_count};").unwrap();

    write_if_changed(&out_dir.join("snippet_tests.rs"), &snippets);
    write_if_changed(&out_dir.join("compile_fail_tests.rs"), &compile_fail);
}

/// Read back the tests skeptic wrote for one file.
fn parse_skeptic(generated: &str) -> Vec<SkepticTest> {
    let mut tests = Vec::new();
    let mut ignore = false;
    let mut should_panic = false;
    let mut lines = generated.lines();
    while let Some(line) = lines.next() {
        let line_trim = line.trim();
        if line_trim == "#[ignore]" {
            ignore = true;
        } else if line_trim == "#[should_panic]" {
            should_panic = true;
        } else if let Some(rest) = line_trim.strip_prefix("#[test] fn ") {
            let name = rest.split('(').next().unwrap_or("");
            let number = name.rsplit("_line_").next().and_then(|n| n.parse::<usize>().ok());
            // The statement runs from `let s = ...` to the line before the skeptic::rt call.
            let mut stmt = String::new();
            let mut no_run = false;
            for body in lines.by_ref() {
                if body.trim_start().starts_with("skeptic::rt::") {
                    no_run = body.contains("compile_test");
                    break;
                }
                stmt.push_str(body);
                stmt.push('\n');
            }
            if let Some(number) = number {
                tests.push(SkepticTest {
                    line: number,
                    ignore,
                    should_panic,
                    no_run,
                    text_stmt: stmt.trim_end().to_string(),
                });
            }
            ignore = false;
            should_panic = false;
        }
    }
    tests
}

/// The `output` field of a generated `Snippet`: the output block's fence line and text, or `None`.
fn output_literal(output: Option<&markdown::Block>) -> String {
    match output {
        Some(o) => format!("Some(({}, {}))", o.line, raw_string(&markdown::output_text(o))),
        None => "None".to_string(),
    }
}

/// A raw string literal holding `s`, with enough `#`s.
fn raw_string(s: &str) -> String {
    let mut hashes = String::from("#");
    while s.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{s}\"{hashes}")
}

/// Leave the file alone when nothing changed, so cargo does not rebuild the tests for nothing.
fn write_if_changed(path: &Path, contents: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).expect("write generated tests");
    }
}
