//! Subscriber handles and push delivery.
//!
//! Each subscriber has a slot holding only its newest data (a `watch` channel): the
//! network task replaces it and moves on, so a slow consumer never stalls the connection
//! or other subscribers, and always reads the newest version next, never a stale one.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::client::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{DataInfoId, Scope, SubscriberData};

/// A subscriber's callback. It runs on tokio's blocking pool, one call at a time per
/// subscriber, so it may block or be slow; a panic is logged and later pushes still come.
pub type Callback = Arc<dyn Fn(Arc<SubscriberData>) + Send + Sync + 'static>;

pub(crate) struct Slot {
    /// Dropped on close, which ends every receiver's updates.
    tx: Mutex<Option<watch::Sender<Option<Arc<SubscriberData>>>>>,
    rx: watch::Receiver<Option<Arc<SubscriberData>>>,
}

impl Slot {
    pub fn new() -> Arc<Self> {
        let (tx, rx) = watch::channel(None);
        Arc::new(Self {
            tx: Mutex::new(Some(tx)),
            rx,
        })
    }

    /// Ends the updates and the callback; `peek` keeps the last data.
    pub fn close(&self) {
        self.tx.lock().take();
    }

    fn modify(&self, f: impl FnOnce(&mut Option<Arc<SubscriberData>>) -> bool) -> bool {
        self.tx
            .lock()
            .as_ref()
            .is_some_and(|tx| tx.send_if_modified(f))
    }

    /// Offers live data; taken only if newer than what the slot holds (data from the
    /// cache is always replaced by live data). Returns whether it was taken.
    pub fn offer(&self, data: Arc<SubscriberData>) -> bool {
        self.modify(|cur| {
            let newer = match cur {
                None => true,
                Some(c) => c.from_cache || data.version > c.version,
            };
            if newer {
                *cur = Some(data);
            }
            newer
        })
    }

    /// Offers data from the failover snapshot; taken only while nothing else was seen.
    pub fn offer_cached(&self, data: Arc<SubscriberData>) {
        self.modify(|cur| {
            let empty = cur.is_none();
            if empty {
                *cur = Some(data);
            }
            empty
        });
    }

    pub fn peek(&self) -> Option<Arc<SubscriberData>> {
        self.rx.borrow().clone()
    }

    /// Runs `callback` for every new version until the subscriber is closed.
    pub fn spawn_dispatcher(&self, callback: Callback) {
        let mut updates = self.updates();
        tokio::spawn(async move {
            while let Some(data) = updates.next().await {
                let cb = callback.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || cb(data)).await {
                    tracing::error!("a subscriber callback panicked: {e}");
                }
            }
        });
    }

    /// The current data (if any) first, then each newer version, until closed.
    pub fn updates(&self) -> Updates {
        let mut rx = self.rx.clone();
        if rx.borrow().is_some() {
            rx.mark_changed();
        }
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                rx.changed().await.ok()?;
                let current = rx.borrow_and_update().clone();
                if let Some(data) = current {
                    return Some((data, rx));
                }
            }
        });
        Updates {
            inner: Box::pin(stream),
        }
    }

    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&SubscriberData) -> bool,
    ) -> Result<Arc<SubscriberData>> {
        let mut rx = self.rx.clone();
        let waited =
            tokio::time::timeout(timeout, rx.wait_for(|d| d.as_deref().is_some_and(&pred)))
                .await
                .map(|r| r.map(|data| data.clone()));
        match waited {
            Ok(Ok(data)) => Ok(data.expect("checked by the predicate")),
            Ok(Err(_)) => Err(Error::shut_down()),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "no matching data within {timeout:?}; latest: {:?}",
                    self.peek()
                ),
            )),
        }
    }
}

/// The newest data of a subscriber as a stream: the current data first (if any), then each
/// newer version. Coalesced: a consumer that falls behind skips to the newest.
pub struct Updates {
    inner: Pin<Box<dyn Stream<Item = Arc<SubscriberData>> + Send>>,
}

impl Updates {
    /// The next newer data; `None` once the subscriber is unsubscribed or the client closed.
    pub async fn next(&mut self) -> Option<Arc<SubscriberData>> {
        self.inner.next().await
    }
}

impl Stream for Updates {
    type Item = Arc<SubscriberData>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscriber {
    pub(crate) inner: Arc<Inner>,
    pub(crate) regist_id: Arc<str>,
    pub(crate) key: DataInfoId,
    pub(crate) scope: Scope,
    pub(crate) slot: Arc<Slot>,
}

impl Subscriber {
    pub fn regist_id(&self) -> &str {
        &self.regist_id
    }

    pub fn data_info_id(&self) -> &DataInfoId {
        &self.key
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The latest data without waiting; `None` before the first push.
    pub fn peek(&self) -> Option<Arc<SubscriberData>> {
        self.slot.peek()
    }

    /// A stream of the newest data (see [`Updates`]).
    pub fn updates(&self) -> Updates {
        self.slot.updates()
    }

    /// Waits until the data satisfies `pred` (useful in tests), or times out.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&SubscriberData) -> bool,
    ) -> Result<Arc<SubscriberData>> {
        self.slot.wait_for(timeout, pred).await
    }

    /// Removes the subscription at the registry and ends its updates and callback.
    pub async fn unsubscribe(self) -> Result<()> {
        self.slot.close();
        self.inner.unregister(&self.regist_id).await
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.slot.close();
        self.inner.unregister_nowait(&self.regist_id);
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("regist_id", &self.regist_id)
            .field("data_info_id", &self.key.to_string())
            .field("scope", &self.scope)
            .finish()
    }
}
