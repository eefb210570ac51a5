//! The `native` methods of `dev.roster.Native`. Each one catches panics and errors and throws:
//! `RosterException` for the core's errors (its message `CODE: ...`, `INTERNAL` for a panic).
//! Handles are numbers in tables (`Ids`); operations start when called and complete a
//! `CompletableFuture` on the dispatcher thread.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use jni::errors::{Error as JniError, ThrowRuntimeExAndDefault};
use jni::objects::{JClass, JLongArray, JObject, JObjectArray, JString, JValue};
use jni::refs::Reference as _;
use jni::signature::{Primitive, ReturnType};
use jni::sys::{jboolean, jint, jlong};
use jni::{Env, EnvUnowned};
use roster_bindings::handles::{ClientHandle, Ids, PublisherHandle, SubscriberHandle};
use roster_bindings::options::{self, OptionError};
use roster_bindings::registration::{PublishOptions, SubscribeOptions};
use roster_bindings::testing::TestServer;
use roster_bindings::{blocking, names, runtime};
use roster_core::{Callback, Error, ErrorKind, PublishMode, SubscribeMode, Wait};

use crate::convert;
use crate::jvm::{self, cache, JavaRef, DISPATCHER};

static CLIENTS: LazyLock<Ids<ClientHandle>> = LazyLock::new(Ids::default);
static PUBLISHERS: LazyLock<Ids<PublisherHandle>> = LazyLock::new(Ids::default);
static SUBSCRIBERS: LazyLock<Ids<SubscriberHandle>> = LazyLock::new(Ids::default);
static WAITS: LazyLock<Ids<tokio::sync::Mutex<Wait>>> = LazyLock::new(Ids::default);
static SERVERS: LazyLock<Ids<TestServer>> = LazyLock::new(Ids::default);

/// Why a native method fails.
enum Fail {
    Core(Error),
    Jni(JniError),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

impl From<JniError> for Fail {
    fn from(e: JniError) -> Self {
        Fail::Jni(e)
    }
}

type Out<T> = Result<T, Fail>;

fn shut_down(what: &str) -> Fail {
    Fail::Core(Error::new(
        ErrorKind::ShutDown,
        format!("the {what} was closed"),
    ))
}

/// Runs a native method's body: a panic or an error becomes a thrown `RosterException`.
fn native<'local, T: Default>(
    mut unowned: EnvUnowned<'local>,
    body: impl FnOnce(&mut Env<'local>) -> Out<T>,
) -> T {
    unowned
        .with_env(|env| -> jni::errors::Result<T> {
            let error = match std::panic::catch_unwind(AssertUnwindSafe(|| body(env))) {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(Fail::Jni(e))) => return Err(e),
                Ok(Err(Fail::Core(e))) => e,
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Error::new(ErrorKind::Internal, format!("a bug in roster_java: {why}"))
                }
            };
            if env.exception_check() {
                return Err(JniError::JavaException);
            }
            let ex = convert::exception(env, &error)?;
            let ex = env.cast_local::<jni::objects::JThrowable>(ex)?;
            env.throw(ex)?;
            Err(JniError::JavaException)
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

fn string(env: &mut Env, s: &JString, name: &str) -> Out<String> {
    convert::string(env, s)?.ok_or_else(|| {
        Fail::Core(Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} must not be null"),
        ))
    })
}

fn id(v: jlong) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn jid(v: u64) -> jlong {
    i64::try_from(v).unwrap_or(-1)
}

fn client(h: jlong) -> Out<Arc<ClientHandle>> {
    CLIENTS.get(id(h)).ok_or_else(|| shut_down("client"))
}

fn publisher(h: jlong) -> Out<Arc<PublisherHandle>> {
    PUBLISHERS.get(id(h)).ok_or_else(|| shut_down("publisher"))
}

fn subscriber(h: jlong) -> Out<Arc<SubscriberHandle>> {
    SUBSCRIBERS
        .get(id(h))
        .ok_or_else(|| shut_down("subscriber"))
}

