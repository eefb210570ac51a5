//! `NativeClient`, `NativePublisher`, `NativeSubscriber`, `NativeUpdates`: the core's
//! client and handles, through `roster_bindings`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{
    AsyncBlock, AsyncBlockBuilder, BigInt, Either4, FnArgs, Function, ToNapiValue,
};
use napi::Env;
use napi_derive::napi;
use roster_bindings::handles::{ClientHandle, PublisherHandle, SubscriberHandle};
use roster_bindings::options::{self, OptionError, Value};
use roster_bindings::registration::{PublishOptions, SubscribeOptions};
use roster_core::{Error, PublishMode, SubscribeMode};

use crate::callbacks;
use crate::data::NativeData;
use crate::errors::{invalid, to_js};
use crate::on_runtime;

fn parse<T: std::str::FromStr<Err = Error>>(v: &str) -> napi::Result<T> {
    v.parse().map_err(to_js)
}

fn millis(name: &str, v: f64) -> napi::Result<Duration> {
    roster_bindings::blocking::millis(name, v).map_err(to_js)
}

/// A promise of `fut`, which was started on the calling (JS) thread: operations take effect
/// in the order JavaScript calls them, and the promise waits on the process's runtime.
fn promise<T, F>(env: &Env, fut: F) -> napi::Result<AsyncBlock<T>>
where
    T: ToNapiValue + Send + 'static,
    F: std::future::Future<Output = roster_core::Result<T>> + Send + 'static,
{
    AsyncBlockBuilder::new(async move { on_runtime(fut).await?.map_err(to_js) }).build(env)
}

/// An option's value as JavaScript gives it.
pub type OptionValue = Either4<String, Vec<String>, f64, bool>;

#[napi]
pub struct NativeClient {
    handle: ClientHandle,
    dispatcher: callbacks::Dispatcher,
}

#[napi]
impl NativeClient {
    /// A client from its options (see `roster_bindings::options`).
    /// `dispatch(callbackId, data)` runs subscriptions' `onData` on the JS thread.
    #[napi(
        constructor,
        ts_args_type = "options: Record<string, string | string[] | number | boolean>, dispatch: (callbackId: number, data: NativeData) => void"
    )]
    pub fn new(
        options: HashMap<String, OptionValue>,
        dispatch: Function<'_, FnArgs<(u32, NativeData)>, ()>,
    ) -> napi::Result<Self> {
        let values = options.into_iter().map(|(k, v)| {
            let v = match v {
                Either4::A(s) => Value::Str(s),
                Either4::B(l) => Value::List(l),
                Either4::C(n) => Value::Num(n),
                Either4::D(b) => Value::Bool(b),
            };
            (k, v)
        });
        let builder = options::builder(values).map_err(|e| match e {
            OptionError::Type(m) => invalid(m),
            OptionError::Invalid(e) => to_js(e),
        })?;
        let client = roster_bindings::runtime::enter(|| builder.build()).map_err(to_js)?;
        Ok(NativeClient {
            handle: ClientHandle::new(client),
            dispatcher: callbacks::Dispatcher::new(dispatch)?,
        })
    }

    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.handle.client().client_id().to_owned()
    }

    #[napi(getter)]
    pub fn is_connected(&self) -> bool {
        self.handle.client().is_connected()
    }

    /// "roster" or "sofa", from the endpoints' scheme.
    #[napi(getter)]
    pub fn protocol(&self) -> &'static str {
        self.handle.client().protocol().as_str()
    }

    #[napi]
    pub fn members(&self) -> Vec<String> {
        self.handle.client().members()
    }

    #[napi]
    pub async fn wait_connected(&self, timeout_ms: f64) -> napi::Result<()> {
        let timeout = millis("timeoutMs", timeout_ms)?;
        let c = self.handle.client().clone();
        on_runtime(async move { c.wait_connected(timeout).await })
            .await?
            .map_err(to_js)
    }

    #[napi(getter)]
    pub fn publish_mode(&self) -> &'static str {
        self.handle.client().publish_mode().as_str()
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_publish_mode(&self, env: Env, mode: String) -> napi::Result<AsyncBlock<()>> {
        let mode = parse::<PublishMode>(&mode)?;
        promise(&env, self.handle.client().set_publish_mode(mode))
    }

    #[napi(getter)]
    pub fn subscribe_mode(&self) -> &'static str {
        self.handle.client().subscribe_mode().as_str()
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_subscribe_mode(&self, env: Env, mode: String) -> napi::Result<AsyncBlock<()>> {
        let mode = parse::<SubscribeMode>(&mode)?;
        promise(&env, self.handle.client().set_subscribe_mode(mode))
    }

    #[napi(ts_return_type = "Promise<NativePublisher>")]
    pub fn publish(
        &self,
        env: Env,
        data_id: String,
        data: Vec<String>,
        group: Option<String>,
        instance_id: Option<String>,
    ) -> napi::Result<AsyncBlock<NativePublisher>> {
        let options = PublishOptions { group, instance_id };
        let publishing = self.handle.publish(data_id, data, options);
        promise(&env, async move {
            Ok(NativePublisher {
                handle: publishing.await?,
            })
        })
    }

    /// Subscribes; with a `callbackId`, the client's dispatcher is called on the JS thread
    /// with it and every newer data.
    #[napi(ts_return_type = "Promise<NativeSubscriber>")]
    #[allow(clippy::too_many_arguments)]
    pub fn subscribe(
        &self,
        env: Env,
        data_id: String,
        scope: String,
        group: Option<String>,
        instance_id: Option<String>,
        mode: Option<String>,
        callback_id: Option<u32>,
    ) -> napi::Result<AsyncBlock<NativeSubscriber>> {
        let options = SubscribeOptions::parse(Some(&scope), group, instance_id, mode.as_deref())
            .map_err(to_js)?;
        let callback = callback_id.map(|id| self.dispatcher.callback(id));
        let subscribing = self.handle.subscribe(data_id, options, callback);
        promise(&env, async move {
            Ok(NativeSubscriber {
                handle: Arc::new(subscribing.await?),
            })
        })
    }

    /// Unregisters everything and closes the session; later calls are `SHUT_DOWN`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<AsyncBlock<()>> {
        let closing = self.handle.close();
        promise(&env, async move {
            closing.await;
            Ok(())
        })
    }
}

