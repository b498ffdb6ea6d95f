//! Exercise 10 (Async functions in traits, and async closures), solution: a plug-in pipeline.
//!
//!     cargo run --example exercise10_solution
//!
//! Four parts, each checked by `main`:
//! 1. spawn: `Source::fetch` promises a `Send` future, so the generic `fetch_all` can spawn it;
//! 2. dyn: `DynSource` boxes the future, so mixed sources fit in one `Vec<Box<dyn DynSource>>`;
//! 3. retry: `retry` takes an `AsyncFnMut`, so the async closure can count its own calls;
//! 4. tree: the recursive `sum_tree` boxes its recursive call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// Something that fetches a record by number.
trait Source {
    // Part 1: written out as `impl Future + Send` (instead of `async fn`), so that every
    // implementation's future is promised to be `Send`, and generic callers may spawn it.
    fn fetch(&self, key: u32) -> impl Future<Output = String> + Send;
}

/// Answers at once.
struct Fast;

/// Takes 10 ms per unit of the key.
struct Slow;

impl Source for Fast {
    async fn fetch(&self, key: u32) -> String {
        format!("fast:{key}")
    }
}

impl Source for Slow {
    async fn fetch(&self, key: u32) -> String {
        sleep(Duration::from_millis(10 * u64::from(key))).await;
        format!("slow:{key}")
    }
}

/// Part 1: fetch every key on its own task, and return the records in the order of `keys`.
async fn fetch_all<S>(source: Arc<S>, keys: Vec<u32>) -> Vec<String>
where
    S: Source + Send + Sync + 'static,
{
    let handles: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let source = Arc::clone(&source);
            tokio::spawn(async move { source.fetch(key).await })
        })
        .collect();
    let mut records = Vec::new();
    for handle in handles {
        records.push(handle.await.expect("a fetch task panicked"));
    }
    records
}

/// Part 2: a dyn-compatible `Source`. The boxed future is one type for every implementation.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

trait DynSource: Send + Sync {
    fn fetch_boxed(&self, key: u32) -> BoxFuture<'_, String>;
}

impl<T: Source + Send + Sync> DynSource for T {
    fn fetch_boxed(&self, key: u32) -> BoxFuture<'_, String> {
        Box::pin(self.fetch(key))
    }
}

/// Part 3: call `op` until it succeeds, at most `attempts` times; return the last error otherwise.
async fn retry<T>(
    attempts: u32,
    mut op: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let mut last = Err("no attempt was made".to_string());
    for _ in 0..attempts {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) => last = Err(e),
        }
    }
    last
}

/// A tree of record keys.
struct Tree {
    key: u32,
    children: Vec<Tree>,
}

fn leaf(key: u32) -> Tree {
    Tree {
        key,
        children: vec![],
    }
}

/// Part 4: fetch every node of `tree`; return (nodes visited, total length of their records).
async fn sum_tree<S: Source>(source: &S, tree: &Tree) -> (usize, usize) {
    let mut nodes = 1;
    let mut bytes = source.fetch(tree.key).await.len();
    for child in &tree.children {
        // The box gives the recursive future a known size (Rust 1.77 or later).
        let (n, b) = Box::pin(sum_tree(source, child)).await;
        nodes += n;
        bytes += b;
    }
    (nodes, bytes)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // 1. spawn
    let start = Instant::now();
    let records = fetch_all(Arc::new(Slow), vec![1, 2, 3, 4, 5]).await;
    let elapsed = start.elapsed();
    assert_eq!(records, ["slow:1", "slow:2", "slow:3", "slow:4", "slow:5"]);
    // Concurrent: the longest fetch (50 ms), not the sum (150 ms).
    assert_eq!(
        elapsed,
        Duration::from_millis(50),
        "fetch_all took {elapsed:?}"
    );
    println!("spawn: {} records in {elapsed:?}", records.len());

    // 2. dyn
    let sources: Vec<Box<dyn DynSource>> = vec![Box::new(Fast), Box::new(Slow)];
    let mut answers = Vec::new();
    for source in &sources {
        answers.push(source.fetch_boxed(3).await);
    }
    assert_eq!(answers, ["fast:3", "slow:3"]);
    println!("dyn: {answers:?}");

    // 3. retry
    let mut calls = 0;
    let result = retry(5, async || {
        calls += 1;
        tokio::task::yield_now().await;
        if calls < 3 {
            Err(format!("failure {calls}"))
        } else {
            Ok(calls)
        }
    })
    .await;
    assert_eq!(result, Ok(3));
    assert_eq!(calls, 3, "the closure counted its own calls");
    println!("retry: ok after {calls} calls");

    // 4. tree
    let tree = Tree {
        key: 1,
        children: vec![
            leaf(2),
            Tree {
                key: 3,
                children: vec![leaf(4), leaf(5)],
            },
            leaf(6),
        ],
    };
    let (nodes, bytes) = sum_tree(&Fast, &tree).await;
    assert_eq!(
        (nodes, bytes),
        (6, 36),
        "six records of six bytes (\"fast:N\")"
    );
    println!("tree: {nodes} nodes, {bytes} bytes");
}
