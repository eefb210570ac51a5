//! The client: the table of live registrations (the truth that every reconnect redoes)
//! and the operations on it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use roster_proto::rules::{self, Limits};
use roster_proto::v1::{self, client_frame::Body, AckCode};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{ClientBuilder, ClientConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::members::Members;
use crate::model::{
    DataInfoId, MigrationStatus, PublishMode, PublisherRegistration, Scope, SubscribeMode,
    SubscriberData, SubscriberRegistration,
};
use crate::publisher::Publisher;
use crate::publishing::{self, AppPublisher};
use crate::resolver::{AppWatch, Plan, UserSub};
use crate::snapshot::Snapshots;
use crate::subscriber::{Callback, Slot, Subscriber};
use roster_proto::appmeta::AppMetadata;
use roster_proto::appmeta::{APP_GROUP, MAPPING_GROUP};
use roster_proto::v1::registry_client::RegistryClient;
use tonic::transport::Channel;

/// One live registration, as the client will redo it.
pub(crate) enum Entry {
    Publisher {
        key: DataInfoId,
        version: u64,
        data: Vec<String>,
        /// Whether the registry holds it at interface level (see `publishing.rs`).
        on_server: bool,
    },
    Subscriber {
        key: DataInfoId,
        version: u64,
        scope: Scope,
        slot: Arc<Slot>,
        /// Ask the registry for server-side conversion (force-interface subscriptions).
        convert: bool,
        /// A user's subscription (kept in the failover snapshot), not a resolver's own.
        user: bool,
    },
}

impl Entry {
    /// The frame that (re-)registers this entry at its current version.
    pub(crate) fn frame(&self, regist_id: &str) -> Body {
        match self {
            Entry::Publisher {
                key, version, data, ..
            } => Body::Publish(v1::Publish {
                regist_id: regist_id.to_owned(),
                key: Some(key.to_proto()),
                version: *version,
                data: data
                    .iter()
                    .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
                    .collect(),
            }),
            Entry::Subscriber {
                key,
                version,
                scope,
                convert,
                ..
            } => Body::Subscribe(v1::Subscribe {
                regist_id: regist_id.to_owned(),
                key: Some(key.to_proto()),
                version: *version,
                scope: scope.to_proto().into(),
                convert_application: *convert,
            }),
        }
    }
}

pub(crate) struct State {
    pub regs: HashMap<Arc<str>, Entry>,
    /// The current session stream, while connected.
    pub session: Option<mpsc::UnboundedSender<v1::ClientFrame>>,
    /// Operations waiting for their ack, by request id. Cleared when a session ends, which
    /// tells the waiters their frame will be redone instead.
    pub pending: HashMap<u64, oneshot::Sender<v1::Ack>>,
    /// The registry's limits, from its Welcome (defaults before the first one).
    pub limits: Limits,
    pub publish_mode: PublishMode,
    pub app: AppPublisher,
    pub subscribe_mode: SubscribeMode,
    /// For unary calls (revisions) while connected.
    pub grpc: Option<RegistryClient<Channel>>,
}

pub(crate) struct Inner {
    pub config: ClientConfig,
    pub client_id: String,
    pub state: Mutex<State>,
    pub members: Members,
    pub snapshots: Option<Arc<Snapshots>>,
    pub connected: watch::Sender<bool>,
    pub closed: CancellationToken,
    /// Revision metadata seen so far, by revision (checked against its hash).
    pub revisions: Mutex<HashMap<String, Arc<AppMetadata>>>,
    /// Application watches shared by the resolvers (see `resolver.rs`).
    pub app_watches: Mutex<HashMap<(DataInfoId, Scope), Weak<AppWatch>>>,
    /// Every user subscription, for client-wide subscribe-mode changes.
    user_subs: Mutex<Vec<Weak<UserSub>>>,
    /// Why the last connection attempt failed, for `wait_connected`'s error.
    pub last_error: Mutex<Option<String>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    next_request: AtomicU64,
}

/// A frame's request id and the receiver of its ack.
pub(crate) type Waiting = (u64, oneshot::Receiver<v1::Ack>);

/// How an operation's frame fared.
enum Sent {
    /// No session: the frame will go out with the next redo.
    Queued,
    Acked(v1::Ack),
    TimedOut,
}

fn ack_result(ack: &v1::Ack) -> Result<()> {
    let kind = match AckCode::try_from(ack.code) {
        Ok(AckCode::Ok | AckCode::Stale) => return Ok(()),
        Ok(AckCode::InvalidArgument | AckCode::LimitExceeded) => ErrorKind::InvalidArgument,
        // An unregister that never reached the registry (sent before the session that
        // would have carried it): what it asked for is true.
        Ok(AckCode::NotFound) => return Ok(()),
        Ok(AckCode::Internal) => ErrorKind::Internal,
        Err(_) => ErrorKind::Refused,
    };
    Err(Error::new(
        kind,
        format!("the registry refused {}: {}", ack.regist_id, ack.message),
    ))
}

impl Inner {
    /// Queues `body` on the current session. With `want_ack`, returns its request id and
    /// the receiver of its ack; `None` when there is no session (the redo will send it).
    pub(crate) fn send_locked(
        &self,
        st: &mut State,
        body: Body,
        want_ack: bool,
    ) -> Option<Waiting> {
        let tx = st.session.as_ref()?;
        let request_id = if want_ack {
            self.next_request.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        if tx
            .send(v1::ClientFrame {
                request_id,
                body: Some(body),
            })
            .is_err()
        {
            return None;
        }
        want_ack.then(|| {
            let (ack_tx, ack_rx) = oneshot::channel();
            st.pending.insert(request_id, ack_tx);
            (request_id, ack_rx)
        })
    }

    async fn await_ack(&self, waiting: Option<Waiting>) -> Sent {
        let Some((request_id, rx)) = waiting else {
            return Sent::Queued;
        };
        match tokio::time::timeout(self.config.request_timeout, rx).await {
            Ok(Ok(ack)) => Sent::Acked(ack),
            Ok(Err(_)) => Sent::Queued, // the session ended; the redo re-sends it
            Err(_) => {
                self.state.lock().pending.remove(&request_id);
                Sent::TimedOut
            }
        }
    }

    fn timeout_error(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "the registry did not acknowledge {what} within {:?}",
                self.config.request_timeout
            ),
        )
    }

    fn key(&self, mut key: DataInfoId, instance_id_set: bool) -> DataInfoId {
        if !instance_id_set {
            key.instance_id = self.config.instance_id.clone();
        }
        key
    }

    fn new_regist_id() -> Arc<str> {
        uuid::Uuid::new_v4().to_string().into()
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.is_cancelled() {
            Err(Error::shut_down())
        } else {
            Ok(())
        }
    }

    /// Waits for the acks of `waits`; the first refusal or time-out is the result. A frame
    /// whose session ended is redone on the next one, which counts as success.
    pub(crate) async fn await_all(&self, waits: Vec<Waiting>, what: &str) -> Result<()> {
        let mut result = Ok(());
        for waiting in waits {
            let outcome = match self.await_ack(Some(waiting)).await {
                Sent::Queued => Ok(()),
                Sent::Acked(ack) => ack_result(&ack),
                Sent::TimedOut => Err(self.timeout_error(what)),
            };
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }

    /// Adds a new entry and waits for the registry; a refused or unanswered registration
    /// is withdrawn so that no registration outlives the error its caller saw.
    async fn register(&self, id: &Arc<str>, entry: Entry, what: &str) -> Result<()> {
        let waits = {
            let mut st = self.state.lock();
            let body = entry.frame(id);
            let publisher = matches!(entry, Entry::Publisher { .. });
            st.regs.insert(id.clone(), entry);
            if publisher {
                self.sync_publisher(&mut st, id)
            } else {
                self.send_locked(&mut st, body, true).into_iter().collect()
            }
        };
        let outcome = self.await_all(waits, what).await;
        if outcome.is_err() {
            self.unregister_nowait(id);
        }
        outcome
    }

    pub async fn republish(&self, id: &Arc<str>, data: Vec<String>) -> Result<()> {
        self.check_open()?;
        let (waits, version, old) = {
            let mut st = self.state.lock();
            rules::check_data(&data, &st.limits)?;
            let Some(Entry::Publisher {
                version,
                data: current,
                ..
            }) = st.regs.get_mut(id)
            else {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("publisher {id} is unregistered"),
                ));
            };
            *version += 1;
            let (v, old) = (*version, std::mem::replace(current, data));
            (self.sync_publisher(&mut st, id), v, old)
        };
        let result = self.await_all(waits, "the republish").await;
        if matches!(&result, Err(e) if e.kind() != ErrorKind::Timeout) {
            // Refused: put the old data back (under a newer version, so that the registry
            // takes it again). After a time-out the new data stays: the redo settles it.
            let mut st = self.state.lock();
            if let Some(Entry::Publisher {
                version: v, data, ..
            }) = st.regs.get_mut(id)
            {
                if *v == version {
                    *data = old;
                    *v += 1;
                    self.sync_publisher(&mut st, id);
                }
            }
        }
        result
    }

    pub fn publisher_state(&self, id: &Arc<str>) -> Option<(u64, Vec<String>)> {
        match self.state.lock().regs.get(id) {
            Some(Entry::Publisher { version, data, .. }) => Some((*version, data.clone())),
            _ => None,
        }
    }

    /// Removes an entry from the table and sends what tells the registry; `None` when
    /// there was no such entry.
    pub(crate) fn remove_locked(&self, st: &mut State, id: &Arc<str>) -> Option<Vec<Waiting>> {
        let entry = st.regs.remove(id)?;
        let mut waits = Vec::new();
        match entry {
            Entry::Subscriber { slot, version, .. } => {
                slot.close();
                waits.extend(self.send_locked(st, publishing::unregister(id, version + 1), true));
            }
            Entry::Publisher {
                version, on_server, ..
            } => {
                if on_server {
                    waits.extend(self.send_locked(
                        st,
                        publishing::unregister(id, version + 1),
                        true,
                    ));
                }
                waits.extend(self.sync_app(st));
            }
        }
        Some(waits)
    }

    /// Removes an entry and tells the registry, waiting for its answer.
    pub async fn unregister(&self, id: &Arc<str>) -> Result<()> {
        self.check_open()?;
        let waits = self
            .remove_locked(&mut self.state.lock(), id)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("registration {id} is already unregistered"),
                )
            })?;
        self.await_all(waits, "the unregister").await
    }

    /// Removes an entry without waiting (handles dropped). A frame that does not reach the
    /// registry is settled by the next redo, which drops whatever was not re-sent.
    pub fn unregister_nowait(&self, id: &Arc<str>) {
        self.remove_locked(&mut self.state.lock(), id);
    }

    /// Delivers a push to the subscribers it names.
    pub fn on_push(&self, push: &v1::Push) {
        let scope = match v1::Scope::try_from(push.scope) {
            Ok(v1::Scope::Zone) => Scope::Zone,
            Ok(v1::Scope::DataCenter) => Scope::DataCenter,
            _ => Scope::Global,
        };
        let data = Arc::new(SubscriberData::from_push(push, scope));
        let mut taken = false;
        {
            let st = self.state.lock();
            for id in &push.subscriber_ids {
                if let Some(Entry::Subscriber { slot, user, .. }) = st.regs.get(id.as_str()) {
                    taken |= slot.offer(data.clone()) && *user;
                }
            }
        }
        if let (true, Some(snapshots)) = (taken, &self.snapshots) {
            snapshots.store(data);
        }
    }

    pub fn on_ack(&self, ack: v1::Ack) {
        if ack.request_id == 0 {
            // Acks of redo and drop frames: nobody waits; a refusal is worth a log line.
            if let Err(e) = ack_result(&ack) {
                tracing::warn!("{e}");
            }
            return;
        }
        if let Some(waiter) = self.state.lock().pending.remove(&ack.request_id) {
            let _ = waiter.send(ack);
        }
    }
}

