//! A publisher: republish, unregister, free.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use roster_bindings::handles::PublisherHandle;

use crate::args::{handle, texts};
use crate::error::{c_string, guard, quiet, roster_error_t};
use crate::wait::wait;

/// One publisher (opaque), from `roster_client_publish`; freed by `roster_publisher_free`.
#[allow(non_camel_case_types)]
pub struct roster_publisher_t {
    handle: Arc<PublisherHandle>,
    regist_id: CString,
    data_info_id: CString,
}

impl roster_publisher_t {
    pub(crate) fn boxed(handle: PublisherHandle) -> *mut roster_publisher_t {
        Box::into_raw(Box::new(roster_publisher_t {
            regist_id: c_string(handle.regist_id()),
            data_info_id: c_string(handle.data_info_id()),
            handle: Arc::new(handle),
        }))
    }
}

/// Replaces the publisher's data under a newer version; returns once the registry
/// acknowledged it.
///
/// @param data `data_len` NUL-terminated UTF-8 items (copied); NULL when `data_len` is 0.
/// @param timeout_ms how long to wait (0: the client's request timeout only).
/// @return NULL or an error (`ROSTER_SHUT_DOWN` once unregistered or its client closed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_republish(
    publisher: *const roster_publisher_t,
    data: *const *const c_char,
    data_len: usize,
    timeout_ms: u64,
) -> *mut roster_error_t {
    guard(|| {
        // SAFETY: a live publisher and an array as the header says.
        let (p, data) = unsafe {
            (
                handle(publisher, "publisher")?,
                texts(data, data_len, "data")?,
            )
        };
        wait(p.handle.republish(data)?, timeout_ms, "republish")
    })
}

/// Unregisters the publisher; later calls on it fail with `ROSTER_SHUT_DOWN`. A second call
/// does nothing. It still needs `roster_publisher_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_unregister(
    publisher: *const roster_publisher_t,
    timeout_ms: u64,
) -> *mut roster_error_t {
    guard(|| {
        // SAFETY: a live publisher.
        let p = unsafe { handle(publisher, "publisher") }?;
        wait(p.handle.unregister(), timeout_ms, "unregister")
    })
}

/// The version the client holds for it (it grows with each republish), or 0 once
/// unregistered (and for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_version(publisher: *const roster_publisher_t) -> u64 {
    // SAFETY: NULL or a live publisher.
    quiet(0, || {
        unsafe { publisher.as_ref() }
            .and_then(|p| p.handle.current())
            .map_or(0, |(v, _)| v)
    })
}

/// Its registId (borrowed from the publisher; NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_regist_id(
    publisher: *const roster_publisher_t,
) -> *const c_char {
    // SAFETY: NULL or a live publisher.
    quiet(std::ptr::null(), || {
        unsafe { publisher.as_ref() }.map_or(std::ptr::null(), |p| p.regist_id.as_ptr())
    })
}

/// `dataId#@#instanceId#@#group` (borrowed from the publisher; NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_data_info_id(
    publisher: *const roster_publisher_t,
) -> *const c_char {
    // SAFETY: NULL or a live publisher.
    quiet(std::ptr::null(), || {
        unsafe { publisher.as_ref() }.map_or(std::ptr::null(), |p| p.data_info_id.as_ptr())
    })
}

/// Unregisters the publisher if it still is (without waiting for the registry's answer) and
/// frees it: in C, freeing a handle is letting go of what it holds. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_free(publisher: *mut roster_publisher_t) {
    quiet((), || {
        if publisher.is_null() {
            return;
        }
        // SAFETY: a publisher from roster_client_publish, freed once.
        let p = unsafe { Box::from_raw(publisher) };
        // Applied when called; the answer is not awaited.
        drop(p.handle.unregister());
    })
}