#[napi]
pub struct NativePublisher {
    handle: PublisherHandle,
}

/// What a publisher holds now.
#[napi(object)]
pub struct Current {
    pub version: BigInt,
    pub data: Vec<String>,
}

#[napi]
impl NativePublisher {
    #[napi(getter)]
    pub fn regist_id(&self) -> String {
        self.handle.regist_id().to_owned()
    }

    #[napi(getter)]
    pub fn data_info_id(&self) -> String {
        self.handle.data_info_id().to_owned()
    }

    #[napi(getter)]
    pub fn current(&self) -> Option<Current> {
        self.handle.current().map(|(version, data)| Current {
            version: BigInt::from(version),
            data,
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn republish(&self, env: Env, data: Vec<String>) -> napi::Result<AsyncBlock<()>> {
        let republishing = self.handle.republish(data);
        promise(&env, async move { republishing?.await })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn unregister(&self, env: Env) -> napi::Result<AsyncBlock<()>> {
        promise(&env, self.handle.unregister())
    }
}

#[napi]
pub struct NativeSubscriber {
    handle: Arc<SubscriberHandle>,
}

/// Where a subscription's migration stands.
#[napi(object)]
pub struct MigrationStatus {
    /// force-interface, application-first, pending or force-application.
    pub status: String,
    /// While pending: application-level addresses.
    pub application: Option<u32>,
    /// While pending: interface-level addresses.
    pub interface: Option<u32>,
}

#[napi]
impl NativeSubscriber {
    #[napi(getter)]
    pub fn regist_id(&self) -> String {
        self.handle.regist_id().to_owned()
    }

    #[napi(getter)]
    pub fn data_info_id(&self) -> String {
        self.handle.data_info_id().to_owned()
    }

    #[napi]
    pub fn peek(&self) -> Option<NativeData> {
        self.handle.peek().map(NativeData)
    }

    #[napi]
    pub fn updates(&self) -> napi::Result<NativeUpdates> {
        let updates = self.handle.updates().map_err(to_js)?;
        Ok(NativeUpdates {
            inner: Arc::new(tokio::sync::Mutex::new(updates)),
        })
    }

    #[napi]
    pub fn wait(&self, timeout_ms: f64) -> napi::Result<NativeWait> {
        let timeout = millis("timeoutMs", timeout_ms)?;
        let wait = self.handle.wait(timeout).map_err(to_js)?;
        Ok(NativeWait {
            inner: Arc::new(tokio::sync::Mutex::new(wait)),
        })
    }

    #[napi(getter)]
    pub fn mode(&self) -> napi::Result<&'static str> {
        Ok(self.handle.mode().map_err(to_js)?.as_str())
    }

    #[napi(getter)]
    pub fn migration_status(&self) -> napi::Result<MigrationStatus> {
        let s = self.handle.migration_status().map_err(to_js)?;
        let (status, counts) = roster_bindings::names::migration_status(s);
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(MigrationStatus {
            status: status.into(),
            application: counts.map(|c| n(c.0)),
            interface: counts.map(|c| n(c.1)),
        })
    }

    /// Switches this subscription's mode (`null`: follow the client's).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_mode(&self, env: Env, mode: Option<String>) -> napi::Result<AsyncBlock<()>> {
        let mode = mode.as_deref().map(parse::<SubscribeMode>).transpose()?;
        let setting = self.handle.set_mode(mode);
        promise(&env, async move { setting?.await })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn unsubscribe(&self, env: Env) -> napi::Result<AsyncBlock<()>> {
        promise(&env, self.handle.unsubscribe())
    }
}

/// A subscriber's updates: the current data first (if any), then each newer version,
/// coalesced to the newest.
#[napi]
pub struct NativeUpdates {
    inner: Arc<tokio::sync::Mutex<roster_core::Updates>>,
}

#[napi]
impl NativeUpdates {
    /// The next data; `null` once unsubscribed or closed.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<NativeData>> {
        let inner = self.inner.clone();
        let next = on_runtime(async move { inner.lock().await.next().await }).await?;
        Ok(next.map(NativeData))
    }
}

/// A wait for data that JavaScript tests (`waitFor`): the current data first, then each
/// newer version; the core's rule and messages (`TIMEOUT`, `SHUT_DOWN`).
#[napi]
pub struct NativeWait {
    inner: Arc<tokio::sync::Mutex<roster_core::Wait>>,
}

#[napi]
impl NativeWait {
    #[napi]
    pub async fn next(&self) -> napi::Result<NativeData> {
        let inner = self.inner.clone();
        let next = on_runtime(async move { inner.lock().await.next().await }).await?;
        Ok(NativeData(next.map_err(to_js)?))
    }
}
