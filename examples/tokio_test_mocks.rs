//! `#[tokio::test]`, scripted I/O and hand-polled futures (chapter "Testing async code").
//!
//! Run with `cargo run --example tokio_test_mocks`: `main` talks to the greeter below over an
//! in-memory pipe and prints the conversation. The tests at the end of this file are the point:
//! `cargo test --test testing_tools_11` compiles this file as a module of that test and runs them
//! (`tokio_test_mocks::tests::...`). They use the `tokio-test` crate, which is not on the Rust
//! Playground: its `io::Builder` scripts what a peer sends and expects, and its `task::spawn`
//! polls a future by hand.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

// ANCHOR: greeter
/// The code under test: a line protocol. `HELLO name` is answered with `hi name`, anything
/// else with `error`; the conversation ends when the peer closes its side.
pub async fn greeter<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> std::io::Result<u32> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    let mut answered = 0;
    while let Some(line) = lines.next_line().await? {
        let reply = match line.strip_prefix("HELLO ") {
            Some(name) => format!("hi {name}\n"),
            None => "error\n".to_string(),
        };
        write.write_all(reply.as_bytes()).await?;
        answered += 1;
    }
    Ok(answered)
}
// ANCHOR_END: greeter

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (client, server) = tokio::io::duplex(64);
    let served = tokio::spawn(greeter(server));
    let (read, mut write) = tokio::io::split(client);
    let mut replies = BufReader::new(read).lines();
    for line in ["HELLO ada", "HELLO alan", "PING"] {
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let reply = replies.next_line().await.unwrap().unwrap();
        println!("> {line}\n< {reply}");
    }
    drop(write); // close our side: the greeter's loop ends
    drop(replies);
    println!("answered {}", served.await.unwrap().unwrap());
}

#[cfg(test)]
mod tests {
    use super::greeter;
    use std::time::Duration;
    use tokio::runtime::{Handle, RuntimeFlavor};

    // ANCHOR: flavors
    // Each #[tokio::test] builds its own runtime: a current_thread one by default.
    #[tokio::test]
    async fn default_flavor_is_current_thread() {
        assert_eq!(
            Handle::current().runtime_flavor(),
            RuntimeFlavor::CurrentThread
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn multi_thread_with_two_workers() {
        let handle = Handle::current();
        assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(handle.metrics().num_workers(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_hour_of_sleep_in_no_time() {
        let real = std::time::Instant::now();
        let virtual_start = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(virtual_start.elapsed(), Duration::from_secs(3600));
        assert!(
            real.elapsed() < Duration::from_secs(1),
            "{:?}",
            real.elapsed()
        );
    }
    // ANCHOR_END: flavors

    // ANCHOR: mock
    #[tokio::test]
    async fn greeter_follows_the_script() {
        // The peer's side of the conversation, in order: what it sends (read) and what it
        // expects back (write). Anything else panics.
        let mock = tokio_test::io::Builder::new()
            .read(b"HELLO ada\n")
            .write(b"hi ada\n")
            .read(b"PING\n")
            .write(b"error\n")
            .build();
        assert_eq!(greeter(mock).await.unwrap(), 2);
    }

    #[tokio::test]
    #[should_panic(expected = "failed: name=greeter")]
    async fn a_wrong_reply_fails_the_test() {
        let mock = tokio_test::io::Builder::new()
            .name("greeter")
            .read(b"HELLO ada\n")
            .write(b"hello ada\n") // the greeter writes "hi ada\n": the bytes differ
            .build();
        let _ = greeter(mock).await;
    }
    // ANCHOR_END: mock

    #[tokio::test]
    #[should_panic(expected = "unexpected write")]
    async fn an_unexpected_write_fails_the_test() {
        // The script has the peer send PING and expect nothing back; the greeter answers "error".
        let mock = tokio_test::io::Builder::new().read(b"PING\n").build();
        let _ = greeter(mock).await;
    }

    // ANCHOR: hand_polled
    #[test]
    fn polled_by_hand() {
        use tokio_test::{assert_pending, assert_ready_eq, task};
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
        // Sum the first two numbers that arrive.
        let mut sum = task::spawn(async move {
            let a = rx.recv().await.unwrap();
            let b = rx.recv().await.unwrap();
            a + b
        });
        assert_pending!(sum.poll()); // nothing sent: it waits
        tx.try_send(40).unwrap();
        assert!(sum.is_woken()); // the send woke the task...
        assert_pending!(sum.poll()); // ...which takes 40 and waits again
        tx.try_send(2).unwrap();
        assert_ready_eq!(sum.poll(), 42);
    }
    // ANCHOR_END: hand_polled

    // ANCHOR: cut_by_polls
    use tokio::sync::mpsc;

    /// Moves one item from `input` to `output`. Not cancellation-safe: cut while `output` is full,
    /// it has taken the item and loses it.
    async fn forward(input: &mut mpsc::Receiver<u32>, output: &mpsc::Sender<u32>) {
        if let Some(item) = input.recv().await {
            output.send(item).await.unwrap();
        }
    }

    /// The same move, made cancellation-safe: reserve room first, take the item last.
    async fn forward_reserved(input: &mut mpsc::Receiver<u32>, output: &mpsc::Sender<u32>) {
        let permit = output.reserve().await.unwrap();
        if let Some(item) = input.recv().await {
            permit.send(item); // no await between taking and putting
        }
    }

    /// Poll a fresh `forward` `polls` times, drop it, and say whether item 7 still exists.
    fn item_survives(polls: usize, reserved: bool) -> bool {
        use tokio_test::task;
        let (in_tx, mut input) = mpsc::channel(4);
        let (output, mut out_rx) = mpsc::channel(1);
        in_tx.try_send(7).unwrap();
        output.try_send(0).unwrap(); // `output` is full: forwarding has to wait
                                     // Poll `polls` times, then drop the future: the cut.
        if reserved {
            let mut fut = task::spawn(forward_reserved(&mut input, &output));
            for _ in 0..polls {
                let _ = fut.poll();
            }
        } else {
            let mut fut = task::spawn(forward(&mut input, &output));
            for _ in 0..polls {
                let _ = fut.poll();
            }
        }
        let mut left = Vec::new();
        while let Ok(v) = input.try_recv() {
            left.push(v);
        }
        while let Ok(v) = out_rx.try_recv() {
            left.push(v);
        }
        left.contains(&7)
    }

    #[test]
    fn forward_loses_the_item_when_cut_after_its_first_poll() {
        let survives: Vec<bool> = (0..4).map(|polls| item_survives(polls, false)).collect();
        assert_eq!(survives, [true, false, false, false]);
    }

    #[test]
    fn forward_reserved_keeps_the_item_at_every_cut() {
        for polls in 0..4 {
            assert!(
                item_survives(polls, true),
                "lost when cut after {polls} polls"
            );
        }
    }
    // ANCHOR_END: cut_by_polls
}
