//! What skeptic lacks, around what skeptic does.
//!
//! skeptic (patched: `vendor/skeptic/PATCHES.md`) compiles a snippet with rustc against this
//! package's dependencies and runs it, and hands back what the compiler and the program wrote.
//! Around that, this module
//! - stops a snippet that runs longer than [`timeout`] (a watchdog thread kills it), so a hanging
//!   snippet fails instead of stalling the suite;
//! - names the markdown file and line in every failure;
//! - compares what a snippet prints with the output block under it (```` ```text,output ````), and
//!   shows a diff when they differ; with `SNAPSHOTS=overwrite` it rewrites the block instead;
//! - checks `should_panic` itself, so that a snippet that does not compile or that hangs does not
//!   count as "panicked as expected", and compares its panic message with its output block;
//! - checks that a `compile_fail,E0XXX` block fails to compile with that error code, and compares
//!   the compiler's first error with its output block;
//! - runs every ```` ```python ```` block with `python3 -X dev` (3.11 or newer) and compares what it
//!   shows with its output block, the same way ([`python`]).
#![allow(dead_code)]

#[path = "../../checks/markdown.rs"]
mod markdown;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skeptic::rt::{Captured, Step};

pub enum Mode {
    Run,
    NoRun,
    ShouldPanic,
    /// The error codes the block names, and the message expected when the error has no code.
    CompileFail(&'static [&'static str], &'static str),
    /// A ```` ```python ```` block, run with `python3 -X dev` (see [`python`]).
    Python,
}

pub struct Snippet<'a> {
    /// The markdown file, relative to the repository root.
    pub file: &'static str,
    /// The line of the block's opening fence.
    pub line: usize,
    pub mode: Mode,
    pub root: &'static str,
    pub out: &'static str,
    pub triple: &'static str,
    /// The complete program, hidden lines included.
    pub text: &'a str,
    /// Which block of its language (rust, or python for [`Mode::Python`]) in its file this is,
    /// counting from 0 (how `SNAPSHOTS=overwrite` finds it again after earlier blocks have grown or
    /// lost output blocks).
    pub ordinal: usize,
    /// The output block under the snippet when the tests were built: its fence's line, its text.
    pub output: Option<(usize, &'static str)>,
}

impl Snippet<'_> {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The program exactly as the page shows it and the Playground gets it. (skeptic's generated
    /// text starts with an extra newline, which would shift every line number by one.)
    fn program(&self) -> &str {
        self.text.strip_prefix('\n').unwrap_or(self.text)
    }
}

/// How long a snippet may run: `SNIPPET_TIMEOUT_SECS`, 30 s by default (every snippet in the book
/// runs in well under a second).
pub fn timeout() -> Duration {
    let secs = std::env::var("SNIPPET_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Room for every snippet's compiled binary in skeptic's cache (target/<profile>/.skeptic-bin), so
/// that a run after a change recompiles only the snippets that changed. skeptic's default, 1 GiB,
/// holds about 180 of the book's snippets (5 to 7 MB each, tokio linked in); past that it evicts and
/// recompiles. `SKEPTIC_BINARY_CACHE_MB` set by hand wins.
fn size_binary_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("SKEPTIC_BINARY_CACHE_MB").is_none() {
            // SAFETY: this runs once, before any snippet (and so before skeptic's worker threads,
            // which read the variable) starts; the test threads that call it wait on `ONCE`.
            unsafe { std::env::set_var("SKEPTIC_BINARY_CACHE_MB", "6144") };
        }
    });
}

/// The compile step and the run step of one snippet, as skeptic captured them.
struct Outcome {
    compile: Option<Captured>,
    run: Option<Captured>,
}

impl Outcome {
    fn compiled(&self) -> bool {
        self.compile.as_ref().is_none_or(|c| c.failure.is_none())
    }

    fn compiler_messages(&self) -> String {
        self.compile
            .as_ref()
            .map(|c| String::from_utf8_lossy(&c.stderr).into_owned())
            .unwrap_or_default()
    }
}

