//! A publisher: republish, unregister, free.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use roster_bindings::handles::PublisherHandle;

use crate::args::{handle, out_ptr, texts};
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

/// What a publisher holds now: its version and data, copied at one moment (opaque), from
/// `roster_publisher_current`; freed by `roster_publisher_state_free`. The strings its
/// accessors return live as long as it does.
#[allow(non_camel_case_types)]
pub struct roster_publisher_state_t {
    version: u64,
    data: Vec<CString>,
}

/// The version and data the client holds for the publisher now (the version grows with each
/// republish).
///
/// @param out receives the state, to free with `roster_publisher_state_free`; NULL once
///        the publisher is unregistered, and on error.
/// @return NULL, or an error (`ROSTER_INVALID_ARGUMENT` for a NULL argument).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_current(
    publisher: *const roster_publisher_t,
    out: *mut *mut roster_publisher_state_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = std::ptr::null_mut() };
        // SAFETY: a live publisher.
        let p = unsafe { handle(publisher, "publisher") }?;
        if let Some((version, data)) = p.handle.current() {
            let state = roster_publisher_state_t {
                version,
                data: data.iter().map(|d| c_string(d)).collect(),
            };
            // SAFETY: `out` is not NULL.
            unsafe { *out = Box::into_raw(Box::new(state)) };
        }
        Ok(())
    })
}

/// The state's version; 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_state_version(
    state: *const roster_publisher_state_t,
) -> u64 {
    // SAFETY: NULL or a live state.
    quiet(0, || unsafe { state.as_ref() }.map_or(0, |s| s.version))
}

/// How many items the state's data holds; 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_state_len(
    state: *const roster_publisher_state_t,
) -> usize {
    // SAFETY: NULL or a live state.
    quiet(0, || unsafe { state.as_ref() }.map_or(0, |s| s.data.len()))
}

/// Item `i` of the state's data (borrowed from the state); NULL past the end or for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_state_item(
    state: *const roster_publisher_state_t,
    i: usize,
) -> *const c_char {
    // SAFETY: NULL or a live state.
    quiet(std::ptr::null(), || {
        unsafe { state.as_ref() }
            .and_then(|s| s.data.get(i))
            .map_or(std::ptr::null(), |d| d.as_ptr())
    })
}

/// Frees a state from `roster_publisher_current`; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_publisher_state_free(state: *mut roster_publisher_state_t) {
    if !state.is_null() {
        // SAFETY: a state from `roster_publisher_current`, freed once.
        drop(unsafe { Box::from_raw(state) });
    }
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
