//! Helpers shared by the tests that run the programs in `examples/`.
//!
//! `cargo test` builds every example before it runs the tests, into `target/<profile>/examples/`,
//! so a test can run the example's binary directly instead of calling cargo again.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long an example may run before the test gives up on it.
pub const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The path of the built example `name` (`examples/<name>.rs`).
pub fn example_bin(name: &str) -> PathBuf {
    // The test binary lives in target/<profile>/deps/; examples in target/<profile>/examples/.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test binary>");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "examples/{name}.rs has not been built ({} is missing): run the tests with `cargo test`, \
         which builds every example first",
        bin.display()
    );
    // `cargo test --test NAME` alone builds no example: a binary older than its source would run
    // the old program and pass or fail for the wrong reason.
    let built = modified(&bin);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let file = root.join(format!("{name}.rs"));
    let source = if file.exists() { file } else { root.join(name) };
    if let Some(changed) = newest_change(&source).filter(|&t| Some(t) > built) {
        let age = changed.duration_since(built.unwrap()).unwrap_or_default();
        panic!(
            "{} changed {age:.0?} after its binary was built: run `cargo build --examples` first \
             (a plain `cargo test` builds every example)",
            source
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(&source)
                .display()
        );
    }
    bin
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest modification time of a Rust file, or of any Rust file under a directory (only those:
/// cargo rebuilds for them, not for a changed data file the program reads at run time).
fn newest_change(path: &Path) -> Option<SystemTime> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| newest_change(&e.path()))
            .max()
    } else if path.extension().is_some_and(|e| e == "rs") {
        modified(path)
    } else {
        None
    }
}

/// A command for the built example `name`, ready for more arguments or environment variables.
pub fn example_command(name: &str) -> Command {
    let mut cmd = Command::new(example_bin(name));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Run the built example `name` with `args`, wait for it (at most [`EXAMPLE_TIMEOUT`]) and return its
/// output. Panics, naming the example, if it cannot start, runs too long or exits with a failure.
pub fn run_example(name: &str, args: &[&str]) -> Output {
    let mut cmd = example_command(name);
    cmd.args(args);
    let output = run_with_timeout(cmd, EXAMPLE_TIMEOUT)
        .unwrap_or_else(|e| panic!("examples/{name}.rs {args:?}: {e}"));
    assert!(
        output.status.success(),
        "examples/{name}.rs {args:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Run `cmd` to completion with captured output, killing it if it runs longer than `limit`.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("could not start: {e}"))?;
    // Drain the pipes on their own threads so a chatty program cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}: stopped"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Standard output of a finished program as text (the programs print UTF-8: anything else fails).
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("the program's stdout is UTF-8")
}

/// The first line of `stdout` that starts with `prefix`.
pub fn line_starting<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{stdout}"))
}

/// The first number (digits and dots) after `marker` in `text`, e.g. 4.9 in `speedup: 4.9x`.
pub fn number_after(text: &str, marker: &str) -> f64 {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not found in {text:?}"))
        + marker.len();
    let digits: String = text[start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in {text:?}"))
}

/// The whole numbers, in order, of the first line of `stdout` that contains `marker`; the line
/// must hold exactly `count` of them.
pub fn numbers_on_line(stdout: &str, marker: &str, count: usize) -> Vec<u64> {
    let line = stdout
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line containing {marker:?} in:\n{stdout}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), count, "unexpected line {line:?}");
    numbers
}

/// The `key=value` fields of the output line that starts with `prefix:`, e.g.
/// `race: expected=400 got=400` gives {"expected": "400", "got": "400"}.
pub fn fields(stdout: &str, prefix: &str) -> std::collections::HashMap<String, String> {
    let line = line_starting(stdout, &format!("{prefix}:"));
    line.split_whitespace()
        .skip(1)
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("`{kv}` in `{line}` is not key=value"));
            (k.to_string(), v.to_string())
        })
        .collect()
}