/// Compile (or fetch from the cache) and, when `run`, run the snippet.
///
/// Linux refuses to start a program while any process holds it open for writing ("Text file
/// busy", ETXTBSY). skeptic writes each new binary into its cache and runs it at once, while other
/// snippets are being spawned on other threads; a child forked in that instant briefly inherits the
/// cache file's write handle. That is a property of the machine, not of the snippet, so it is
/// retried: only that error, a few times. Any other failure is the snippet's own.
fn execute(s: &Snippet, run: bool) -> Outcome {
    let mut attempts = 0;
    loop {
        let steps = skeptic::rt::capture_test(s.root, s.out, s.triple, s.program(), run);
        let mut outcome = Outcome { compile: None, run: None };
        for step in steps {
            match step.step {
                Step::Compile => outcome.compile = Some(step),
                Step::Run => outcome.run = Some(step),
            }
        }
        let busy = outcome
            .run
            .as_ref()
            .and_then(|r| r.failure.as_deref())
            .is_some_and(|f| f.contains("Text file busy"));
        attempts += 1;
        if !busy || attempts == 3 {
            return outcome;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Show what a step wrote, under the test's name (libtest prints it when the test fails).
fn echo(step: &Captured) {
    print!("{}", String::from_utf8_lossy(&step.stdout));
    eprint!("{}", String::from_utf8_lossy(&step.stderr));
}

/// Compile and run (or only compile) a snippet, and check what it prints.
pub fn snippet(s: &Snippet) {
    size_binary_cache();
    watchdog::start();
    let at = s.at();
    match s.mode {
        Mode::NoRun => {
            let outcome = execute(s, false);
            if !outcome.compiled() {
                eprint!("{}", outcome.compiler_messages());
                panic!("{at}: this `no_run` snippet does not compile (the compiler's messages are above)");
            }
        }
        Mode::Run => {
            let (run, timed_out) = compile_and_run(s, "this snippet does not compile");
            if run.failure.is_some() {
                if timed_out {
                    panic!(
                        "{at}: this snippet was still running after {:?} and was stopped. Snippets must end \
                         quickly: bound every loop, and prove a stall with tokio::time::timeout instead of hanging",
                        timeout()
                    );
                }
                panic!("{at}: this snippet compiled, then failed when run: an assertion or a panic (its output is above)");
            }
            output::check(s, &String::from_utf8_lossy(&run.stdout));
        }
        Mode::ShouldPanic => {
            let (run, timed_out) =
                compile_and_run(s, "this `should_panic` snippet does not compile, so it cannot show a panic");
            if run.failure.is_none() {
                panic!("{at}: this `should_panic` snippet ran to the end without panicking");
            }
            if timed_out {
                panic!(
                    "{at}: this `should_panic` snippet was still running after {:?} and was stopped: a hang is not a panic",
                    timeout()
                );
            }
            let stderr = String::from_utf8_lossy(&run.stderr);
            if !stderr.contains("panicked at") {
                panic!("{at}: this `should_panic` snippet failed without a panic (it exited with an error, or was killed)");
            }
            // What the reader sees in a terminal: what it printed, then the panic.
            let mut shown = String::from_utf8_lossy(&run.stdout).into_owned();
            shown.push_str(&output::panic_report(&stderr));
            output::check(s, &shown);
        }
        Mode::CompileFail(..) => unreachable!("compile_fail blocks go through harness::compile_fail"),
        Mode::Python => unreachable!("python blocks go through harness::python"),
    }
}

/// Compile and run a snippet that must compile (failing with `{at}: {not_compiled} ...` if it does
/// not); show what it wrote; return its run step, and whether the watchdog stopped it.
fn compile_and_run(s: &Snippet, not_compiled: &str) -> (Captured, bool) {
    let kills = watchdog::kills();
    let start = Instant::now();
    let outcome = execute(s, true);
    if !outcome.compiled() {
        eprint!("{}", outcome.compiler_messages());
        panic!("{}: {not_compiled} (the compiler's messages are above)", s.at());
    }
    let run = outcome.run.expect("a compiled snippet is run");
    echo(&run);
    (run, timed_out(start, kills))
}

/// Check that a `compile_fail` block does not compile, fails with the error codes it names, and that
/// its output block shows the compiler's first error.
pub fn compile_fail(s: &Snippet) {
    let Mode::CompileFail(codes, message) = s.mode else {
        unreachable!("only compile_fail blocks come here")
    };
    let at = s.at();
    assert!(
        !codes.is_empty() || !message.is_empty(),
        "{at}: a `compile_fail` block must name the error it shows, e.g. ```rust,compile_fail,E0277, \
         or, for an error without a code, have `<!-- compile_fail: the message -->` on the line above"
    );
    let outcome = execute(s, false);
    if outcome.compiled() {
        panic!("{at}: this `compile_fail` block compiles, but the text says it does not (expected {codes:?})");
    }
    let stderr = outcome.compiler_messages();
    for code in codes {
        assert!(
            stderr.contains(&format!("error[{code}]")),
            "{at}: this `compile_fail` block fails to compile, but not with {code}; the compiler said:\n{stderr}"
        );
    }
    if !message.is_empty() {
        assert!(
            stderr.lines().any(|l| l.starts_with("error") && l.contains(message)),
            "{at}: this `compile_fail` block fails to compile, but not with the error `{message}`; the compiler said:\n{stderr}"
        );
    }
    output::check(s, &output::first_error(&stderr));
}

/// The oldest Python the book's asyncio programs are written for (`asyncio.TaskGroup` and
/// `asyncio.timeout` are new in 3.11).
pub const PYTHON_MIN: (u32, u32) = (3, 11);

/// The `python3` on PATH when it is 3.11 or newer: `Ok(version)`, or `Err(why not)`.
pub fn python3() -> &'static Result<String, String> {
    static FOUND: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
            .output()
            .map_err(|e| format!("no `python3` on PATH ({e})"))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if !out.status.success() || version.is_empty() {
            return Err(format!("`python3` on PATH does not run: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        if (major, minor) < PYTHON_MIN {
            return Err(format!(
                "`python3` on PATH is {version}; the asyncio programs need {}.{} or newer",
                PYTHON_MIN.0, PYTHON_MIN.1
            ));
        }
        Ok(version)
    })
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Run a ```` ```python ```` block with `python3 -X dev` and check what it shows against its output
/// block, exactly as for a rust block.
///
/// `-X dev` turns on Python's development mode and asyncio's debug mode: a coroutine that is never
/// awaited, a callback or task step that holds the event loop for more than 100 ms, a resource
/// left unclosed, is reported on stderr. Anything on stderr fails the test, with what Python said:
/// a program that shows such a report on purpose catches it and prints it. The program runs as
/// `main.py` in a directory of its own, with `PYTHONHASHSEED=0`; it must exit with status 0 within
/// [`timeout`], and its stdout is checked against the output block.
///
/// Without a `python3` of 3.11 or newer the test says so and passes, except under `CI=true`, where
/// that is a failure.
pub fn python(s: &Snippet) {
    let at = s.at();
    let version = match python3() {
        Ok(v) => v,
        Err(why) if ci() => panic!("{at}: CI=true, but the python blocks cannot run: {why}"),
        Err(why) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            // Straight to stderr, past libtest's capture, so that a plain `cargo test` shows it once.
            SAID.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: the book's python blocks did not run: {why} (install python3 3.11 or newer; under CI=true this is a failure)"
                );
            });
            eprintln!("SKIPPED: {at}: {why}");
            return;
        }
    };
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::path::Path::new(s.out)
        .join("python-snippets")
        .join(format!("{}-{}", std::process::id(), RUN.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{at}: cannot create {}: {e}", dir.display()));
    std::fs::write(dir.join("main.py"), s.program()).unwrap_or_else(|e| panic!("{at}: cannot write main.py: {e}"));
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-X", "dev", "main.py"])
        .current_dir(&dir)
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONWARNINGS")
        .env_remove("PYTHONASYNCIODEBUG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{at}: cannot start python3: {e}"));
    let mut pipes = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut pipes.0, &mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut pipes.1, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break Some(status);
        }
        if start.elapsed() >= timeout() {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    print!("{stdout}");
    eprint!("{stderr}");
    match status {
        None => panic!(
            "{at}: this python program was still running after {:?} and was stopped (python3 {version}). \
             Programs must end quickly: bound every loop, and prove a stall with asyncio.timeout instead of hanging",
            timeout()
        ),
        Some(st) if !st.success() => panic!(
            "{at}: this python program failed when run with python3 {version} -X dev ({st}): an assertion or an \
             exception (its output is above)"
        ),
        Some(_) => {}
    }
    if !stderr.trim().is_empty() {
        panic!(
            "{at}: python3 {version} -X dev reported a problem on stderr (above): a coroutine never awaited, a step \
             that held the event loop over 100 ms, an unclosed resource, a warning. Fix the program, or, to show \
             the report on purpose, catch it and print it"
        );
    }
    output::check(s, &stdout);
}

fn timed_out(start: Instant, kills_before: usize) -> bool {
    watchdog::kills() > kills_before && start.elapsed() >= timeout()
}

/// Output blocks: comparing, diffing and rewriting them.
mod output {
    use super::{Snippet, markdown};
    use std::sync::Mutex;

    /// The wildcard of an output block: any text within one line (snapbox's `[..]`).
    pub const WILDCARD: &str = "[..]";

    /// True when the tests should rewrite output blocks instead of checking them:
    /// `SNAPSHOTS=overwrite`, which keeps the lines whose wildcards still match, or `SNAPSHOTS=fresh`,
    /// which writes what this run printed and keeps only the wildcards of [`redact`] (to find out
    /// which `[..]` are still needed: run the tests again and see what differs).
    fn overwrite() -> bool {
        std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite" || v == "fresh")
    }

    fn fresh() -> bool {
        std::env::var("SNAPSHOTS").is_ok_and(|v| v == "fresh")
    }

    /// Text as an output block holds it: no trailing spaces, no trailing blank lines.
    pub fn normalize(text: &str) -> String {
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        lines.join("\n").trim_end_matches('\n').to_string()
    }

    /// A panic as the reader's terminal shows it, without the note about backtraces.
    pub fn panic_report(stderr: &str) -> String {
        stderr
            .lines()
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The compiler's first error, as rustc prints it: from its `error` line to the blank line that
    /// ends it (warnings before it left out).
    pub fn first_error(stderr: &str) -> String {
        let mut out = Vec::new();
        for line in stderr.lines() {
            if out.is_empty() && !line.starts_with("error") {
                continue;
            }
            if line.trim().is_empty() {
                break;
            }
            out.push(line);
        }
        out.join("\n")
    }

    /// Does one expected line (with `[..]` wildcards) match one actual line?
    pub fn line_matches(expected: &str, actual: &str) -> bool {
        let pieces: Vec<&str> = expected.split(WILDCARD).collect();
        if pieces.len() == 1 {
            return expected == actual;
        }
        let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
        if !actual.starts_with(first) || actual.len() < first.len() + last.len() || !actual.ends_with(last) {
            return false;
        }
        let mut rest = &actual[first.len()..actual.len() - last.len()];
        for piece in &pieces[1..pieces.len() - 1] {
            match rest.find(piece) {
                Some(i) => rest = &rest[i + piece.len()..],
                None => return false,
            }
        }
        true
    }

    pub fn matches(expected: &str, actual: &str) -> bool {
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        e.len() == a.len() && e.iter().zip(&a).all(|(e, a)| line_matches(e, a))
    }

    /// A line diff of expected against actual: `-` only in the output block, `+` only in what the
    /// program printed.
    pub fn diff(expected: &str, actual: &str) -> String {
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        // Longest common subsequence, wildcard-aware.
        let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
        for i in (0..e.len()).rev() {
            for j in (0..a.len()).rev() {
                lcs[i][j] = if line_matches(e[i], a[j]) {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j, mut out) = (0, 0, String::new());
        while i < e.len() || j < a.len() {
            if i < e.len() && j < a.len() && line_matches(e[i], a[j]) {
                out.push_str(&format!("   {}\n", a[j]));
                i += 1;
                j += 1;
            } else if i < e.len() && (j == a.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.push_str(&format!(" - {}\n", e[i]));
                i += 1;
            } else {
                out.push_str(&format!(" + {}\n", a[j]));
                j += 1;
            }
        }
        out
    }

    /// Compare what the snippet showed with its output block, or rewrite the block.
    pub fn check(s: &Snippet, shown: &str) {
        let actual = normalize(shown);
        if overwrite() {
            rewrite(s, &actual);
            return;
        }
        let at = s.at();
        match s.output {
            None if actual.is_empty() => {}
            None => panic!(
                "{at}: this snippet prints, but there is no output block under it. Add this one \
                 directly below the snippet (or run `SNAPSHOTS=overwrite cargo test`):\n\n```text,output\n{actual}\n```\n"
            ),
            Some((line, expected)) => {
                if !matches(expected, &actual) {
                    panic!(
                        "{}:{line}: this output block (of the snippet at line {}) is not what the snippet \
                         shows; `-` is in the block, `+` is what it printed. To take the real output: \
                         `SNAPSHOTS=overwrite cargo test`\n{}",
                        s.file,
                        s.line,
                        diff(expected, &actual)
                    );
                }
            }
        }
    }

    /// The new text of an output block: the actual output, except that a line of the old block that
    /// still matches (through its wildcards) is kept as it is, and a thread's id in a panic message,
    /// which changes from run to run, becomes a wildcard.
    fn merged(old: Option<&str>, actual: &str) -> String {
        let old: Vec<&str> = old.filter(|_| !fresh()).map(|o| o.lines().collect()).unwrap_or_default();
        let mut out = Vec::new();
        for (i, line) in actual.lines().enumerate() {
            match old.get(i) {
                Some(o) if line_matches(o, line) => out.push(redact(o)),
                _ => out.push(redact(line)),
            }
        }
        out.join("\n")
    }

    /// What changes from run to run or from machine to machine: a thread's id in a panic message
    /// (`thread 'main' (4242) panicked at` -> `thread 'main' ([..]) panicked at`), where cargo keeps
    /// a dependency's sources (`/root/.cargo/registry/src/index.crates.io-<hash>/tokio-1.54.1/...`
    /// -> `[..]/tokio-1.54.1/...`), and the name of the file where rustc writes a long type
    /// (`playground.long-type-<hash>.txt`). Applying it twice changes nothing.
    fn redact(line: &str) -> String {
        let mut line = redact_thread_id(line);
        while let Some(reg) = line.find("/registry/src/") {
            let begin = line[..reg].rfind([' ', '\'', '"', '(']).map_or(0, |i| i + 1);
            let after = &line[reg + "/registry/src/".len()..];
            let rest = after.split_once('/').map_or("", |(_, rest)| rest);
            line = format!("{}{WILDCARD}/{rest}", &line[..begin]);
        }
        if let Some(at) = line.find(".long-type-") {
            let digits_at = at + ".long-type-".len();
            let digits = line[digits_at..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                line = format!("{}{WILDCARD}{}", &line[..digits_at], &line[digits_at + digits..]);
            }
        }
        line
    }

    fn redact_thread_id(line: &str) -> String {
        if let Some(rest) = line.strip_prefix("thread '") {
            if let Some((name, after)) = rest.split_once("' (") {
                if let Some((id, tail)) = after.split_once(") panicked at") {
                    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                        return format!("thread '{name}' ({WILDCARD}) panicked at{tail}");
                    }
                }
            }
        }
        line.to_string()
    }

    /// One rewrite at a time: tests on other threads rewrite the same files.
    static FILES: Mutex<()> = Mutex::new(());

    /// Put `actual` in the output block of the snippet (add the block, replace it, or remove it
    /// when the snippet prints nothing). The file is read afresh: earlier rewrites may have moved
    /// the snippet, which is found again by its ordinal among the file's rust blocks.
    fn rewrite(s: &Snippet, actual: &str) {
        let _one = FILES.lock().unwrap_or_else(|e| e.into_inner());
        let path = std::path::Path::new(s.root).join(s.file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: cannot be read: {e}", s.file));
        let lines: Vec<&str> = text.lines().collect();
        let blocks = markdown::blocks(&text);
        let python = matches!(s.mode, super::Mode::Python);
        let same_kind: Vec<usize> = (0..blocks.len())
            .filter(|&i| {
                let b = &blocks[i];
                if python { b.is_run_python() } else { b.is_rust() && !b.in_admonish && b.closed }
            })
            .collect();
        let program = |b: &markdown::Block| if python { b.python_program() } else { b.program() };
        let found = same_kind.get(s.ordinal).copied().filter(|&i| program(&blocks[i]) == s.program());
        let Some(i) = found else {
            panic!(
                "{}: changed since the tests were built (the block of line {} is not where it was); run the tests again",
                s.file, s.line
            );
        };
        let b = &blocks[i];
        let old = markdown::output_after(&lines, &blocks, i);
        let new_body = merged(old.map(|o| markdown::output_text(o)).as_deref(), actual);
        if old.is_some_and(|o| markdown::output_text(o) == new_body) {
            return; // nothing to change
        }
        // Lines (0-based) to replace: from just after the snippet's closing fence to the end of the
        // old output block, or nothing when there is none.
        let start = b.end_line();
        let end = old.map_or(start, |o| o.end_line());
        let mut replacement: Vec<String> = Vec::new();
        if !new_body.is_empty() {
            let longest = new_body
                .lines()
                .map(|l| l.len() - l.trim_start_matches('`').len())
                .max()
                .unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            replacement.push(String::new());
            replacement.push(format!("{fence}text,output"));
            replacement.extend(new_body.lines().map(str::to_string));
            replacement.push(fence);
        }
        let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
        out.extend(replacement);
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        let mut new_text = out.join("\n");
        if text.ends_with('\n') {
            new_text.push('\n');
        }
        std::fs::write(&path, new_text).unwrap_or_else(|e| panic!("{}: cannot be written: {e}", s.file));
    }
}

