//! Builds and runs `examples/console-demo/`, the tokio-console set-up that chapter 6d prints
//! ("tokio-console: a live view of every task").
//!
//! The demo is its own package: tokio-console needs tokio compiled with `--cfg tokio_unstable`,
//! which `examples/console-demo/.cargo/config.toml` sets for that package's builds only. Cargo reads
//! a `.cargo/config.toml` from the directory it is *run in* (and its parents), not from the
//! manifest's, so the build below runs in `examples/console-demo/`, exactly as a reader would. It
//! uses its own target directory, `target/console-demo/`, and removes any `RUSTFLAGS` from the
//! environment, because a `RUSTFLAGS` variable replaces `build.rustflags` instead of adding to it.
//!
//! By hand: `cd examples/console-demo && cargo run -- 5` (and `tokio-console` in another terminal).

mod support;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A cold build compiles about 110 crates (tonic, prost, hyper, ...): minutes on two busy cores.
const BUILD_LIMIT: Duration = Duration::from_secs(1200);
/// The demo runs for two seconds; this leaves room for a slow start.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn package_dir() -> PathBuf {
    support::root().join("examples").join("console-demo")
}

fn target_dir() -> PathBuf {
    support::root().join("target").join("console-demo")
}

/// Wait for `child`, killing it after `limit`; its stdout and stderr are read on other threads.
fn wait_with_limit(mut child: Child, limit: Duration, what: &str) -> Output {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {limit:?}, stopped\n--- stderr\n{}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `cargo build --locked` in the demo's folder, as the chapter tells the reader to run it.
fn build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let child = Command::new(cargo)
        .args(["build", "--locked", "--manifest-path"])
        .arg(package_dir().join("Cargo.toml"))
        .current_dir(package_dir())
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cargo");
    let output = wait_with_limit(child, BUILD_LIMIT, "cargo build of examples/console-demo");
    assert!(
        output.status.success(),
        "examples/console-demo did not build ({})\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("examples/console-demo built in {:.1?}", start.elapsed());
    let bin = target_dir()
        .join("debug")
        .join(format!("console-demo{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

#[test]
fn console_demo_builds_starts_serves_and_logs() {
    let bin = build();
    let port = free_port();
    let child = Command::new(&bin)
        .arg("2") // run for two seconds
        .current_dir(package_dir())
        .env("TOKIO_CONSOLE_BIND", format!("127.0.0.1:{port}"))
        .env_remove("RUST_LOG") // the demo's own default: info
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start console-demo");

    // The console's gRPC server accepts connections while the program runs: that is what
    // `tokio-console` connects to.
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let mut served = false;
    while start.elapsed() < Duration::from_millis(1500) {
        if TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200)).is_ok() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let output = wait_with_limit(child, RUN_LIMIT, "console-demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without --cfg tokio_unstable, console-subscriber panics at start-up: "task tracing
    // requires Tokio to be built with RUSTFLAGS=\"--cfg tokio_unstable\"!".
    assert!(
        output.status.success(),
        "console-demo failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(served, "nothing listened on {addr} (TOKIO_CONSOLE_BIND)\n{stdout}{stderr}");
    // The reader's own logs still arrive, through the fmt layer, at the default level info.
    assert!(
        stdout.contains("INFO") && stdout.contains("console-demo started"),
        "the start-up log line is missing:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("tick"), "the ticker task logged nothing:\n{stdout}");
    assert!(stdout.contains("console-demo done"), "the demo did not finish:\n{stdout}");
    // tokio's own trace events go to the console layer only, not into the logs.
    assert!(
        !stdout.contains("runtime.spawn") && !stdout.contains("TRACE"),
        "tokio's instrumentation leaked into the fmt layer:\n{stdout}"
    );
}

#[test]
fn chapter_shows_the_demo_set_up_as_it_is() {
    // The chapter prints the set-up as text (it needs a crate the Playground lacks); this keeps it
    // identical to the region `setup` of the program that is built and run above.
    let main = std::fs::read_to_string(package_dir().join("src/main.rs")).unwrap();
    let region: Vec<&str> = main
        .lines()
        .skip_while(|l| l.trim() != "// ANCHOR: setup")
        .skip(1)
        .take_while(|l| l.trim() != "// ANCHOR_END: setup")
        .collect();
    assert!(!region.is_empty(), "no ANCHOR: setup region in src/main.rs");
    let chapter = Path::new("src/part2/06d-common-bugs-and-debugging.md");
    let text = std::fs::read_to_string(support::root().join(chapter)).unwrap();
    assert!(
        text.contains(&region.join("\n")),
        "{} should show the set-up of examples/console-demo/src/main.rs as it is:\n{}",
        chapter.display(),
        region.join("\n")
    );
    let config = std::fs::read_to_string(package_dir().join(".cargo/config.toml")).unwrap();
    assert!(config.contains(r#"rustflags = ["--cfg", "tokio_unstable"]"#));
    assert!(text.contains(r#"rustflags = ["--cfg", "tokio_unstable"]"#));
}
