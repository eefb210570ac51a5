//! One tokio runtime per process, created on first use. After a `fork()` the child has none
//! of the parent's threads, so a child gets a fresh runtime (the parent's is leaked there:
//! dropping it would wait for threads that do not exist).

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime.
pub fn get() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock();
    match slot.as_ref() {
        Some((owner, rt)) if *owner == pid => rt.clone(),
        stale => {
            if let Some((_, parent)) = stale {
                std::mem::forget(parent.clone());
            }
            let rt = Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .thread_name("roster")
                    .enable_all()
                    .build()
                    .expect("a tokio runtime can be created"),
            );
            *slot = Some((pid, rt.clone()));
            rt
        }
    }
}

/// Runs `f` inside the process's runtime (what `Client::builder().build()` needs, as it
/// starts the connection task).
pub fn enter<T>(f: impl FnOnce() -> T) -> T {
    let rt = get();
    let _entered = rt.enter();
    f()
}
