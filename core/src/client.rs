//! The public client: a cheap handle on the engine, with the operations users call.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use roster_proto::appmeta::{APP_GROUP, MAPPING_GROUP};
use roster_proto::rules;

use crate::config::{ClientBuilder, ClientConfig};
use crate::engine::{Engine, Waiting};
use crate::error::{Error, ErrorKind, Result};
use crate::members::Members;
use crate::model::{
    DataInfoId, PublishMode, PublisherRegistration, SubscribeMode, SubscriberData,
    SubscriberRegistration,
};
use crate::protocol::Protocol;
use crate::publisher::Publisher;
use crate::resolver::Resolver;
use crate::slot::{Callback, Slot};
use crate::subscriber::Subscriber;
use crate::table::{AppPublisher, Table};
use crate::transport::{Identity, Transport};

/// A connection to the registry, holding this process's registrations.
///
/// Cheap to clone; the connection closes (unregistering everything) when the last clone is
/// dropped or [`Client::close`] is called. Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Client {
    engine: Arc<Engine>,
    resolver: Arc<Resolver>,
    _guard: Arc<CloseOnDrop>,
}

struct CloseOnDrop(tokio_util::sync::CancellationToken);

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

fn new_regist_id() -> Arc<str> {
    uuid::Uuid::new_v4().to_string().into()
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn new(config: ClientConfig) -> Result<Client> {
        let protocol = config.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Internal,
                "a Client must be created inside a tokio runtime",
            )
        })?;
        let client_id = uuid::Uuid::new_v4().to_string();
        let c = &config;
        crate::engine::check_level(protocol, Some(c.publish_mode), Some(c.subscribe_mode))?;
        let (transport, bootstrap) = Transport::new(protocol, &c.endpoints, c.connect_timeout)?;
        let members = Members::new(&bootstrap, c.cache_dir.as_deref())?;
        let identity = Identity::new(c, client_id.clone())?;
        let table = Table::new(
            AppPublisher::new(&c.app_name, &c.instance_id, &client_id),
            c.publish_mode,
            c.subscribe_mode,
            protocol.capabilities(),
        );
        let engine = Arc::new(Engine::new(
            runtime.clone(),
            config,
            protocol,
            transport,
            members,
            table,
            identity,
        ));
        engine.start();
        Ok(Client {
            _guard: Arc::new(CloseOnDrop(engine.closed().clone())),
            resolver: Resolver::new(engine.clone()),
            engine,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        self.engine.config()
    }

    /// Which registry this client talks to (from its endpoints' scheme).
    pub fn protocol(&self) -> Protocol {
        self.engine.protocol()
    }

    /// The id that identifies this client's session to the registry.
    pub fn client_id(&self) -> &str {
        self.engine.client_id()
    }

    /// The registry nodes this client knows, in the order it tries them: the leader, the
    /// members the registry reported, then the bootstrap endpoints.
    pub fn members(&self) -> Vec<String> {
        self.engine.members().candidates()
    }

    pub fn is_connected(&self) -> bool {
        self.engine.is_connected()
    }

    /// Waits until a session with the registry is up (and every registration redone).
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        self.engine.wait_connected(timeout).await
    }

    pub fn publish_mode(&self) -> PublishMode {
        self.engine.read(Table::publish_mode)
    }

    /// Moves every publisher to the level `mode` asks for (the migration step of a
    /// provider) now, and waits for the registry to acknowledge.
    pub fn set_publish_mode(
        &self,
        mode: PublishMode,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let started = self.start_publish_mode(mode);
        let engine = self.engine.clone();
        async move { engine.await_all(started?, "the publish mode change").await }
    }

    fn start_publish_mode(&self, mode: PublishMode) -> Result<Vec<Waiting>> {
        self.engine.check_open()?;
        self.engine.check_level(Some(mode), None)?;
        let (waits, changed) = self.engine.change(true, |t| {
            if t.publish_mode() == mode {
                (Vec::new(), false)
            } else {
                (t.set_publish_mode(mode), true)
            }
        });
        if changed {
            tracing::info!(mode = mode.as_str(), "publish mode changed");
        }
        Ok(waits)
    }

    /// Publishes data under a dataInfoId. Registered when called (so operations apply in
    /// the order they are called, awaited or not); the future resolves once the registry
    /// acknowledged it, or at once when no registry is reachable: it is then sent as soon
    /// as one is.
    pub fn publish(
        &self,
        reg: PublisherRegistration,
    ) -> impl Future<Output = Result<Publisher>> + Send + 'static {
        let started = self.start_publish(reg);
        async move {
            let (publisher, waits) = started?;
            // A refused or unanswered registration is withdrawn, so that none outlives
            // the error its caller saw.
            publisher
                .engine
                .settle(&publisher.regist_id, waits, "the publisher")
                .await?;
            Ok(publisher)
        }
    }

    fn start_publish(&self, reg: PublisherRegistration) -> Result<(Publisher, Vec<Waiting>)> {
        self.engine.check_open()?;
        let key = self.key(reg.key, reg.instance_id_set);
        let limits = self.engine.limits();
        key.check(&limits)?;
        rules::check_data(&reg.data, &limits)?;
        if key.group == APP_GROUP || key.group.starts_with(MAPPING_GROUP) {
            return Err(Error::invalid(format!(
                "group {} is reserved: application publishers are made by the client from its interface publishers (see PublishMode)",
                key.group
            )));
        }
        let id = new_regist_id();
        let waits = self.engine.publish(&id, key.clone(), reg.data);
        let publisher = Publisher {
            engine: self.engine.clone(),
            regist_id: id,
            key,
        };
        Ok((publisher, waits))
    }

    fn key(&self, mut key: DataInfoId, instance_id_set: bool) -> DataInfoId {
        if !instance_id_set {
            key.instance_id = self.engine.config().instance_id.clone();
        }
        key
    }

    /// Subscribes to a dataInfoId (when called; the future waits for the registry); read
    /// the data with [`Subscriber::peek`], [`Subscriber::updates`] or
    /// [`Client::subscribe_with`]'s callback.
    pub fn subscribe(
        &self,
        reg: SubscriberRegistration,
    ) -> impl Future<Output = Result<Subscriber>> + Send + 'static {
        self.subscribe_inner(reg, None)
    }

    /// Subscribes and calls `callback` with every new version (see [`Callback`]).
    pub fn subscribe_with<F>(
        &self,
        reg: SubscriberRegistration,
        callback: F,
    ) -> impl Future<Output = Result<Subscriber>> + Send + 'static
    where
        F: Fn(Arc<SubscriberData>) + Send + Sync + 'static,
    {
        self.subscribe_inner(reg, Some(Arc::new(callback)))
    }

    fn subscribe_inner(
        &self,
        reg: SubscriberRegistration,
        callback: Option<Callback>,
    ) -> impl Future<Output = Result<Subscriber>> + Send + 'static {
        let started = self.start_subscribe(reg, callback);
        async move {
            let (subscriber, waits) = started?;
            // On an error the handle is dropped, which withdraws the subscription.
            let engine = subscriber.resolver.engine();
            engine.await_all(waits, "the subscriber").await?;
            Ok(subscriber)
        }
    }

    fn start_subscribe(
        &self,
        reg: SubscriberRegistration,
        callback: Option<Callback>,
    ) -> Result<(Subscriber, Vec<Waiting>)> {
        self.engine.check_open()?;
        self.engine.check_level(None, reg.mode)?;
        let key = self.key(reg.key, reg.instance_id_set);
        key.check(&self.engine.limits())?;
        let slot = Slot::new();
        if !self.is_connected() {
            if let Some(cached) = self
                .engine
                .snapshots()
                .and_then(|s| s.load(&key, reg.scope))
            {
                tracing::info!("registry unreachable: {key} starts from its failover snapshot");
                slot.offer_cached(cached);
            }
        }
        if let Some(cb) = callback {
            self.resolver.dispatch(&slot, cb);
        }
        let (sub, waits) = self.resolver.subscribe(key, reg.scope, reg.mode, slot);
        let subscriber = Subscriber {
            resolver: self.resolver.clone(),
            sub,
        };
        Ok((subscriber, waits))
    }

    pub fn subscribe_mode(&self) -> SubscribeMode {
        self.engine.read(Table::subscribe_mode)
    }

    /// Moves every subscription that does not have its own mode to `mode` (the migration
    /// step of a consumer), without resubscribing by hand; now, and the future waits for
    /// the registry.
    pub fn set_subscribe_mode(
        &self,
        mode: SubscribeMode,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let started = self.start_subscribe_mode(mode);
        let engine = self.engine.clone();
        async move {
            engine
                .await_all(started?, "the subscribe mode change")
                .await
        }
    }

    fn start_subscribe_mode(&self, mode: SubscribeMode) -> Result<Vec<Waiting>> {
        self.engine.check_open()?;
        self.engine.check_level(None, Some(mode))?;
        self.engine.change(false, |t| {
            t.set_subscribe_mode(mode);
            (Vec::new(), ())
        });
        tracing::info!(mode = mode.as_str(), "subscribe mode changed");
        let waits = self.resolver.follow_client_mode(mode);
        Ok(waits)
    }

    /// Unregisters everything, closes the session and waits for the background tasks
    /// (including the last failover-snapshot writes). Later operations fail with
    /// `SHUT_DOWN`.
    pub async fn close(&self) {
        self.engine.close().await;
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.engine.client_id())
            .field("app_name", &self.engine.config().app_name)
            .field("protocol", &self.engine.protocol())
            .field("connected", &self.is_connected())
            .finish()
    }
}
