//! `NativeData`: the data a subscriber is given, shared with the core (no copy until read).

use std::collections::BTreeMap;
use std::sync::Arc;

use napi_derive::napi;
use roster_core::SubscriberData;

#[napi]
pub struct NativeData(pub(crate) Arc<SubscriberData>);

#[napi]
impl NativeData {
    /// `dataId#@#instanceId#@#group`.
    #[napi(getter)]
    pub fn data_info_id(&self) -> String {
        self.0.data_info_id.to_string()
    }

    #[napi(getter)]
    pub fn data_id(&self) -> String {
        self.0.data_info_id.data_id.clone()
    }

    /// Grows with every change (microseconds: a bigint).
    #[napi(getter)]
    pub fn version(&self) -> u64 {
        self.0.version
    }

    #[napi(getter)]
    pub fn scope(&self) -> &'static str {
        self.0.scope.as_str()
    }

    /// Zone name to the items published in that zone.
    #[napi(getter)]
    pub fn zones(&self) -> BTreeMap<String, Vec<String>> {
        self.0.zones_owned()
    }

    #[napi(getter)]
    #[allow(clippy::wrong_self_convention)] // the field's name in every binding
    pub fn from_cache(&self) -> bool {
        self.0.from_cache
    }

    /// Items not in the previous data this subscriber's consumer was given.
    #[napi(getter)]
    pub fn added(&self) -> Vec<String> {
        self.0.added().map(str::to_owned).collect()
    }

    /// Items of that previous data that are gone.
    #[napi(getter)]
    pub fn removed(&self) -> Vec<String> {
        self.0.removed().to_vec()
    }

    /// Every item of every zone.
    #[napi]
    pub fn items(&self) -> Vec<String> {
        self.0.items().map(str::to_owned).collect()
    }

    #[napi(getter)]
    pub fn length(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
}
