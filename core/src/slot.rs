//! Push delivery: a subscriber's slot, the change sets of one push, and the updates stream.
//! Knows nothing of the engine: the engine, the resolver and the transports hand data in,
//! the user's handles read it out.
//!
//! Each subscriber has a slot holding only its newest data: the network task replaces it
//! and moves on, so a slow consumer never stalls the connection or other subscribers, and
//! always reads the newest version next, never a stale one. (A hand-made slot rather than
//! a `watch` channel: one lock and one wake per push matter when one change fans out to
//! ten thousand subscribers.)

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::{Stream, StreamExt};
use parking_lot::Mutex;

use crate::model::SubscriberData;

/// A subscriber's callback. It runs on tokio's blocking pool, one call at a time per
/// subscriber, so it may block or be slow; a panic is logged and later pushes still come.
pub type Callback = Arc<dyn Fn(Arc<SubscriberData>) + Send + Sync + 'static>;

#[derive(Default)]
struct SlotState {
    data: Option<Arc<SubscriberData>>,
    /// The version the source of `data` gave it: what later data of that source must be
    /// newer than (`data` itself may carry a higher one, see `Slot::offer_changed`).
    source_version: u64,
    /// The data an updates stream (a callback's included) last yielded: what the next
    /// data's change set is relative to.
    given: Option<Arc<SubscriberData>>,
    /// The next live data is taken whatever its version (it comes from another source
    /// after a subscribe-mode switch).
    rebased: bool,
    /// Bumped with every accepted change; readers remember the last one they saw.
    seq: u64,
    closed: bool,
    /// Readers waiting for the next change, woken (and dropped) by it. Usually there is
    /// one, kept inline so that a push allocates nothing.
    waker: Option<Waker>,
    more_wakers: Vec<Waker>,
}

impl SlotState {
    fn wait(&mut self, waker: &Waker) {
        match &self.waker {
            None => self.waker = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.more_wakers.iter().any(|w| w.will_wake(waker)) {
                    self.more_wakers.push(waker.clone());
                }
            }
        }
    }

    fn take_wakers(&mut self) -> (Option<Waker>, Vec<Waker>) {
        (self.waker.take(), std::mem::take(&mut self.more_wakers))
    }
}

/// `data`, or a copy of it at version `floor` when its version is lower.
fn at_least(data: Arc<SubscriberData>, floor: u64) -> Arc<SubscriberData> {
    if data.version >= floor {
        return data;
    }
    let mut copy = SubscriberData::clone(&data);
    copy.version = floor;
    Arc::new(copy)
}

fn wake((first, more): (Option<Waker>, Vec<Waker>)) {
    first.into_iter().chain(more).for_each(Waker::wake);
}

/// Pushed data and its change sets: one per distinct previous data, so the subscribers of
/// one push (which usually hold the same previous data) share one copy, and only a
/// subscriber whose consumer fell behind gets a copy of its own.
pub(crate) struct Changed {
    version: u64,
    /// The data as pushed, until the first subscriber takes it.
    fresh: Option<SubscriberData>,
    made: Vec<(Option<Arc<SubscriberData>>, Arc<SubscriberData>)>,
}

impl Changed {
    pub fn new(data: SubscriberData) -> Self {
        Changed {
            version: data.version,
            fresh: Some(data),
            made: Vec::new(),
        }
    }

    /// Data some subscribers hold already, pushed again (to a new subscriber of the same
    /// view): a subscriber without previous data shares that copy instead of a new one.
    /// `data` must be first data (see `SubscriberData::as_first_data`).
    pub fn held(data: Arc<SubscriberData>) -> Self {
        Changed {
            version: data.version,
            fresh: None,
            made: vec![(None, data)],
        }
    }

    fn version(&self) -> u64 {
        self.version
    }

    /// The data as the subscribers hold it (the first copy made), or as pushed when no
    /// subscriber took it.
    pub fn shared(self) -> Option<Arc<SubscriberData>> {
        let first = self.made.into_iter().next().map(|(_, d)| d);
        first.or_else(|| self.fresh.map(Arc::new))
    }

    /// The data with its change set relative to `base`.
    fn since(&mut self, base: Option<&Arc<SubscriberData>>) -> Arc<SubscriberData> {
        // The same previous data: the same allocation, or equal data (subscribers that
        // started from pushes of their own hold equal copies; once matched here they share
        // one again).
        let same = |b: &Option<Arc<SubscriberData>>| match (b, base) {
            (Some(b), Some(base)) => {
                Arc::ptr_eq(b, base)
                    || (b.version == base.version
                        && b.from_cache == base.from_cache
                        && b.zones == base.zones)
            }
            (None, None) => true,
            _ => false,
        };
        if let Some((_, d)) = self.made.iter().find(|(b, _)| same(b)) {
            return d.clone();
        }
        let mut data = match self.fresh.take() {
            Some(fresh) => fresh,
            None => SubscriberData::clone(&self.made[0].1),
        };
        data.set_changes_since(base.map(|b| &**b));
        let data = Arc::new(data);
        self.made.push((base.cloned(), data.clone()));
        data
    }
}

/// One subscriber's newest data. Its single lock also guards the waiting readers, so a
/// push costs one lock and one wake per reader.
#[derive(Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
}

