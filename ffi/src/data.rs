//! A subscriber's data as C reads it: every string converted once, NUL-terminated, and
//! borrowed from the `roster_subscriber_data_t` by the accessors.

use std::ffi::{c_char, CStr, CString};
use std::ptr::null;
use std::sync::Arc;

use roster_core::{Scope, SubscriberData};

use crate::error::{c_string, quiet};

/// The data of one subscription at one version: zones of items. Passed to a subscriber
/// callback (borrowed for the call), or returned by `roster_subscriber_peek` /
/// `roster_subscriber_wait_newer` (owned: free with `roster_subscriber_data_free`). The strings
/// its accessors return live as long as it does.
#[allow(non_camel_case_types)]
pub struct roster_subscriber_data_t {
    version: u64,
    from_cache: bool,
    scope: &'static CStr,
    data_info_id: CString,
    zones: Vec<(CString, Vec<CString>)>,
    len: usize,
    added: Vec<CString>,
    removed: Vec<CString>,
}

impl roster_subscriber_data_t {
    pub(crate) fn new(d: &Arc<SubscriberData>) -> roster_subscriber_data_t {
        roster_subscriber_data_t {
            version: d.version,
            from_cache: d.from_cache,
            scope: scope_name(d.scope),
            data_info_id: c_string(&d.data_info_id.to_string()),
            zones: d
                .zones
                .iter()
                .map(|(z, items)| (c_string(z), items.iter().map(|i| c_string(i)).collect()))
                .collect(),
            len: d.len(),
            added: d.added().map(c_string).collect(),
            removed: d.removed().iter().map(|i| c_string(i)).collect(),
        }
    }

    pub(crate) fn boxed(d: &Arc<SubscriberData>) -> *mut roster_subscriber_data_t {
        Box::into_raw(Box::new(Self::new(d)))
    }
}

pub(crate) fn scope_name(scope: Scope) -> &'static CStr {
    match scope {
        Scope::Zone => c"zone",
        Scope::DataCenter => c"dataCenter",
        Scope::Global => c"global",
    }
}

/// Runs `f` on the data, or gives `none` for NULL (and on a panic).
fn with<T: Copy>(
    d: *const roster_subscriber_data_t,
    none: T,
    f: impl FnOnce(&roster_subscriber_data_t) -> T,
) -> T {
    // SAFETY: C passes NULL or data from this library that it has not freed.
    quiet(none, || unsafe { d.as_ref() }.map_or(none, f))
}

/// The version: it grows with every change, and a subscriber never goes back to an older one.
/// 0 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_version(data: *const roster_subscriber_data_t) -> u64 {
    with(data, 0, |d| d.version)
}

/// True while this is the failover snapshot from the cache directory, not the registry's.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_from_cache(data: *const roster_subscriber_data_t) -> bool {
    with(data, false, |d| d.from_cache)
}

/// `dataId#@#instanceId#@#group` (borrowed from `data`; NULL for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_data_info_id(
    data: *const roster_subscriber_data_t,
) -> *const c_char {
    with(data, null(), |d| d.data_info_id.as_ptr())
}

/// The subscription's scope: `"zone"`, `"dataCenter"` or `"global"` (static; NULL for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_scope(
    data: *const roster_subscriber_data_t,
) -> *const c_char {
    with(data, null(), |d| d.scope.as_ptr())
}

/// How many items in all zones together.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_len(data: *const roster_subscriber_data_t) -> usize {
    with(data, 0, |d| d.len)
}

/// How many zones have items.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_zone_count(
    data: *const roster_subscriber_data_t,
) -> usize {
    with(data, 0, |d| d.zones.len())
}

/// The name of zone `zone` (0-based, in name order; borrowed from `data`), or NULL when out of
/// range.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_zone(
    data: *const roster_subscriber_data_t,
    zone: usize,
) -> *const c_char {
    with(data, null(), |d| {
        d.zones.get(zone).map_or(null(), |(name, _)| name.as_ptr())
    })
}

/// How many items zone `zone` has (0 when out of range).
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_item_count(
    data: *const roster_subscriber_data_t,
    zone: usize,
) -> usize {
    with(data, 0, |d| {
        d.zones.get(zone).map_or(0, |(_, items)| items.len())
    })
}

/// How many items were added since the previous data this subscriber's callback was given
/// (every item for the first data; an address published twice counts twice).
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_added_count(
    data: *const roster_subscriber_data_t,
) -> usize {
    with(data, 0, |d| d.added.len())
}

/// Added item `i` (borrowed from `data`), or NULL when out of range.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_added(
    data: *const roster_subscriber_data_t,
    i: usize,
) -> *const c_char {
    with(data, null(), |d| {
        d.added.get(i).map_or(null(), |s| s.as_ptr())
    })
}

/// How many items of that previous data are gone.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_removed_count(
    data: *const roster_subscriber_data_t,
) -> usize {
    with(data, 0, |d| d.removed.len())
}

/// Removed item `i` (borrowed from `data`), or NULL when out of range.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_removed(
    data: *const roster_subscriber_data_t,
    i: usize,
) -> *const c_char {
    with(data, null(), |d| {
        d.removed.get(i).map_or(null(), |s| s.as_ptr())
    })
}

/// Item `item` of zone `zone` (borrowed from `data`), or NULL when out of range.
#[unsafe(no_mangle)]
pub extern "C" fn roster_subscriber_data_item(
    data: *const roster_subscriber_data_t,
    zone: usize,
    item: usize,
) -> *const c_char {
    with(data, null(), |d| {
        d.zones
            .get(zone)
            .and_then(|(_, items)| items.get(item))
            .map_or(null(), |i| i.as_ptr())
    })
}

/// Frees data returned by `roster_subscriber_peek` or `roster_subscriber_wait_newer` (never the
/// data a callback borrows). NULL is fine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn roster_subscriber_data_free(data: *mut roster_subscriber_data_t) {
    quiet((), || {
        if !data.is_null() {
            // SAFETY: data this library returned as owned, freed once.
            drop(unsafe { Box::from_raw(data) });
        }
    })
}
