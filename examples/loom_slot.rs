//! A one-shot slot checked with loom (chapter "Testing async code").
//!
//! Run with `cargo run --example loom_slot -- [fixed|relaxed]`. One thread writes a value into the
//! slot and raises its `ready` flag; the other thread takes the value once it sees the flag. Inside
//! `loom::model`, loom runs the two threads again and again, once for every interleaving and every
//! outcome the C11 memory model allows for their atomic operations, and it tracks which accesses
//! to the slot's `UnsafeCell` are ordered by a happens-before edge.
//!
//! `fixed` (the default) raises the flag with `Release` and reads it with `Acquire`: every
//! execution passes, and the program prints how many it explored. `relaxed` uses `Relaxed` for
//! both: the reader may see the flag before the value's write is visible to it, loom finds an
//! execution where that happens, and the program panics with loom's "Causality violation" (exit
//! status 101).

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::sync::atomic::AtomicUsize; // std's own: counts executions, outside loom's model

// ANCHOR: slot
/// A slot written once by one thread and read by another.
struct Slot {
    ready: AtomicBool,
    value: UnsafeCell<u64>,
}

// SAFETY: `value` is written only before `ready` is raised and read only after it is seen raised;
// that is exactly the claim loom checks.
unsafe impl Sync for Slot {}

impl Slot {
    fn new() -> Self {
        Slot {
            ready: AtomicBool::new(false),
            value: UnsafeCell::new(0),
        }
    }

    /// Write the value, then raise the flag with `raise` ordering.
    fn publish(&self, v: u64, raise: Ordering) {
        self.value.with_mut(|p| unsafe { *p = v });
        self.ready.store(true, raise);
    }

    /// The value, if the flag (read with `look` ordering) is up.
    fn take(&self, look: Ordering) -> Option<u64> {
        if self.ready.load(look) {
            Some(self.value.with(|p| unsafe { *p }))
        } else {
            None
        }
    }
}
// ANCHOR_END: slot

static EXECUTIONS: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: model
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "fixed".into());
    let (raise, look) = match mode.as_str() {
        "fixed" => (Ordering::Release, Ordering::Acquire),
        "relaxed" => (Ordering::Relaxed, Ordering::Relaxed),
        other => panic!("unknown mode {other:?}: use fixed or relaxed"),
    };
    let started = std::time::Instant::now();

    loom::model(move || {
        EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = Arc::new(Slot::new());
        let writer = {
            let slot = slot.clone();
            thread::spawn(move || slot.publish(42, raise))
        };
        // The reader races the writer: it sees nothing yet, or the whole value.
        if let Some(v) = slot.take(look) {
            assert_eq!(v, 42);
        }
        writer.join().unwrap();
        assert_eq!(slot.take(look), Some(42)); // after join, the value is there
    });

    let n = EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed);
    println!("{mode}: {n} executions explored, every one passed");
    eprintln!("({} ms of real time)", started.elapsed().as_millis());
}
// ANCHOR_END: model