/// Stops snippet processes that run too long.
///
/// Snippets are child processes of the test binary, run from skeptic's binary cache
/// (`target/<profile>/.skeptic-bin/`) or from a `rust-skeptic*` temporary directory. Every 100 ms the
/// watchdog lists the children (Linux `/proc`), and kills any such child older than [`timeout`].
/// Elsewhere it does nothing.
mod watchdog {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Once;

    static KILLS: AtomicUsize = AtomicUsize::new(0);
    static START: Once = Once::new();

    pub fn kills() -> usize {
        KILLS.load(Ordering::SeqCst)
    }

    pub fn start() {
        START.call_once(|| {
            if !std::path::Path::new("/proc/self/stat").exists() {
                return;
            }
            std::thread::spawn(watch);
        });
    }

    fn watch() {
        let me = std::process::id().to_string();
        let limit = timeout();
        // (pid, start time in clock ticks) -> when we first saw it.
        let mut seen: HashMap<(String, String), Instant> = HashMap::new();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let mut alive = Vec::new();
            let Ok(procs) = std::fs::read_dir("/proc") else { return };
            for entry in procs.flatten() {
                let pid = entry.file_name().to_string_lossy().into_owned();
                if !pid.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
                // Fields after the command name, which is in parentheses and may contain spaces.
                let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else { continue };
                let fields: Vec<&str> = after.split_whitespace().collect();
                // fields[1] is the parent pid, fields[19] the start time.
                if fields.get(1) != Some(&me.as_str()) {
                    continue;
                }
                let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else { continue };
                let exe = exe.to_string_lossy();
                if !(exe.contains("/.skeptic-bin/") || exe.contains("/rust-skeptic")) {
                    continue; // rustc, the linker, ...
                }
                let key = (pid.clone(), fields.get(19).unwrap_or(&"").to_string());
                let first = *seen.entry(key.clone()).or_insert_with(Instant::now);
                alive.push(key);
                if first.elapsed() >= limit {
                    // SAFETY: kill(2) with a pid we just read from /proc and a valid signal.
                    let killed = pid
                        .parse::<libc::pid_t>()
                        .is_ok_and(|pid| unsafe { libc::kill(pid, libc::SIGKILL) } == 0);
                    if killed {
                        KILLS.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            seen.retain(|k, _| alive.contains(k));
        }
    }
}
