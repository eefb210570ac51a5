//! `Client`: publish, subscribe, modes, close.

use std::sync::Arc;
use std::time::Duration;

use roster_bindings::handles::ClientHandle;
use roster_bindings::runtime;

use crate::error::Result;
use crate::on_runtime;
use crate::registration::{listener_callback, Publisher, Subscriber, SubscriberListener};
use crate::types::{ClientOptions, PublishMode, PublishOptions, SubscribeMode, SubscribeOptions};

/// A connection to the registry. Operations take effect when called, in call order; the
/// suspend functions return once the registry acknowledged (at once while no session is up:
/// everything is registered when one comes up).
#[derive(uniffi::Object)]
pub struct Client {
    handle: ClientHandle,
}

#[uniffi::export]
impl Client {
    /// Makes a client and starts connecting in the background.
    #[uniffi::constructor]
    pub fn new(options: ClientOptions) -> Result<Arc<Client>> {
        let builder = options.builder()?;
        let client = runtime::enter(|| builder.build())?;
        Ok(Arc::new(Client {
            handle: ClientHandle::new(client),
        }))
    }

    /// The id that identifies this client's session to the registry.
    pub fn client_id(&self) -> String {
        self.handle.client().client_id().to_owned()
    }

    pub fn is_connected(&self) -> bool {
        self.handle.client().is_connected()
    }

    /// The registry nodes this client knows, in the order it tries them: the leader, the
    /// members the registry reported, then the bootstrap endpoints.
    pub fn members(&self) -> Vec<String> {
        self.handle.client().members()
    }

    /// `"roster"` or `"sofa"`, from the endpoints' scheme.
    pub fn protocol(&self) -> String {
        self.handle.client().protocol().as_str().to_owned()
    }

    /// Waits until a session is up; `NotConnected` after `timeout_ms`.
    pub async fn wait_connected(&self, timeout_ms: u64) -> Result<()> {
        let c = self.handle.client().clone();
        Ok(
            on_runtime(async move { c.wait_connected(Duration::from_millis(timeout_ms)).await })
                .await?,
        )
    }

    /// Publishes `data` under `data_id`.
    #[uniffi::method(default(options = None))]
    pub async fn publish(
        &self,
        data_id: String,
        data: Vec<String>,
        options: Option<PublishOptions>,
    ) -> Result<Arc<Publisher>> {
        let options = options.unwrap_or_default().into();
        let publishing = self.handle.publish(data_id, data, options);
        let handle = on_runtime(publishing).await?;
        Ok(Arc::new(Publisher::new(handle, self.handle.clone())))
    }

    /// Subscribes; `listener` (if any) gets the data and each newer version on the Roster
    /// dispatcher thread.
    #[uniffi::method(default(options = None, listener = None))]
    pub async fn subscribe(
        &self,
        data_id: String,
        options: Option<SubscribeOptions>,
        listener: Option<Arc<dyn SubscriberListener>>,
    ) -> Result<Arc<Subscriber>> {
        let options = options.unwrap_or_default().into();
        let callback = listener.map(|l| listener_callback(l, data_id.clone()));
        let subscribing = self.handle.subscribe(data_id, options, callback);
        let handle = on_runtime(subscribing).await?;
        Ok(Arc::new(Subscriber::new(handle, self.handle.clone())))
    }

    pub fn publish_mode(&self) -> PublishMode {
        self.handle.client().publish_mode().into()
    }

    /// Switches how this client publishes: its publishers are re-registered at the new level.
    pub async fn set_publish_mode(&self, mode: PublishMode) -> Result<()> {
        let setting = self.handle.client().set_publish_mode(mode.into());
        Ok(on_runtime(setting).await?)
    }

    pub fn subscribe_mode(&self) -> SubscribeMode {
        self.handle.client().subscribe_mode().into()
    }

    /// Switches how its subscribers without a mode of their own find providers.
    pub async fn set_subscribe_mode(&self, mode: SubscribeMode) -> Result<()> {
        let setting = self.handle.client().set_subscribe_mode(mode.into());
        Ok(on_runtime(setting).await?)
    }

    /// Unregisters everything and closes the session; later calls fail with `ShutDown`.
    /// (`closeAsync` in Kotlin and Swift: Kotlin's `close()` is `AutoCloseable`'s, which
    /// frees the object, and closes the client too, without waiting.)
    pub async fn close_async(&self) {
        on_runtime(self.handle.close()).await
    }
}
