//! Client options, set one at a time by name as text, the way every Roster language names
//! them (`endpoints`, `appName`, `requestTimeoutMs`, ...).

use std::ffi::c_char;

use roster_bindings::options::{self, Value};
use roster_core::Result;

use crate::args::{handle_mut, text};
use crate::error::{guard, quiet, roster_error_t};

/// Options for `roster_client_new`, built with `roster_options_set`.
#[allow(non_camel_case_types)]
pub struct roster_options_t {
    pub(crate) values: Vec<(&'static str, Value)>,
}

/// New, empty options (every option at its default).
///
/// @return options to free with `roster_options_free` (never NULL).
#[unsafe(no_mangle)]
pub extern "C" fn roster_options_new() -> *mut roster_options_t {
    Box::into_raw(Box::new(roster_options_t { values: Vec::new() }))
}

/// Sets one option by name (camelCase or snake_case). `endpoints` is a comma-separated list
/// of `host:port` (a Roster server) or `sofa://host[:port]` (a SOFARegistry); the `...Ms`
/// options and `migrationThreshold` are numbers; `tls` is `true` or `false`; the others
/// (`appName`, `zone`, `dataCenter`, `instanceId`, `publishMode`, `subscribeMode`,
/// `cacheDir`, `tlsCaFile`, `tlsCertFile`, `tlsKeyFile`, `tlsServerName`, `accessKey`,
/// `secretKey`) strings. Values are checked by `roster_client_new`; the name and a number's
/// format here.
///
/// @param options options from `roster_options_new` (not used by another thread meanwhile).
/// @param name NUL-terminated option name.
/// @param value NUL-terminated UTF-8 value (copied).
/// @return NULL, or an error to free with `roster_error_free` (`ROSTER_INVALID_ARGUMENT` for
///         an unknown name, listing the options).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_options_set(
    options: *mut roster_options_t,
    name: *const c_char,
    value: *const c_char,
) -> *mut roster_error_t {
    guard(|| -> Result<()> {
        // SAFETY: C passes options no other thread uses, and NUL-terminated strings (or NULL).
        let (opts, name, value) = unsafe {
            (
                handle_mut(options, "options")?,
                text(name, "name")?,
                text(value, "value")?,
            )
        };
        let (key, value) = options::from_text(name, value)?;
        opts.values.retain(|(k, _)| *k != key);
        opts.values.push((key, value));
        Ok(())
    })
}

/// Frees options. NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_options_free(options: *mut roster_options_t) {
    quiet((), || {
        if !options.is_null() {
            // SAFETY: options from roster_options_new, freed once.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}