impl Slot {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Ends the updates and the callback; `peek` keeps the last data.
    pub fn close(&self) {
        let wakers = {
            let mut st = self.state.lock();
            st.closed = true;
            st.take_wakers()
        };
        wake(wakers);
    }

    /// Replaces the data with what `make` builds from the data its change set is relative
    /// to, if `take` says so; `version` is the version its source gave it. `before_wake`
    /// runs (when taken) under the slot's lock, before any reader can see the new data: a
    /// reader polling on another thread may find it the moment the lock is released,
    /// without being woken.
    fn modify(
        &self,
        version: u64,
        take: impl FnOnce(&SlotState) -> bool,
        make: impl FnOnce(Option<&Arc<SubscriberData>>) -> Arc<SubscriberData>,
        before_wake: impl FnOnce(&Arc<SubscriberData>),
    ) -> bool {
        let wakers = {
            let mut st = self.state.lock();
            if st.closed || !take(&st) {
                return false;
            }
            let data = at_least(
                make(st.given.as_ref().or(st.data.as_ref())),
                st.data.as_ref().map_or(0, |d| d.version + 1),
            );
            before_wake(&data);
            st.rebased = false;
            st.data = Some(data);
            st.source_version = version;
            st.seq += 1;
            st.take_wakers()
        };
        wake(wakers);
        true
    }

    /// Offers live data (shared with the other subscribers of its push); taken only if
    /// newer than the last data of its source (data from the cache, or from before a
    /// rebase, is always replaced). The subscriber never goes back to an older version:
    /// data whose source's version is not above what the slot holds (the first data of
    /// another source after a subscribe-mode switch, or live data after cached data) is
    /// given the next version after it. Runs `before_wake` when taken, before the readers
    /// wake: what it records (the failover snapshot) is there for a reader that saw this
    /// data and closes the client at once. Returns whether it was taken.
    pub fn offer_changed(
        &self,
        data: &mut Changed,
        before_wake: impl FnOnce(&Arc<SubscriberData>),
    ) -> bool {
        let version = data.version();
        self.modify(
            version,
            |st| {
                st.rebased
                    || st
                        .data
                        .as_ref()
                        .is_none_or(|c| c.from_cache || version > st.source_version)
            },
            |base| data.since(base),
            before_wake,
        )
    }

    /// The next live data will be taken whatever its version.
    pub fn rebase(&self) {
        let mut st = self.state.lock();
        st.rebased = st.data.is_some();
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Offers data from the failover snapshot; taken only while nothing else was seen.
    pub fn offer_cached(&self, data: SubscriberData) {
        let version = data.version;
        let mut data = Changed::new(data);
        self.modify(
            version,
            |st| st.data.is_none(),
            |base| data.since(base),
            |_| {},
        );
    }

    pub fn peek(&self) -> Option<Arc<SubscriberData>> {
        self.state.lock().data.clone()
    }

    /// Runs `callback` for every new version until the subscriber is closed, on `runtime`.
    pub fn spawn_dispatcher(
        self: &Arc<Self>,
        callback: Callback,
        runtime: &tokio::runtime::Handle,
    ) {
        let mut updates = self.updates();
        runtime.spawn(async move {
            while let Some(data) = updates.next().await {
                let cb = callback.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || cb(data)).await {
                    tracing::error!("a subscriber callback panicked: {e}");
                }
            }
        });
    }

    /// The current data (if any) first, then each newer version, until closed.
    pub fn updates(self: &Arc<Self>) -> Updates {
        Updates {
            slot: self.clone(),
            seen: 0,
        }
    }

    /// The newest data once it satisfies `pred` (checked now, then at each change); `None`
    /// once the slot is closed without it.
    pub async fn wait_until(
        &self,
        pred: impl Fn(&SubscriberData) -> bool,
    ) -> Option<Arc<SubscriberData>> {
        std::future::poll_fn(|cx| {
            let mut st = self.state.lock();
            if let Some(d) = st.data.as_ref().filter(|d| pred(d)) {
                return Poll::Ready(Some(d.clone()));
            }
            if st.closed {
                return Poll::Ready(None);
            }
            st.wait(cx.waker());
            Poll::Pending
        })
        .await
    }
}

/// The newest data of a subscriber as a stream: the current data first (if any), then each
/// newer version. Coalesced: a consumer that falls behind skips to the newest.
pub struct Updates {
    slot: Arc<Slot>,
    /// The slot's change counter when this stream last yielded.
    seen: u64,
}

impl Updates {
    /// The next newer data; `None` once the subscriber is unsubscribed or the client closed.
    pub async fn next(&mut self) -> Option<Arc<SubscriberData>> {
        StreamExt::next(self).await
    }
}

impl Stream for Updates {
    type Item = Arc<SubscriberData>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut st = this.slot.state.lock();
        if st.seq > this.seen {
            if let Some(d) = st.data.clone() {
                this.seen = st.seq;
                st.given = Some(d.clone());
                return Poll::Ready(Some(d));
            }
        }
        if st.closed {
            return Poll::Ready(None);
        }
        st.wait(cx.waker());
        Poll::Pending
    }
}
