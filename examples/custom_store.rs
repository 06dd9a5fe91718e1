//! A store of one's own: `Counting`, a decorator that wraps any other store and counts
//! the calls that reach it — a [`StoreHook`] over [`Decorated`], which forwards every
//! call of every capability — checked by the whole conformance suite of the `testing`
//! feature (`exit3::testing::run_all`).
//!
//! Run with `cargo run --example custom_store --features testing`. It runs every
//! conformance function on a fresh `Counting` over a `MemoryStore` and prints the call
//! counts; a failed guarantee panics (that is how the suite reports).

use std::{
    collections::BTreeMap,
    error::Error as StdError,
    sync::{Arc, Mutex, PoisonError},
};

use exit3::{
    DynStore, MemoryStore,
    store::{Decorated, StoreCall, StoreError, StoreHook},
    testing,
};

/// Counts the calls of each store method (shared by every store it decorates).
#[derive(Debug, Default, Clone)]
struct Counting(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl StoreHook for Counting {
    fn after(&self, call: StoreCall, _: Result<(), &StoreError>) {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(call.as_str())
            .or_default() += 1;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    let counting = Counting::default();
    let ran = testing::run_all(|| {
        let hook = counting.clone();
        async move {
            let store: DynStore = Arc::new(Decorated::new(Arc::new(MemoryStore::new()), hook));
            store
        }
    })
    .await;
    for name in &ran {
        println!("ok   {name}");
    }
    let totals = counting
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    println!(
        "Counting over MemoryStore passed all {} conformance functions; calls that reached it:",
        ran.len()
    );
    for (method, n) in &totals {
        println!("  {method:<18} {n}");
    }
    if totals.get("insert_lead").copied().unwrap_or(0) == 0 {
        return Err("the decorator saw no inserts: it is not in the path".into());
    }
    Ok(())
}
