//! The node's background work besides serving: the end of a single node's warm-up, and the
//! periodic collection of unreferenced revisions.

use std::sync::Arc;

use roster_proto::v1::{self, command::Op};

use crate::apply;
use crate::replica::Shared;

/// Ends a single node's warm-up after `Config::warmup` (subscribers get their first pushes
/// then, once the clients that were registered before a restart had time to redo).
pub(crate) async fn end_warmup(s: Arc<Shared>) {
    tokio::select! {
        _ = s.shutdown.cancelled() => {}
        _ = tokio::time::sleep(s.replica.config.warmup) => {
            let fx = {
                let mut reg = s.replica.registry.lock();
                let mut fx = reg.end_warmup();
                fx.deliver();
                fx
            };
            apply::record(&s.replica, &fx);
            tracing::info!(pushes = fx.pushes, "warm-up over");
        }
    }
}

/// Garbage-collects unreferenced revisions, checking every half `revision_gc_after`
/// (at most every 10 s).
pub(crate) async fn collect_revisions(shared: Arc<Shared>) {
    let after = shared.replica.config.revision_gc_after;
    let every = (after / 2).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(10),
    );
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if shared.cluster.get().is_some_and(|c| !c.is_leader()) {
            continue; // the leader proposes it for everyone
        }
        let after_us = after.as_micros().try_into().unwrap_or(u64::MAX);
        let op = Op::Collect(v1::CollectRevisions { after_us });
        if let Err(status) = shared.submit(op).await {
            tracing::debug!(%status, "revision collection not applied");
        }
    }
}
