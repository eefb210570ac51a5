//! `Publisher`, `Subscriber`, `Updates` and the listener foreign trait.

use std::sync::Arc;
use std::time::Duration;

use roster_bindings::dispatch::Dispatcher;
use roster_bindings::handles::{ClientHandle, PublisherHandle, SubscriberHandle};
use roster_core::Callback;

use crate::error::{ListenerError, Result};
use crate::on_runtime;
use crate::types::{MigrationStatus, PublisherState, SubscribeMode, SubscriberData};

/// Gets a subscription's data: the current data first, then each newer version. Implemented
/// in Kotlin or Swift. What it throws is logged; later pushes still come.
#[uniffi::export(with_foreign)]
pub trait SubscriberListener: Send + Sync {
    fn on_data(&self, data: SubscriberData) -> std::result::Result<(), ListenerError>;
}

/// The one thread that calls listeners.
static DISPATCHER: Dispatcher = Dispatcher::new("roster-listeners", |next| while next() {});

/// The core callback of a listener: runs it on the dispatcher thread and waits, so a slow
/// listener gets the newest data next.
pub(crate) fn listener_callback(
    listener: Arc<dyn SubscriberListener>,
    data_id: String,
) -> Callback {
    Arc::new(move |data| {
        let (listener, data_id) = (listener.clone(), data_id.clone());
        DISPATCHER.run_and_wait(Box::new(move || {
            if let Err(e) = listener.on_data(SubscriberData::from(&*data)) {
                tracing::warn!("the listener of {data_id} failed; later pushes still come: {e}");
            }
        }));
    })
}

/// One publisher: registered until `unregister()` or its client's shutdown, whether or not
/// this object is still referenced.
#[derive(uniffi::Object)]
pub struct Publisher {
    handle: PublisherHandle,
    /// Keeps the client's session while this publisher is referenced.
    _client: ClientHandle,
}

impl Publisher {
    pub(crate) fn new(handle: PublisherHandle, client: ClientHandle) -> Publisher {
        Publisher {
            handle,
            _client: client,
        }
    }
}

#[uniffi::export]
impl Publisher {
    pub fn regist_id(&self) -> String {
        self.handle.regist_id().to_owned()
    }

    /// `dataId#@#instanceId#@#group`.
    pub fn data_info_id(&self) -> String {
        self.handle.data_info_id().to_owned()
    }

    /// The version and data the client holds now; null once unregistered.
    pub fn current(&self) -> Option<PublisherState> {
        self.handle
            .current()
            .map(|(version, data)| PublisherState { version, data })
    }

    /// Replaces the data under a newer version.
    pub async fn republish(&self, data: Vec<String>) -> Result<()> {
        let republishing = self.handle.republish(data)?;
        Ok(on_runtime(republishing).await?)
    }

    /// Removes the publisher; later calls fail with `ShutDown`. A second call does nothing.
    pub async fn unregister(&self) -> Result<()> {
        Ok(on_runtime(self.handle.unregister()).await?)
    }
}

/// One subscriber: subscribed until `unsubscribe()` or its client's shutdown.
#[derive(uniffi::Object)]
pub struct Subscriber {
    handle: SubscriberHandle,
    _client: ClientHandle,
}

impl Subscriber {
    pub(crate) fn new(handle: SubscriberHandle, client: ClientHandle) -> Subscriber {
        Subscriber {
            handle,
            _client: client,
        }
    }
}

#[uniffi::export]
impl Subscriber {
    pub fn regist_id(&self) -> String {
        self.handle.regist_id().to_owned()
    }

    /// `dataId#@#instanceId#@#group`.
    pub fn data_info_id(&self) -> String {
        self.handle.data_info_id().to_owned()
    }

    /// The latest data without waiting; null before the first push.
    pub fn peek(&self) -> Option<SubscriberData> {
        self.handle.peek().map(|d| SubscriberData::from(&*d))
    }

    /// Waits for data newer than version `newer_than` (0: any); `Timeout` after `timeout_ms`.
    pub async fn wait_newer(&self, newer_than: u64, timeout_ms: u64) -> Result<SubscriberData> {
        let s = self.handle.get()?;
        let limit = Duration::from_millis(timeout_ms);
        let d = on_runtime(async move { s.wait_newer(newer_than, limit).await }).await?;
        Ok(SubscriberData::from(&*d))
    }

    /// A wait for data that the caller tests (Kotlin's `waitFor { }`): `next()` until the
    /// data satisfies it; `Timeout` once `timeout_ms` have passed, `ShutDown` once
    /// unsubscribed. The same rule and messages as every language's wait.
    pub fn wait(&self, timeout_ms: u64) -> Result<Arc<Wait>> {
        let w = self.handle.wait(Duration::from_millis(timeout_ms))?;
        Ok(Arc::new(Wait {
            inner: Arc::new(tokio::sync::Mutex::new(w)),
        }))
    }

    /// The data and each newer version, pulled one at a time (see `Updates`).
    pub fn updates(&self) -> Result<Arc<Updates>> {
        Ok(Arc::new(Updates {
            inner: tokio::sync::Mutex::new(self.handle.updates()?),
        }))
    }

    /// The subscribe mode in effect: its own, or else the client's.
    pub fn mode(&self) -> Result<SubscribeMode> {
        Ok(self.handle.mode()?.into())
    }

    pub fn migration_status(&self) -> Result<MigrationStatus> {
        Ok(self.handle.migration_status()?.into())
    }

    /// Switches this subscription's mode (null: follow the client's).
    pub async fn set_mode(&self, mode: Option<SubscribeMode>) -> Result<()> {
        let setting = self.handle.set_mode(mode.map(Into::into))?;
        Ok(on_runtime(setting).await?)
    }

    /// Removes the subscription; its listener gets no more data. A second call does nothing.
    pub async fn unsubscribe(&self) -> Result<()> {
        Ok(on_runtime(self.handle.unsubscribe()).await?)
    }
}

/// A subscription's data as a sequence: the current data first, then each newer version;
/// a reader that falls behind skips to the newest (Kotlin wraps it as a `Flow`).
#[derive(uniffi::Object)]
pub struct Updates {
    inner: tokio::sync::Mutex<roster_core::Updates>,
}

#[uniffi::export]
impl Updates {
    /// The next newer data, or null once the subscription ended. Cancelling the wait loses
    /// nothing (it needs no runtime: it only waits for the subscription's slot).
    pub async fn next(&self) -> Option<SubscriberData> {
        let mut updates = self.inner.lock().await;
        updates.next().await.map(|d| SubscriberData::from(&*d))
    }
}

/// A wait for data: see `Subscriber::wait`.
#[derive(uniffi::Object)]
pub struct Wait {
    inner: Arc<tokio::sync::Mutex<roster_core::Wait>>,
}

#[uniffi::export]
impl Wait {
    /// The data to test next: the current data first, then each newer version.
    pub async fn next(&self) -> Result<SubscriberData> {
        let w = self.inner.clone();
        let d = on_runtime(async move { w.lock().await.next().await }).await?;
        Ok(SubscriberData::from(&*d))
    }
}
