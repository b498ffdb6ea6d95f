//! Chapter 09 (Async functions in traits): the `trait-variant` crate writes the `Send` variant of a
//! trait with an `async fn`, so that generic code can `tokio::spawn` its futures.
//!
//!     cargo run --example trait_variant_store

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

// ANCHOR: variant
// Generates `trait Store: Send`, whose `get` returns `impl Future<...> + Send`, and
// `impl<T: Store> LocalStore for T`.
#[trait_variant::make(Store: Send)]
trait LocalStore {
    async fn get(&self, key: &str) -> Option<String>;
}

struct Remote {
    latency: Duration,
}

// Implement the Send variant; the blanket impl makes Remote a LocalStore too.
impl Store for Remote {
    async fn get(&self, key: &str) -> Option<String> {
        tokio::time::sleep(self.latency).await;
        Some(format!("{key}@remote"))
    }
}

// Generic, and spawns: S: Store promises Send futures.
fn spawn_get<S: Store + Sync + 'static>(store: Arc<S>, key: String) -> JoinHandle<Option<String>> {
    tokio::spawn(async move { store.get(&key).await })
}

// Generic over the local variant: no Send needed, so no spawn either.
async fn describe_local<S: LocalStore>(store: &S, key: &str) -> String {
    format!("local: {:?}", store.get(key).await)
}
// ANCHOR_END: variant

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let store = Arc::new(Remote {
        latency: Duration::from_millis(25),
    });
    let start = Instant::now();
    let a = spawn_get(Arc::clone(&store), "a".into());
    let b = spawn_get(Arc::clone(&store), "b".into());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let elapsed = start.elapsed();
    println!("{a:?} {b:?} in {elapsed:?}");
    // Both spawned lookups ran at the same time: 25 ms, not 50 ms.
    assert_eq!(
        (a.as_deref(), b.as_deref()),
        (Some("a@remote"), Some("b@remote"))
    );
    assert_eq!(elapsed, Duration::from_millis(25));

    let local = describe_local(store.as_ref(), "c").await;
    println!("{local}");
    assert_eq!(local, r#"local: Some("c@remote")"#);
}