/// A connection to the registry, holding this process's registrations.
///
/// Cheap to clone; the connection closes (unregistering everything) when the last clone is
/// dropped or [`Client::close`] is called. Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    _guard: Arc<CloseOnDrop>,
}

struct CloseOnDrop(CancellationToken);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl ClientBuilder {
    /// Validates the configuration and starts connecting in the background. Operations
    /// made before the first connection are queued and sent when it is up.
    pub fn build(self) -> Result<Client> {
        Client::new(self.config)
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn new(config: ClientConfig) -> Result<Client> {
        config.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Internal,
                "a Client must be created inside a tokio runtime",
            )
        })?;
        let members = Members::new(&config.endpoints, config.cache_dir.as_deref())?;
        let snapshots = config
            .cache_dir
            .as_deref()
            .map(|d| Arc::new(Snapshots::new(d)));
        let closed = CancellationToken::new();
        let inner = Arc::new(Inner {
            client_id: uuid::Uuid::new_v4().to_string(),
            state: Mutex::new(State {
                regs: HashMap::new(),
                session: None,
                pending: HashMap::new(),
                limits: Limits::default(),
                publish_mode: config.publish_mode,
                app: AppPublisher::default(),
                subscribe_mode: config.subscribe_mode,
                grpc: None,
            }),
            members,
            snapshots: snapshots.clone(),
            connected: watch::channel(false).0,
            closed: closed.clone(),
            last_error: Mutex::new(None),
            revisions: Mutex::new(HashMap::new()),
            user_subs: Mutex::new(Vec::new()),
            app_watches: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(1),
            config,
        });
        let mut tasks = vec![runtime.spawn(crate::connection::run(inner.clone()))];
        if let Some(s) = snapshots {
            tasks.push(runtime.spawn(s.run(closed.clone())));
        }
        *inner.tasks.lock() = tasks;
        Ok(Client {
            inner,
            _guard: Arc::new(CloseOnDrop(closed)),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The id that identifies this client's session to the registry.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The registry nodes this client knows, in the order it tries them: the leader, the
    /// members the registry reported, then the bootstrap endpoints.
    pub fn members(&self) -> Vec<String> {
        self.inner.members.candidates()
    }

    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Waits until a session with the registry is up (and every registration redone).
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.inner.connected.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|c| *c))
            .await
            .map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::shut_down()),
            Err(_) => Err(Error::new(
                ErrorKind::NotConnected,
                format!(
                    "no registry node answered within {timeout:?} (tried {:?}; last error: {})",
                    self.inner.members.candidates(),
                    self.inner
                        .last_error
                        .lock()
                        .as_deref()
                        .unwrap_or("none yet")
                ),
            )),
        }
    }

    pub fn publish_mode(&self) -> PublishMode {
        self.inner.state.lock().publish_mode
    }

    /// Moves every publisher to the level `mode` asks for (the migration step of a
    /// provider), and waits for the registry to acknowledge.
    pub async fn set_publish_mode(&self, mode: PublishMode) -> Result<()> {
        self.inner.check_open()?;
        let waits = {
            let mut st = self.inner.state.lock();
            if st.publish_mode == mode {
                return Ok(());
            }
            st.publish_mode = mode;
            self.inner.sync_all_publishers(&mut st)
        };
        tracing::info!(mode = mode.as_str(), "publish mode changed");
        self.inner.await_all(waits, "the publish mode change").await
    }

    /// Publishes data under a dataInfoId. Returns once the registry acknowledged it, or at
    /// once when no registry is reachable: it is then sent as soon as one is.
    pub async fn publish(&self, reg: PublisherRegistration) -> Result<Publisher> {
        self.inner.check_open()?;
        let key = self.inner.key(reg.key, reg.instance_id_set);
        {
            let limits = self.inner.state.lock().limits;
            key.check(&limits)?;
            rules::check_data(&reg.data, &limits)?;
        }
        if key.group == APP_GROUP || key.group.starts_with(MAPPING_GROUP) {
            return Err(Error::invalid(format!(
                "group {} is reserved: application publishers are made by the client from its interface publishers (see PublishMode)",
                key.group
            )));
        }
        let id = Inner::new_regist_id();
        let entry = Entry::Publisher {
            key: key.clone(),
            version: 1,
            data: reg.data,
            on_server: false,
        };
        self.inner.register(&id, entry, "the publisher").await?;
        Ok(Publisher {
            inner: self.inner.clone(),
            regist_id: id,
            key,
        })
    }

    /// Subscribes to a dataInfoId; read the data with [`Subscriber::peek`],
    /// [`Subscriber::updates`] or [`Client::subscribe_with`]'s callback.
    pub async fn subscribe(&self, reg: SubscriberRegistration) -> Result<Subscriber> {
        self.subscribe_inner(reg, None).await
    }

    /// Subscribes and calls `callback` with every new version (see [`Callback`]).
    pub async fn subscribe_with<F>(
        &self,
        reg: SubscriberRegistration,
        callback: F,
    ) -> Result<Subscriber>
    where
        F: Fn(Arc<SubscriberData>) + Send + Sync + 'static,
    {
        self.subscribe_inner(reg, Some(Arc::new(callback))).await
    }

    async fn subscribe_inner(
        &self,
        reg: SubscriberRegistration,
        callback: Option<Callback>,
    ) -> Result<Subscriber> {
        self.inner.check_open()?;
        let key = self.inner.key(reg.key, reg.instance_id_set);
        key.check(&self.inner.state.lock().limits)?;
        let slot = Slot::new();
        if !self.is_connected() {
            if let Some(cached) = self
                .inner
                .snapshots
                .as_ref()
                .and_then(|s| s.load(&key, reg.scope))
            {
                tracing::info!("registry unreachable: {key} starts from its failover snapshot");
                slot.offer_cached(Arc::new(cached));
            }
        }
        if let Some(cb) = callback {
            slot.spawn_dispatcher(cb);
        }
        let sub = Arc::new(UserSub {
            regist_id: Inner::new_regist_id(),
            key,
            scope: reg.scope,
            slot,
            own_mode: Mutex::new(reg.mode),
            plan: Mutex::new(Plan::Idle),
            direct_version: AtomicU64::new(0),
            activations: AtomicU64::new(0),
            status: Mutex::new(MigrationStatus::ForceInterface),
        });
        let waits = self.inner.activate(&sub, self.inner.mode_of(&sub));
        // Dropping the handle on an error withdraws the subscription.
        let subscriber = Subscriber {
            inner: self.inner.clone(),
            sub: sub.clone(),
        };
        self.inner.await_all(waits, "the subscriber").await?;
        let mut subs = self.inner.user_subs.lock();
        subs.retain(|s| s.strong_count() > 0);
        subs.push(Arc::downgrade(&sub));
        Ok(subscriber)
    }

    pub fn subscribe_mode(&self) -> SubscribeMode {
        self.inner.state.lock().subscribe_mode
    }

    /// Moves every subscription that does not have its own mode to `mode` (the migration
    /// step of a consumer), without resubscribing by hand.
    pub async fn set_subscribe_mode(&self, mode: SubscribeMode) -> Result<()> {
        self.inner.check_open()?;
        self.inner.state.lock().subscribe_mode = mode;
        tracing::info!(mode = mode.as_str(), "subscribe mode changed");
        let subs: Vec<Arc<UserSub>> = self
            .inner
            .user_subs
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut waits = Vec::new();
        for sub in subs.iter().filter(|s| s.own_mode.lock().is_none()) {
            waits.extend(self.inner.activate(sub, mode));
        }
        self.inner
            .await_all(waits, "the subscribe mode change")
            .await
    }

    /// Unregisters everything, closes the session and waits for the background tasks
    /// (including the last failover-snapshot writes). Later operations fail with
    /// `SHUT_DOWN`.
    pub async fn close(&self) {
        self.inner.closed.cancel();
        let tasks = std::mem::take(&mut *self.inner.tasks.lock());
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.client_id)
            .field("app_name", &self.inner.config.app_name)
            .field("connected", &self.is_connected())
            .finish()
    }
}
