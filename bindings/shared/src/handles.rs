//! Held registrations. In a garbage-collected host a publisher or subscriber lives until
//! `unregister()` / `unsubscribe()` or its client's close, not until its host object is
//! collected (which would make registrations depend on the collector): the client keeps
//! every handle's core object in its `Held` table, and a handle's host object only refers to
//! it. A call on a handle that was unregistered, or whose client closed, is `SHUT_DOWN`.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use roster_core::{
    Callback, Client, Error, ErrorKind, MigrationStatus, Publisher, Result, SubscribeMode,
    Subscriber, SubscriberData, Updates, Wait,
};

use crate::registration::{PublishOptions, SubscribeOptions};

/// What a client holds for its host, by registId.
#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>>);

impl Held {
    fn keep(&self, regist_id: &str, obj: Arc<dyn Any + Send + Sync>) {
        self.0.lock().insert(regist_id.to_owned(), obj);
    }

    fn forget(&self, regist_id: &str) {
        self.0.lock().remove(regist_id);
    }

    /// How many registrations are held.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A client with the table of what it holds for its host.
#[derive(Clone)]
pub struct ClientHandle {
    client: Client,
    held: Held,
}

impl ClientHandle {
    pub fn new(client: Client) -> ClientHandle {
        ClientHandle {
            client,
            held: Held::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn held(&self) -> &Held {
        &self.held
    }

    /// Publishes; the handle is held until unregistered or the client closes.
    pub fn publish(
        &self,
        data_id: String,
        data: Vec<String>,
        options: PublishOptions,
    ) -> impl Future<Output = Result<PublisherHandle>> + Send + 'static {
        // Registered now (operations apply in call order); the future waits for the ack.
        let reg = options.registration(data_id, data);
        let (publishing, held) = (self.client.publish(reg), self.held.clone());
        async move {
            let p = Arc::new(publishing.await?);
            Ok(Handle::new(p, held))
        }
    }

    /// Subscribes, with a callback run off the network tasks when given.
    pub fn subscribe(
        &self,
        data_id: String,
        options: SubscribeOptions,
        callback: Option<Callback>,
    ) -> impl Future<Output = Result<SubscriberHandle>> + Send + 'static {
        let held = self.held.clone();
        let reg = options.registration(data_id);
        let subscribing: std::pin::Pin<Box<dyn Future<Output = Result<Subscriber>> + Send>> =
            match callback {
                None => Box::pin(self.client.subscribe(reg)),
                Some(cb) => Box::pin(self.client.subscribe_with(reg, move |d| cb(d))),
            };
        async move { Ok(Handle::new(Arc::new(subscribing.await?), held)) }
    }

    /// Unregisters everything, closes the session, and lets go of every handle.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        let (c, held) = (self.client.clone(), self.held.clone());
        async move {
            c.close().await;
            held.0.lock().clear();
        }
    }
}

/// What a handle names and how it reads once closed.
pub trait Registration: Send + Sync + 'static {
    const WHAT: &'static str;
    const CLOSED: &'static str;
    fn regist_id(&self) -> &str;
    fn data_info_id(&self) -> String;
}

impl Registration for Publisher {
    const WHAT: &'static str = "publisher";
    const CLOSED: &'static str = "unregistered";
    fn regist_id(&self) -> &str {
        Publisher::regist_id(self)
    }
    fn data_info_id(&self) -> String {
        Publisher::data_info_id(self).to_string()
    }
}

impl Registration for Subscriber {
    const WHAT: &'static str = "subscriber";
    const CLOSED: &'static str = "unsubscribed";
    fn regist_id(&self) -> &str {
        Subscriber::regist_id(self)
    }
    fn data_info_id(&self) -> String {
        Subscriber::data_info_id(self).to_string()
    }
}

/// A host's handle on one registration. Shared with calls in flight; empty once closed.
pub struct Handle<T: Registration> {
    inner: Mutex<Option<Arc<T>>>,
    regist_id: String,
    data_info_id: String,
    held: Held,
}

pub type PublisherHandle = Handle<Publisher>;
pub type SubscriberHandle = Handle<Subscriber>;

impl<T: Registration> Handle<T> {
    fn new(obj: Arc<T>, held: Held) -> Handle<T> {
        held.keep(obj.regist_id(), obj.clone());
        Handle {
            regist_id: obj.regist_id().to_owned(),
            data_info_id: obj.data_info_id(),
            inner: Mutex::new(Some(obj)),
            held,
        }
    }

