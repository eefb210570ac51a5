//! A subscriber: peek, wait, unsubscribe, free.

use std::ffi::{c_char, CString};
use std::ptr::null_mut;
use std::sync::Arc;
use std::time::Duration;

use roster_bindings::handles::SubscriberHandle;

use crate::args::{handle, out_ptr};
use crate::callback::Gate;
use crate::data::roster_subscriber_data_t;
use crate::error::{c_string, guard, quiet, roster_error_t};
use crate::wait::wait;

/// One subscriber (opaque), from `roster_client_subscribe`; freed by `roster_subscriber_free`.
#[allow(non_camel_case_types)]
pub struct roster_subscriber_t {
    handle: Arc<SubscriberHandle>,
    gate: Option<Arc<Gate>>,
    regist_id: CString,
    data_info_id: CString,
}

impl roster_subscriber_t {
    pub(crate) fn boxed(
        handle: SubscriberHandle,
        gate: Option<Arc<Gate>>,
    ) -> *mut roster_subscriber_t {
        Box::into_raw(Box::new(roster_subscriber_t {
            regist_id: c_string(handle.regist_id()),
            data_info_id: c_string(handle.data_info_id()),
            handle: Arc::new(handle),
            gate,
        }))
    }

    fn stop_callback(&self) {
        if let Some(g) = &self.gate {
            g.close();
        }
    }
}

/// The latest data, without waiting.
///
/// @param out receives the data (free it with `roster_subscriber_data_free`), or NULL when
///        nothing was pushed yet.
/// @return NULL, or an error (`ROSTER_SHUT_DOWN` once unsubscribed or its client closed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_peek(
    subscriber: *const roster_subscriber_t,
    out: *mut *mut roster_subscriber_data_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        // SAFETY: a live subscriber.
        let s = unsafe { handle(subscriber, "subscriber") }?.handle.get()?;
        if let Some(d) = s.peek() {
            // SAFETY: `out` is not NULL.
            unsafe { *out = roster_subscriber_data_t::boxed(&d) };
        }
        Ok(())
    })
}

/// Waits for data newer than version `newer_than` (0: any data) and returns it.
///
/// @param out receives the data, to free with `roster_subscriber_data_free`; NULL on error.
/// @return NULL, or an error: `ROSTER_TIMEOUT` after `timeout_ms`, `ROSTER_SHUT_DOWN`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_wait_newer(
    subscriber: *const roster_subscriber_t,
    newer_than: u64,
    timeout_ms: u64,
    out: *mut *mut roster_subscriber_data_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        // SAFETY: a live subscriber.
        let s = unsafe { handle(subscriber, "subscriber") }?.handle.get()?;
        let limit = Duration::from_millis(timeout_ms);
        let d = wait(s.wait_newer(newer_than, limit), 0, "wait")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = roster_subscriber_data_t::boxed(&d) };
        Ok(())
    })
}

/// Unsubscribes: when it returns, its callback is not running and will not be called again
/// (called from that callback, it returns without waiting for the call to end). Later calls
/// on it fail with `ROSTER_SHUT_DOWN`; a second call does nothing. It still needs
/// `roster_subscriber_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_unsubscribe(
    subscriber: *const roster_subscriber_t,
    timeout_ms: u64,
) -> *mut roster_error_t {
    guard(|| {
        // SAFETY: a live subscriber.
        let s = unsafe { handle(subscriber, "subscriber") }?;
        s.stop_callback();
        wait(s.handle.unsubscribe(), timeout_ms, "unsubscribe")
    })
}

/// Its registId (borrowed from the subscriber; NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_regist_id(
    subscriber: *const roster_subscriber_t,
) -> *const c_char {
    // SAFETY: NULL or a live subscriber.
    quiet(std::ptr::null(), || {
        unsafe { subscriber.as_ref() }.map_or(std::ptr::null(), |s| s.regist_id.as_ptr())
    })
}

/// `dataId#@#instanceId#@#group` (borrowed from the subscriber; NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_data_info_id(
    subscriber: *const roster_subscriber_t,
) -> *const c_char {
    // SAFETY: NULL or a live subscriber.
    quiet(std::ptr::null(), || {
        unsafe { subscriber.as_ref() }.map_or(std::ptr::null(), |s| s.data_info_id.as_ptr())
    })
}

/// Unsubscribes if it still is (stopping its callback as `roster_subscriber_unsubscribe`
/// does, without waiting for the registry's answer) and frees it. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_free(subscriber: *mut roster_subscriber_t) {
    quiet((), || {
        if subscriber.is_null() {
            return;
        }
        // SAFETY: a subscriber from roster_client_subscribe, freed once.
        let s = unsafe { Box::from_raw(subscriber) };
        s.stop_callback();
        drop(s.handle.unsubscribe());
    })
}
