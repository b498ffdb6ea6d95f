//! "Async vs threads vs processes" hands heavy CPU work to rayon's pool and awaits the answer on a
//! oneshot channel. A panic inside `rayon::spawn` goes to the pool's panic handler, and without
//! one rayon aborts the whole process. This test runs the chapter's pattern with a job that
//! panics, in a child process (an abort cannot be caught in-process), and checks that the async
//! side gets an error it can handle while the process carries on.

use std::process::Command;

// The chapter's helper, as the book shows it: the panic is caught on the pool's thread and
// sent back as the job's answer.
fn run_on_rayon<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> tokio::sync::oneshot::Receiver<std::thread::Result<T>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        let _ = tx.send(answer); // on rayon's pool
    });
    rx
}

fn child() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime.block_on(run_on_rayon(|| -> u64 { panic!("bad input") }));
    let answer = answer.expect("the sender always sends");
    println!(
        "job answered: {}",
        if answer.is_ok() {
            "a value"
        } else {
            "an error"
        }
    );
    println!("the service carries on");
}

#[test]
fn a_panicking_rayon_job_is_an_error_not_an_abort() {
    if std::env::var_os("RAYON_PANIC_CHILD").is_some() {
        return child();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panicking_rayon_job_is_an_error_not_an_abort",
            "--nocapture",
        ])
        .env("RAYON_PANIC_CHILD", "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("the service carries on"),
        "the process died: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("job answered: an error"), "{stdout}");
}
