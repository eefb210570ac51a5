//! Errors across the C boundary: a code one to one with the core's kinds, and the core's
//! message. Every entry point runs its body in [`guard`], so no panic crosses into C.

use std::any::Any;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

use roster_core::{Error, ErrorKind, Result};

/// The kind of an error, stable across releases (the same codes as every Roster language).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum roster_code_t {
    /// Not an error; never the code of a `roster_error_t`.
    ROSTER_OK = 0,
    /// An argument was empty, too long, malformed or over a limit; the message names it. In C
    /// also a NULL or a string that is not UTF-8.
    ROSTER_INVALID_ARGUMENT = 1,
    /// No registry node could be reached.
    ROSTER_NOT_CONNECTED = 2,
    /// The registry did not answer in time. In C also a call whose `timeout_ms` ran out.
    ROSTER_TIMEOUT = 3,
    /// The registry refused the request.
    ROSTER_REFUSED = 4,
    /// The node is not its cluster's leader.
    ROSTER_NOT_LEADER = 5,
    /// The registration is not known to the registry.
    ROSTER_NOT_FOUND = 6,
    /// The client (or the handle) was closed.
    ROSTER_SHUT_DOWN = 7,
    /// Reading or writing the cache directory failed.
    ROSTER_IO = 8,
    /// A bug or an unexpected answer.
    ROSTER_INTERNAL = 9,
    /// The registry refused the client's credentials (missing, unknown key, wrong secret, clock
    /// skew, replay).
    ROSTER_UNAUTHENTICATED = 10,
    /// The client's access key may not do this (tenant or dataId).
    ROSTER_PERMISSION_DENIED = 11,
}

use roster_code_t::*;

/// An error. Both fields are owned by the error: free it with `roster_error_free`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct roster_error_t {
    /// What kind of error.
    pub code: roster_code_t,
    /// NUL-terminated UTF-8: the code, then what went wrong (`INVALID_ARGUMENT: dataId must
    /// not be empty`).
    pub message: *mut c_char,
}

pub(crate) fn code_of(kind: ErrorKind) -> roster_code_t {
    match kind {
        ErrorKind::InvalidArgument => ROSTER_INVALID_ARGUMENT,
        ErrorKind::NotConnected => ROSTER_NOT_CONNECTED,
        ErrorKind::Timeout => ROSTER_TIMEOUT,
        ErrorKind::Refused => ROSTER_REFUSED,
        ErrorKind::NotLeader => ROSTER_NOT_LEADER,
        ErrorKind::NotFound => ROSTER_NOT_FOUND,
        ErrorKind::ShutDown => ROSTER_SHUT_DOWN,
        ErrorKind::Io => ROSTER_IO,
        ErrorKind::Unauthenticated => ROSTER_UNAUTHENTICATED,
        ErrorKind::PermissionDenied => ROSTER_PERMISSION_DENIED,
        _ => ROSTER_INTERNAL,
    }
}

/// A NUL-terminated copy of `s` (cut at an interior NUL, which C cannot see past anyway).
pub(crate) fn c_string(s: &str) -> CString {
    let end = s.find('\0').unwrap_or(s.len());
    CString::new(&s[..end]).expect("no NUL before `end`")
}

fn to_c(e: &Error) -> *mut roster_error_t {
    let error = roster_error_t {
        code: code_of(e.kind()),
        message: c_string(&e.to_string()).into_raw(),
    };
    Box::into_raw(Box::new(error))
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Runs an entry point: NULL when it succeeded, else its error (an `INTERNAL` one for a
/// panic, which never unwinds into C).
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> *mut roster_error_t {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => null_mut(),
        Ok(Err(e)) => to_c(&e),
        Err(panic) => to_c(&Error::new(
            ErrorKind::Internal,
            format!("a bug in roster: {}", panic_message(&*panic)),
        )),
    }
}

/// Runs an entry point that returns a value rather than an error: `fallback` on a panic.
pub(crate) fn quiet<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

pub(crate) fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// Frees an error returned by any `roster_*` function. NULL is fine.
///
/// @param error the error, or NULL; not usable afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_error_free(error: *mut roster_error_t) {
    quiet((), || {
        if error.is_null() {
            return;
        }
        // SAFETY: the caller passes an error this library returned, freed once.
        let error = unsafe { Box::from_raw(error) };
        if !error.message.is_null() {
            // SAFETY: `message` came from CString::into_raw in `to_c`.
            drop(unsafe { CString::from_raw(error.message) });
        }
    })
}

/// The name of an error code, e.g. `"INVALID_ARGUMENT"`, the same in every Roster language.
///
/// @param code a `roster_code_t` value.
/// @return a static NUL-terminated string (never NULL; `"UNKNOWN"` for a value that is not a
///         code).
#[unsafe(no_mangle)]
pub extern "C" fn roster_code_name(code: u32) -> *const c_char {
    let name: &'static std::ffi::CStr = match code {
        0 => c"OK",
        1 => c"INVALID_ARGUMENT",
        2 => c"NOT_CONNECTED",
        3 => c"TIMEOUT",
        4 => c"REFUSED",
        5 => c"NOT_LEADER",
        6 => c"NOT_FOUND",
        7 => c"SHUT_DOWN",
        8 => c"IO",
        9 => c"INTERNAL",
        10 => c"UNAUTHENTICATED",
        11 => c"PERMISSION_DENIED",
        _ => c"UNKNOWN",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_bindings::names::ERROR_KINDS;

    #[test]
    fn the_codes_are_the_core_kinds_one_to_one() {
        for (i, k) in ERROR_KINDS.iter().enumerate() {
            let code = code_of(k.kind);
            assert_eq!(code as usize, i + 1, "{}", k.code);
            // SAFETY: roster_code_name returns a static C string.
            let name = unsafe { std::ffi::CStr::from_ptr(roster_code_name(code as u32)) };
            assert_eq!(name.to_str().unwrap(), k.code);
        }
        assert_eq!(
            ROSTER_PERMISSION_DENIED as usize,
            ERROR_KINDS.len(),
            "the last code is the last kind"
        );
    }

    #[test]
    fn every_code_is_documented_with_the_core_description() {
        // The doc comments (which become the header's) say what the core says, word for word.
        let missing = roster_bindings::names::kinds_not_documented_in(include_str!("error.rs"));
        assert!(missing.is_empty(), "described otherwise: {missing:?}");
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let e = guard(|| panic!("boom"));
        // SAFETY: `e` is an error from `guard`.
        unsafe {
            assert_eq!((*e).code, ROSTER_INTERNAL);
            let m = std::ffi::CStr::from_ptr((*e).message).to_str().unwrap();
            assert_eq!(m, "INTERNAL: a bug in roster: boom");
            roster_error_free(e);
        }
    }
}
