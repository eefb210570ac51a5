//! The client: new, connection, publish, subscribe, close.

use std::ffi::{c_char, c_void, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use roster_bindings::handles::ClientHandle;
use roster_bindings::options::{self, OptionError};
use roster_bindings::registration::{PublishOptions, SubscribeOptions};
use roster_bindings::{blocking, runtime};
use roster_core::{Error, ErrorKind, Result};

use crate::args::{handle, optional_text, out_ptr, text, texts};
use crate::callback::{callback as make_callback, roster_subscriber_callback_t, Gate};
use crate::error::{c_string, guard, invalid, quiet, roster_error_t};
use crate::options::roster_options_t;
use crate::publisher::roster_publisher_t;
use crate::subscriber::roster_subscriber_t;
use crate::wait::wait;

/// A connection to the registry (opaque). Made by `roster_client_new`, freed by
/// `roster_client_free`; every function may be called from any thread.
#[allow(non_camel_case_types)]
pub struct roster_client_t {
    handle: ClientHandle,
    client_id: CString,
    closed: AtomicBool,
    /// The callbacks of its subscribers, stopped when it closes.
    gates: Mutex<Vec<Weak<Gate>>>,
}

impl roster_client_t {
    fn close(&self, timeout_ms: u64) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        for gate in self.gates.lock().drain(..) {
            if let Some(g) = gate.upgrade() {
                g.close();
            }
        }
        let closing = self.handle.close();
        let closed = async {
            closing.await;
            Ok(())
        };
        wait(closed, timeout_ms, "closing the client")
    }
}

/// Where a publisher goes besides its dataId; NULL fields (or a NULL pointer) take the
/// defaults.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct roster_publish_options_t {
    /// The group (default `DEFAULT_GROUP`).
    pub group: *const c_char,
    /// The tenant (default: the client's `instanceId`).
    pub instance_id: *const c_char,
}

/// What a subscriber sees; NULL fields (or a NULL pointer) take the defaults.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct roster_subscribe_options_t {
    /// `"zone"` (the default), `"dataCenter"` or `"global"`.
    pub scope: *const c_char,
    /// The group (default `DEFAULT_GROUP`).
    pub group: *const c_char,
    /// The tenant (default: the client's `instanceId`).
    pub instance_id: *const c_char,
    /// `"force-interface"`, `"application-first"` or `"force-application"` (default: the
    /// client's `subscribeMode`).
    pub mode: *const c_char,
}

/// Makes a client and starts connecting in the background (operations made before the
/// session is up are registered when it comes up).
///
/// @param options options from `roster_options_new` (read, not kept: free them when you
///        like), or NULL for every default (`127.0.0.1:9600`).
/// @param out receives the client, to free with `roster_client_free`; NULL on error.
/// @return NULL, or an error (`ROSTER_INVALID_ARGUMENT` naming a bad option).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_new(
    options: *const roster_options_t,
    out: *mut *mut roster_client_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        // SAFETY: NULL or live options.
        let values = unsafe { options.as_ref() }
            .map(|o| o.values.clone())
            .unwrap_or_default();
        let builder = options::builder(values).map_err(|e| match e {
            OptionError::Type(m) => invalid(m),
            OptionError::Invalid(e) => e,
        })?;
        crate::process::prepare();
        let client = runtime::enter(|| builder.build())?;
        let client = roster_client_t {
            client_id: c_string(client.client_id()),
            handle: ClientHandle::new(client),
            closed: AtomicBool::new(false),
            gates: Mutex::new(Vec::new()),
        };
        // SAFETY: `out` is not NULL.
        unsafe { *out = Box::into_raw(Box::new(client)) };
        Ok(())
    })
}

/// Waits until a session with the registry is up.
///
/// @return NULL, or `ROSTER_NOT_CONNECTED` (naming the endpoints tried and why) after
///         `timeout_ms`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_wait_connected(
    client: *const roster_client_t,
    timeout_ms: u64,
) -> *mut roster_error_t {
    guard(|| {
        // SAFETY: NULL or a live client.
        let c = unsafe { handle(client, "client") }?.handle.client().clone();
        blocking::block_on(async move { c.wait_connected(Duration::from_millis(timeout_ms)).await })
    })
}

/// Whether a session with the registry is up now (false for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_is_connected(client: *const roster_client_t) -> bool {
    // SAFETY: NULL or a live client.
    quiet(false, || {
        unsafe { client.as_ref() }.is_some_and(|c| c.handle.client().is_connected())
    })
}

/// The id that identifies this client's session to the registry (borrowed from the client;
/// NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_id(client: *const roster_client_t) -> *const c_char {
    // SAFETY: NULL or a live client.
    quiet(std::ptr::null(), || {
        unsafe { client.as_ref() }.map_or(std::ptr::null(), |c| c.client_id.as_ptr())
    })
}