/// Finishes an operation that has started (`fut`). With `done` null, the blocking form: waits
/// on this thread and returns `to_java` of the value (never waiting on the dispatcher thread,
/// which may be the caller: a listener that publishes). Otherwise returns null at once and
/// completes the `CompletableFuture` `done` from the dispatcher thread, exceptionally with a
/// `RosterException` on failure.
fn finish<'local, T: Send + 'static>(
    env: &mut Env<'local>,
    done: &JObject,
    fut: impl Future<Output = roster_core::Result<T>> + Send + 'static,
    to_java: for<'a> fn(&mut Env<'a>, T) -> jni::errors::Result<JObject<'a>>,
) -> Out<JObject<'local>> {
    if done.is_null() {
        let value = blocking::block_on(fut)?;
        return Ok(to_java(env, value)?);
    }
    let future = JavaRef::new(env, done)?;
    runtime::get().spawn(async move {
        let out = fut.await;
        jvm::submit(move |env| {
            let c = cache();
            let (method, value) = match out {
                Ok(v) => (c.complete, to_java(env, v)?),
                Err(e) => (c.complete_exceptionally, convert::exception(env, &e)?),
            };
            // SAFETY: the method ids are CompletableFuture.complete(Object)Z and
            // completeExceptionally(Throwable)Z, and `future` is a CompletableFuture.
            unsafe {
                env.call_method_unchecked(
                    future.get(),
                    method,
                    ReturnType::Primitive(Primitive::Boolean),
                    &[JValue::Object(&value).as_jni()],
                )
            }?;
            Ok(())
        });
    });
    Ok(JObject::null())
}

fn null<'a>(_env: &mut Env<'a>, _: ()) -> jni::errors::Result<JObject<'a>> {
    Ok(JObject::null())
}

fn boxed<'a>(env: &mut Env<'a>, v: u64) -> jni::errors::Result<JObject<'a>> {
    let c = cache();
    // SAFETY: Long.valueOf(J)Ljava/lang/Long;
    unsafe {
        env.call_static_method_unchecked(
            &c.long,
            c.long_value_of,
            ReturnType::Object,
            &[JValue::Long(jid(v)).as_jni()],
        )
    }?
    .l()
}

fn parse<T: std::str::FromStr<Err = Error>>(v: &str) -> Out<T> {
    Ok(v.parse()?)
}

/// The core's names of an enum's values (`kind`: scope, publishMode, subscribeMode), in
/// the order Java's enum declares its constants.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_enumNames<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    kind: JString<'local>,
) -> JObjectArray<'local, JString<'local>> {
    native(unowned, |env| {
        let kind = string(env, &kind, "kind")?;
        let names = names::enum_names(&kind)
            .ok_or_else(|| Error::new(ErrorKind::Internal, format!("no enum named {kind}")))?;
        Ok(convert::string_array(env, &names)?)
    })
}

