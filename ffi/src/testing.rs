//! The reference server in-process on loopback, for tests of C code that uses Roster.

use std::ffi::{c_char, CString};
use std::ptr::null_mut;
use std::time::Duration;

use roster_bindings::blocking;
use roster_bindings::testing::TestServer;

use crate::args::out_ptr;
use crate::error::{c_string, guard, quiet, roster_error_t};

/// A reference Roster server running in this process (opaque).
#[allow(non_camel_case_types)]
pub struct roster_test_server_t {
    server: TestServer,
    endpoint: CString,
}

/// Starts a reference server on loopback.
///
/// @param port its port, or 0 for a free one (a restarted server can take its old port).
/// @param grace_ms how long it keeps a disconnected client's registrations.
/// @param out receives the server, to free with `roster_test_server_free`; NULL on error.
/// @return NULL or an error (`ROSTER_IO` when the port is taken).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_test_server_start(
    port: u16,
    grace_ms: u64,
    out: *mut *mut roster_test_server_t,
) -> *mut roster_error_t {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: `out` is not NULL.
        unsafe { *out = null_mut() };
        crate::process::prepare();
        let grace = Duration::from_millis(grace_ms);
        let server = blocking::block_on(TestServer::start(port, grace, Duration::from_secs(1)))?;
        let s = roster_test_server_t {
            endpoint: c_string(server.endpoint()),
            server,
        };
        // SAFETY: `out` is not NULL.
        unsafe { *out = Box::into_raw(Box::new(s)) };
        Ok(())
    })
}

/// `host:port`, for the `endpoints` option (borrowed from the server; NULL for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_test_server_endpoint(
    server: *const roster_test_server_t,
) -> *const c_char {
    // SAFETY: NULL or a live server.
    quiet(std::ptr::null(), || {
        unsafe { server.as_ref() }.map_or(std::ptr::null(), |s| s.endpoint.as_ptr())
    })
}

/// What the server holds now: sessions with a live connection, publishers, subscribers.
/// Any out pointer may be NULL; all are 0 for a NULL or stopped server.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_test_server_counts(
    server: *const roster_test_server_t,
    sessions: *mut usize,
    publishers: *mut usize,
    subscribers: *mut usize,
) {
    quiet((), || {
        // SAFETY: NULL or a live server.
        let (a, b, c) = unsafe { server.as_ref() }.map_or((0, 0, 0), |s| s.server.counts());
        for (p, v) in [(sessions, a), (publishers, b), (subscribers, c)] {
            // SAFETY: each is NULL or points to a size_t.
            if let Some(p) = unsafe { p.as_mut() } {
                *p = v;
            }
        }
    })
}

/// Stops the server: its registrations are gone, its clients reconnect and redo them on the
/// next server at the same endpoint. A second call does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_test_server_stop(server: *const roster_test_server_t) {
    quiet((), || {
        // SAFETY: NULL or a live server.
        if let Some(s) = unsafe { server.as_ref() } {
            blocking::block_on(s.server.stop());
        }
    })
}

/// Stops the server (if running) and frees it. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_test_server_free(server: *mut roster_test_server_t) {
    quiet((), || {
        if !server.is_null() {
            // SAFETY: a server from roster_test_server_start, freed once.
            let s = unsafe { Box::from_raw(server) };
            blocking::block_on(s.server.stop());
        }
    })
}