/// Publishes `data` under `data_id`; returns once the registry acknowledged it (at once while
/// no session is up: it is registered when one comes up).
///
/// @param data_id NUL-terminated UTF-8, e.g. `"com.example.OrderService:1.0"`.
/// @param data `data_len` NUL-terminated UTF-8 items (copied); NULL when `data_len` is 0.
/// @param options group and tenant, or NULL.
/// @param timeout_ms how long to wait (0: the client's request timeout only). On
///        `ROSTER_TIMEOUT` the publish stays in effect.
/// @param out receives the publisher, to free with `roster_publisher_free`; NULL on error.
/// @return NULL or an error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_publish(
    client: *const roster_client_t,
    data_id: *const c_char,
    data: *const *const c_char,
    data_len: usize,
    options: *const roster_publish_options_t,
    timeout_ms: u64,
    out: *mut *mut roster_publisher_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        // SAFETY: C passes a live client, strings and arrays as the header says.
        let (c, data_id, data) = unsafe {
            (
                handle(client, "client")?,
                text(data_id, "dataId")?,
                texts(data, data_len, "data")?,
            )
        };
        let mut opts = PublishOptions::default();
        // SAFETY: NULL or live options.
        if let Some(o) = unsafe { options.as_ref() } {
            // SAFETY: the fields are NULL or NUL-terminated strings.
            unsafe {
                opts.group = optional_text(o.group, "options.group")?.map(str::to_owned);
                opts.instance_id =
                    optional_text(o.instance_id, "options.instance_id")?.map(str::to_owned);
            }
        }
        let p = wait(
            c.handle.publish(data_id.to_owned(), data, opts),
            timeout_ms,
            "publish",
        )?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = roster_publisher_t::boxed(p) };
        Ok(())
    })
}

/// Subscribes to `data_id`; returns once the registry acknowledged it. With a callback, it
/// is called with the data and each newer version (see `roster_subscriber_callback_t`) until
/// the subscription ends.
///
/// @param options scope, group, tenant and mode, or NULL.
/// @param callback called on a Roster thread, or NULL (read with `roster_subscriber_peek` /
///        `roster_subscriber_wait_newer`).
/// @param user_data given back to `callback`; it must stay valid until
///        `roster_subscriber_unsubscribe`, `roster_subscriber_free` or
///        `roster_client_close` returns, after which the callback is never called again.
/// @param timeout_ms how long to wait (0: the client's request timeout only).
/// @param out receives the subscriber, to free with `roster_subscriber_free`; NULL on error.
/// @return NULL or an error.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn roster_client_subscribe(
    client: *const roster_client_t,
    data_id: *const c_char,
    options: *const roster_subscribe_options_t,
    callback: roster_subscriber_callback_t,
    user_data: *mut c_void,
    timeout_ms: u64,
    out: *mut *mut roster_subscriber_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        // SAFETY: C passes a live client and NUL-terminated strings.
        let (c, data_id) = unsafe { (handle(client, "client")?, text(data_id, "dataId")?) };
        let mut opts = SubscribeOptions::default();
        // SAFETY: NULL or live options.
        if let Some(o) = unsafe { options.as_ref() } {
            // SAFETY: the fields are NULL or NUL-terminated strings.
            unsafe {
                opts = SubscribeOptions::parse(
                    optional_text(o.scope, "options.scope")?,
                    optional_text(o.group, "options.group")?.map(str::to_owned),
                    optional_text(o.instance_id, "options.instance_id")?.map(str::to_owned),
                    optional_text(o.mode, "options.mode")?,
                )?;
            }
        }
        if c.closed.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::ShutDown, "the client is closed"));
        }
        let (cb, gate) = match callback {
            Some(f) => {
                let (cb, gate) = make_callback(f, user_data);
                (Some(cb), Some(gate))
            }
            None => (None, None),
        };
        if let Some(g) = &gate {
            let mut gates = c.gates.lock();
            gates.retain(|w| w.strong_count() > 0);
            gates.push(Arc::downgrade(g));
        }
        let subscribed = wait(
            c.handle.subscribe(data_id.to_owned(), opts, cb),
            timeout_ms,
            "subscribe",
        );
        let s = match subscribed {
            Ok(s) => s,
            Err(e) => {
                if let Some(g) = gate {
                    g.close();
                }
                return Err(e);
            }
        };
        // SAFETY: `out` is not NULL.
        unsafe { *out = roster_subscriber_t::boxed(s, gate) };
        Ok(())
    })
}

/// Unregisters everything the client holds, stops its subscribers' callbacks and closes
/// the session; later calls on it and on its publishers and subscribers fail with
/// `ROSTER_SHUT_DOWN`. A second call does nothing. The client still needs
/// `roster_client_free`.
///
/// @param timeout_ms how long to wait for the registry (0: no limit beyond the client's
///        request timeout).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_close(
    client: *const roster_client_t,
    timeout_ms: u64,
) -> *mut roster_error_t {
    guard(|| {
        // SAFETY: NULL or a live client.
        unsafe { handle(client, "client") }?.close(timeout_ms)
    })
}

/// Closes the client (as `roster_client_close`, if not closed yet) and frees it. Its
/// publishers and subscribers stay valid to free (their calls fail with
/// `ROSTER_SHUT_DOWN`). NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_client_free(client: *mut roster_client_t) {
    quiet((), || {
        if client.is_null() {
            return;
        }
        // SAFETY: a client from roster_client_new, freed once.
        let c = unsafe { Box::from_raw(client) };
        let _ = c.close(0);
    })
}
