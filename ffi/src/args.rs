//! Arguments from C: NUL-terminated UTF-8 strings and arrays of them. NULL where a value is
//! needed, or bytes that are not UTF-8, are `INVALID_ARGUMENT` naming the argument.

use std::ffi::{c_char, CStr};

use roster_core::Result;

use crate::error::invalid;

/// A required string argument.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn text<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: as the caller promises.
    unsafe { optional_text(p, name) }?.ok_or_else(|| invalid(format!("{name} must not be NULL")))
}

/// A string argument where NULL means "the default".
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn optional_text<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: as the caller promises.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|e| invalid(format!("{name} is not valid UTF-8 ({e})")))
}

/// An array of `len` strings (NULL is fine when `len` is 0).
///
/// # Safety
/// `p` is NULL or points to `len` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn texts(p: *const *const c_char, len: usize, name: &str) -> Result<Vec<String>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(invalid(format!(
            "{name} must not be NULL when its length is {len}"
        )));
    }
    // SAFETY: `p` points to `len` pointers, as the caller promises.
    let items = unsafe { std::slice::from_raw_parts(p, len) };
    items
        .iter()
        .enumerate()
        // SAFETY: each element is NULL or a NUL-terminated string.
        .map(|(i, item)| unsafe { text(*item, &format!("{name}[{i}]")) }.map(str::to_owned))
        .collect()
}

/// A handle argument: NULL is `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or a live object of type `T` made by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: as the caller promises.
    unsafe { p.as_ref() }.ok_or_else(|| invalid(format!("{name} must not be NULL")))
}

/// A handle argument the call changes: NULL is `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or a live object of type `T` made by this library, used by no other thread.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: as the caller promises.
    unsafe { p.as_mut() }.ok_or_else(|| invalid(format!("{name} must not be NULL")))
}

/// An out-parameter: NULL is `INVALID_ARGUMENT`.
pub(crate) fn out_ptr<T>(p: *mut *mut T, name: &str) -> Result<*mut *mut T> {
    if p.is_null() {
        return Err(invalid(format!("{name} must not be NULL")));
    }
    Ok(p)
}