    pub fn regist_id(&self) -> &str {
        &self.regist_id
    }

    /// `dataId#@#instanceId#@#group`.
    pub fn data_info_id(&self) -> &str {
        &self.data_info_id
    }

    /// The core object, or `SHUT_DOWN` once closed.
    pub fn get(&self) -> Result<Arc<T>> {
        self.inner.lock().clone().ok_or_else(|| {
            Error::new(
                ErrorKind::ShutDown,
                format!("{} {} is {}", T::WHAT, self.regist_id, T::CLOSED),
            )
        })
    }

    /// Takes the core object out (the handle is closed from now on): `Some` the first time.
    fn take(&self) -> Option<Arc<T>> {
        let taken = self.inner.lock().take();
        if taken.is_some() {
            self.held.forget(&self.regist_id);
        }
        taken
    }

    pub fn is_closed(&self) -> bool {
        self.inner.lock().is_none()
    }
}

impl Handle<Publisher> {
    /// `(version, data)` as the client holds it, `None` once unregistered.
    pub fn current(&self) -> Option<(u64, Vec<String>)> {
        self.inner.lock().as_ref().and_then(|p| p.current())
    }

    pub fn republish(
        &self,
        data: Vec<String>,
    ) -> Result<impl Future<Output = Result<()>> + Send + 'static> {
        // Applied now, in call order; the future waits for the registry.
        Ok(self.get()?.republish(data))
    }

    /// Removes the publisher; later calls are `SHUT_DOWN`. A second call does nothing.
    pub fn unregister(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let unregistering = match self.take().map(Arc::try_unwrap) {
            Some(Ok(p)) => Some(p.unregister()),
            // None: already unregistered. Err: a call in flight still holds it; the core
            // object unregisters when that ends.
            None | Some(Err(_)) => None,
        };
        async move {
            match unregistering {
                Some(u) => u.await,
                None => Ok(()),
            }
        }
    }
}

impl Handle<Subscriber> {
    /// The latest data, `None` before the first push or once unsubscribed.
    pub fn peek(&self) -> Option<Arc<SubscriberData>> {
        self.inner.lock().as_ref().and_then(|s| s.peek())
    }

    pub fn updates(&self) -> Result<Updates> {
        Ok(self.get()?.updates())
    }

    /// A wait for data the host tests itself: `wait.next()` until its predicate holds (see
    /// `roster_core::Subscriber::wait`; the rule and the messages are the core's).
    pub fn wait(&self, timeout: std::time::Duration) -> Result<Wait> {
        Ok(self.get()?.wait(timeout))
    }

    pub fn mode(&self) -> Result<SubscribeMode> {
        Ok(self.get()?.mode())
    }

    pub fn migration_status(&self) -> Result<MigrationStatus> {
        Ok(self.get()?.migration_status())
    }

    pub fn set_mode(
        &self,
        mode: Option<SubscribeMode>,
    ) -> Result<impl Future<Output = Result<()>> + Send + 'static> {
        Ok(self.get()?.set_mode(mode))
    }

    /// Removes the subscriber (its updates end); later calls are `SHUT_DOWN`.
    pub fn unsubscribe(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let unsubscribing = match self.take().map(Arc::try_unwrap) {
            Some(Ok(s)) => Some(s.unsubscribe()),
            None | Some(Err(_)) => None,
        };
        async move {
            match unsubscribing {
                Some(u) => u.await,
                None => Ok(()),
            }
        }
    }
}

/// Handles a host holds by number (Java's `long`, C's opaque ids): a number that was freed,
/// or never given, is simply not found, so a late or double call is an error, never a use
/// after free; an operation in flight keeps its own `Arc`.
pub struct Ids<T> {
    items: Mutex<HashMap<u64, Arc<T>>>,
    next: std::sync::atomic::AtomicU64,
}

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids {
            items: Mutex::new(HashMap::new()),
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }
}

impl<T> Ids<T> {
    /// Keeps `item`; its number is never 0 and never reused.
    pub fn insert(&self, item: T) -> u64 {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.items.lock().insert(id, Arc::new(item));
        id
    }

    pub fn get(&self, id: u64) -> Option<Arc<T>> {
        self.items.lock().get(&id).cloned()
    }

    /// Lets go of it (the item is dropped once no operation in flight holds it).
    pub fn remove(&self, id: u64) -> Option<Arc<T>> {
        self.items.lock().remove(&id)
    }

    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
