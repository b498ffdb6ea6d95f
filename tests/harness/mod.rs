//! What skeptic lacks, around what skeptic does.
//!
//! skeptic compiles a snippet with rustc against this package's dependencies and runs it. Around
//! that, this module
//! - stops a snippet that runs longer than [`timeout`] (a watchdog thread kills it), so a hanging
//!   snippet fails instead of stalling the suite;
//! - names the markdown file and line in every failure;
//! - checks `should_panic` itself, so that a snippet that does not compile or that hangs does not
//!   count as "panicked as expected";
//! - checks that a `compile_fail,E0XXX` block fails to compile with that error code.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub enum Mode {
    Run,
    NoRun,
    ShouldPanic,
    /// The error codes the block names, and the message expected when the error has no code.
    CompileFail(&'static [&'static str], &'static str),
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
}

impl Snippet<'_> {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
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
            std::env::set_var("SKEPTIC_BINARY_CACHE_MB", "6144");
        }
    });
}

/// Compile and run (or only compile) a snippet through skeptic.
pub fn snippet(s: &Snippet) {
    size_binary_cache();
    watchdog::start();
    let at = s.at();
    match s.mode {
        Mode::NoRun => {
            if attempt(|| skeptic::rt::compile_test(s.root, s.out, s.triple, s.text)).is_err() {
                panic!("{at}: this `no_run` snippet does not compile (the compiler's messages are above; line numbers in them count from the block's first line)");
            }
        }
        Mode::Run => {
            let kills = watchdog::kills();
            let start = Instant::now();
            if run(s).is_err() {
                panic!("{}", explain_failure(s, start, kills));
            }
        }
        Mode::ShouldPanic => {
            if attempt(|| skeptic::rt::compile_test(s.root, s.out, s.triple, s.text)).is_err() {
                panic!("{at}: this `should_panic` snippet does not compile, so it cannot show a panic (the compiler's messages are above)");
            }
            let kills = watchdog::kills();
            let start = Instant::now();
            match run(s) {
                Ok(()) => panic!("{at}: this `should_panic` snippet ran to the end without panicking"),
                Err(()) if timed_out(start, kills) => panic!(
                    "{at}: this `should_panic` snippet was still running after {:?} and was stopped: a hang is not a panic",
                    timeout()
                ),
                Err(()) => {} // it panicked, as the text says it does
            }
        }
        Mode::CompileFail(..) => unreachable!("compile_fail blocks go through harness::compile_fail"),
    }
}

/// Check that a `compile_fail` block does not compile, and fails with the error codes it names.
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
    let stderr = capture::compile(s);
    let Some(stderr) = stderr else {
        panic!("{at}: this `compile_fail` block compiles, but the text says it does not (expected {codes:?})");
    };
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
}

/// Run skeptic's check, which reports a failure by panicking; keep its panic message out of the way
/// (ours names the file and line).
fn attempt(f: impl FnOnce()) -> Result<(), ()> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| ())
}

/// Compile (or fetch from the cache) and run the snippet.
///
/// Linux refuses to start a program while any process holds it open for writing ("Text file
/// busy", ETXTBSY). skeptic writes each new binary into its cache and runs it at once, while other
/// snippets are being spawned on other threads; a child forked in that instant briefly inherits the
/// cache file's write handle. That is a property of the machine, not of the snippet, so it is
/// retried: only that error, a few times. Any other failure is the snippet's own.
fn run(s: &Snippet) -> Result<(), ()> {
    for _ in 0..3 {
        match catch_unwind(AssertUnwindSafe(|| skeptic::rt::run_test(s.root, s.out, s.triple, s.text))) {
            Ok(()) => return Ok(()),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("");
                if !message.contains("Text file busy") {
                    return Err(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Err(())
}

fn timed_out(start: Instant, kills_before: usize) -> bool {
    watchdog::kills() > kills_before && start.elapsed() >= timeout()
}

fn explain_failure(s: &Snippet, start: Instant, kills_before: usize) -> String {
    let at = s.at();
    if timed_out(start, kills_before) {
        return format!(
            "{at}: this snippet was still running after {:?} and was stopped. Snippets must end \
             quickly: bound every loop, and prove a stall with tokio::time::timeout instead of hanging",
            timeout()
        );
    }
    // Did it fail to compile, or did it run and fail? A check-only build tells, cheaply.
    if attempt(|| skeptic::rt::compile_test(s.root, s.out, s.triple, s.text)).is_err() {
        format!("{at}: this snippet does not compile (the compiler's messages are above; line numbers in them count from the block's first line)")
    } else {
        format!("{at}: this snippet compiled, then failed when run: an assertion or a panic (its output is above)")
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

/// Compiling with the compiler's messages in hand.
///
/// skeptic prints rustc's messages but does not return them. For `compile_fail` blocks this module
/// points skeptic at a small wrapper around rustc that also saves the messages to a file, then
/// reads them. One block at a time, so each message file belongs to one block.
mod capture {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Mutex;

    static LOCK: Mutex<Option<PathBuf>> = Mutex::new(None);

    /// `None` when the program compiles; the compiler's messages when it does not.
    pub fn compile(s: &Snippet) -> Option<String> {
        let mut dir = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let dir = dir.get_or_insert_with(install_wrapper);
        let messages = dir.join("stderr.txt");
        let _ = std::fs::remove_file(&messages);
        let compiled = attempt(|| skeptic::rt::compile_test(s.root, s.out, s.triple, s.text)).is_ok();
        if compiled {
            return None;
        }
        Some(std::fs::read_to_string(&messages).unwrap_or_else(|e| {
            panic!("{}: the compiler failed, but its messages were not captured ({e})", s.at())
        }))
    }

    /// Write the wrapper and point skeptic at it (skeptic runs `$RUSTC`, else `rustc`). This runs
    /// once, before this test binary compiles anything, while every other test waits on `LOCK`.
    fn install_wrapper() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("book-compile-fail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let real = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
        let wrapper = dir.join("rustc-wrapper.sh");
        let script = format!(
            "#!/bin/sh\n'{real}' \"$@\" 2>'{err}'\nstatus=$?\ncat '{err}' >&2\nexit $status\n",
            real = real.replace('\'', ""),
            err = dir.join("stderr.txt").display()
        );
        std::fs::write(&wrapper, script).expect("write the rustc wrapper");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
                .expect("make the wrapper executable");
        }
        std::env::set_var("RUSTC", &wrapper);
        dir
    }
}