/// The position of `name` among `enumNames(kind)`; the core's `INVALID_ARGUMENT` otherwise.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_enumIndex<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    kind: JString<'local>,
    name: JString<'local>,
) -> jint {
    native(unowned, |env| {
        let (kind, name) = (string(env, &kind, "kind")?, string(env, &name, "name")?);
        Ok(jint::try_from(names::enum_index(&kind, &name)?).unwrap_or(0))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_shutdown<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) {
    native(unowned, |_env| {
        jvm::shut_down();
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_logInit<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    filter: JString<'local>,
) {
    native(unowned, |env| {
        let filter = convert::string(env, &filter)?.unwrap_or_else(|| "info".into());
        crate::logging::init(&filter);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_errorCodes<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObjectArray<'local, JString<'local>> {
    native(unowned, |env| {
        let codes: Vec<String> = names::ERROR_KINDS
            .iter()
            .map(|k| k.code.to_owned())
            .collect();
        Ok(convert::string_array(env, &codes)?)
    })
}

/// How many handles the tables hold: `{clients, publishers, subscribers}` (for tests of the
/// Cleaner).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_handleCounts<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JLongArray<'local> {
    native(unowned, |env| {
        let counts = [CLIENTS.len(), PUBLISHERS.len(), SUBSCRIBERS.len()].map(|n| n as i64);
        let array = JLongArray::new(env, 3)?;
        array.set_region(env, 0, &counts)?;
        Ok(array)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientNew<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    keys: JObjectArray<'local, JString<'local>>,
    values: JObjectArray<'local>,
) -> jlong {
    native(unowned, |env| {
        let keys = convert::strings(env, &keys)?;
        let mut opts = Vec::with_capacity(keys.len());
        for (i, key) in keys.into_iter().enumerate() {
            let value = env.with_local_frame(4, |env| {
                let o = values.get_element(env, i)?;
                convert::option_value(env, &o)
            })?;
            if let Some(v) = value {
                opts.push((key, v));
            }
        }
        let builder = options::builder(opts).map_err(|e| match e {
            OptionError::Type(m) => Error::new(ErrorKind::InvalidArgument, m),
            OptionError::Invalid(e) => e,
        })?;
        let client = runtime::enter(|| builder.build())?;
        Ok(jid(CLIENTS.insert(ClientHandle::new(client))))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientFree<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) {
    native(unowned, |_env| {
        CLIENTS.remove(id(h));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientId<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let c = client(h)?;
        Ok(JString::from_str(env, c.client().client_id())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientConnected<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> jboolean {
    native(unowned, |_env| Ok(client(h)?.client().is_connected()))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientProtocol<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let c = client(h)?;
        Ok(JString::from_str(env, c.client().protocol().as_str())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientMembers<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JObjectArray<'local, JString<'local>> {
    native(unowned, |env| {
        let members = client(h)?.client().members();
        Ok(convert::string_array(env, &members)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientPublishMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let mode = client(h)?.client().publish_mode();
        Ok(JString::from_str(env, mode.as_str())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientSubscribeMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let mode = client(h)?.client().subscribe_mode();
        Ok(JString::from_str(env, mode.as_str())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientWaitConnected<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    timeout_millis: jlong,
) {
    native(unowned, |_env| {
        let c = client(h)?;
        let timeout = Duration::from_millis(u64::try_from(timeout_millis).unwrap_or(0));
        Ok(blocking::block_on(async move {
            c.client().wait_connected(timeout).await
        })?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientSetPublishMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    mode: JString<'local>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let mode = parse::<PublishMode>(&string(env, &mode, "mode")?)?;
        let setting = client(h)?.client().set_publish_mode(mode);
        finish(env, &done, setting, null)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientSetSubscribeMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    mode: JString<'local>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let mode = parse::<SubscribeMode>(&string(env, &mode, "mode")?)?;
        let setting = client(h)?.client().set_subscribe_mode(mode);
        finish(env, &done, setting, null)
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_roster_Native_clientPublish<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    data_id: JString<'local>,
    data: JObjectArray<'local, JString<'local>>,
    group: JString<'local>,
    instance_id: JString<'local>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let options = PublishOptions {
            group: convert::string(env, &group)?,
            instance_id: convert::string(env, &instance_id)?,
        };
        let (data_id, data) = (
            string(env, &data_id, "dataId")?,
            convert::strings(env, &data)?,
        );
        let publishing = client(h)?.publish(data_id, data, options);
        let registered = async move { Ok(PUBLISHERS.insert(publishing.await?)) };
        finish(env, &done, registered, boxed)
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_roster_Native_clientSubscribe<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    data_id: JString<'local>,
    scope: JString<'local>,
    group: JString<'local>,
    instance_id: JString<'local>,
    mode: JString<'local>,
    listener: JObject<'local>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let options = SubscribeOptions::parse(
            Some(&string(env, &scope, "scope")?),
            convert::string(env, &group)?,
            convert::string(env, &instance_id)?,
            convert::string(env, &mode)?.as_deref(),
        )?;
        let callback = if listener.is_null() {
            None
        } else {
            Some(listener_callback(JavaRef::new(env, &listener)?))
        };
        let subscribing = client(h)?.subscribe(string(env, &data_id, "dataId")?, options, callback);
        let registered = async move { Ok(SUBSCRIBERS.insert(subscribing.await?)) };
        finish(env, &done, registered, boxed)
    })
}

/// The core callback of a listener: runs `Dispatch.deliver(listener, data)` on the
/// dispatcher thread and waits for it, so a slow listener gets the newest data next.
fn listener_callback(listener: JavaRef) -> Callback {
    let listener = Arc::new(listener);
    Arc::new(move |data| {
        let listener = listener.clone();
        DISPATCHER.run_and_wait(Box::new(move || {
            jvm::java(|env| {
                let c = cache();
                let data = convert::data(env, &data)?;
                // SAFETY: Dispatch.deliver(Object, SubscriberData)V.
                unsafe {
                    env.call_static_method_unchecked(
                        &c.dispatch,
                        c.deliver,
                        ReturnType::Primitive(Primitive::Void),
                        &[
                            JValue::Object(listener.get()).as_jni(),
                            JValue::Object(&data).as_jni(),
                        ],
                    )
                }?;
                Ok(())
            });
        }));
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_clientClose<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let closing = client(h)?.close();
        finish(
            env,
            &done,
            async move {
                closing.await;
                Ok(())
            },
            null,
        )
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherRegistId<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        Ok(JString::from_str(env, publisher(h)?.regist_id())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherDataInfoId<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        Ok(JString::from_str(env, publisher(h)?.data_info_id())?)
    })
}

/// The data the client holds for a publisher, its version written to `version[0]` (one
/// snapshot); null once unregistered.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherCurrent<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    version: JLongArray<'local>,
) -> JObjectArray<'local, JString<'local>> {
    native(unowned, |env| match publisher(h)?.current() {
        Some((v, data)) => {
            version.set_region(env, 0, &[i64::try_from(v).unwrap_or(i64::MAX)])?;
            Ok(convert::string_array(env, &data)?)
        }
        None => Ok(JObjectArray::default()),
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherRepublish<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    data: JObjectArray<'local, JString<'local>>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let data = convert::strings(env, &data)?;
        let republishing = publisher(h)?.republish(data);
        finish(env, &done, async move { republishing?.await }, null)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherUnregister<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let unregistering = publisher(h)?.unregister();
        finish(env, &done, unregistering, null)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_publisherFree<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) {
    native(unowned, |_env| {
        PUBLISHERS.remove(id(h));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberRegistId<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        Ok(JString::from_str(env, subscriber(h)?.regist_id())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberDataInfoId<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        Ok(JString::from_str(env, subscriber(h)?.data_info_id())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberPeek<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JObject<'local> {
    native(unowned, |env| match subscriber(h)?.peek() {
        Some(d) => Ok(convert::data(env, &d)?),
        None => Ok(JObject::null()),
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let mode = subscriber(h)?.mode()?;
        Ok(JString::from_str(env, mode.as_str())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberMigrationStatus<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JLongArray<'local> {
    native(unowned, |env| {
        let (status, counts) = names::migration_status(subscriber(h)?.migration_status()?);
        // In the order of MigrationStatus.Status.
        let index = [
            "force-interface",
            "application-first",
            "pending",
            "force-application",
        ]
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0);
        let (a, i) = counts.unwrap_or((0, 0));
        let values = [index as i64, a as i64, i as i64];
        let array = JLongArray::new(env, 3)?;
        array.set_region(env, 0, &values)?;
        Ok(array)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberSetMode<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    mode: JString<'local>,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let mode = match convert::string(env, &mode)? {
            Some(m) => Some(parse::<SubscribeMode>(&m)?),
            None => None,
        };
        let setting = subscriber(h)?.set_mode(mode);
        finish(env, &done, async move { setting?.await }, null)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberUnsubscribe<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    done: JObject<'local>,
) -> JObject<'local> {
    native(unowned, |env| {
        let unsubscribing = subscriber(h)?.unsubscribe();
        finish(env, &done, unsubscribing, null)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_subscriberFree<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) {
    native(unowned, |_env| {
        SUBSCRIBERS.remove(id(h));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_waitNew<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
    timeout_millis: jlong,
) -> jlong {
    native(unowned, |_env| {
        let timeout = Duration::from_millis(u64::try_from(timeout_millis).unwrap_or(0));
        let wait = subscriber(h)?.wait(timeout)?;
        Ok(jid(WAITS.insert(tokio::sync::Mutex::new(wait))))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_waitNext<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JObject<'local> {
    native(unowned, |env| {
        let wait = WAITS.get(id(h)).ok_or_else(|| shut_down("wait"))?;
        let next = blocking::block_on(async move { wait.lock().await.next().await })?;
        Ok(convert::data(env, &next)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_waitFree<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) {
    native(unowned, |_env| {
        WAITS.remove(id(h));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_testServerStart<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    port: jint,
    grace_millis: jlong,
    keepalive_millis: jlong,
) -> jlong {
    native(unowned, |_env| {
        let port = u16::try_from(port).map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("port {port} is not a TCP port"),
            )
        })?;
        let ms = |v: jlong| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        let server = blocking::block_on(TestServer::start(
            port,
            ms(grace_millis),
            ms(keepalive_millis),
        ))?;
        Ok(jid(SERVERS.insert(server)))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_testServerEndpoint<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JString<'local> {
    native(unowned, |env| {
        let server = SERVERS.get(id(h)).ok_or_else(|| shut_down("test server"))?;
        Ok(JString::from_str(env, server.endpoint())?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_testServerCounts<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) -> JLongArray<'local> {
    native(unowned, |env| {
        let (a, b, c) = SERVERS.get(id(h)).map_or((0, 0, 0), |s| s.counts());
        let array = JLongArray::new(env, 3)?;
        array.set_region(env, 0, &[a as i64, b as i64, c as i64])?;
        Ok(array)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_roster_Native_testServerStop<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    h: jlong,
) {
    native(unowned, |_env| {
        if let Some(server) = SERVERS.remove(id(h)) {
            blocking::block_on(async move { server.stop().await });
        }
        Ok(())
    })
}
