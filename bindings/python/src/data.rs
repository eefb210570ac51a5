//! `SubscriberData`: what a subscriber is given, shared with the core (no copy until read).

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use roster_core::SubscriberData as Core;

/// The data of one dataInfoId as a subscriber sees it: every visible publisher's items,
/// grouped by zone, at one version.
#[pyclass(frozen, name = "SubscriberData", module = "roster")]
pub struct SubscriberData(pub Arc<Core>);

#[pymethods]
impl SubscriberData {
    /// `dataId#@#instanceId#@#group`.
    #[getter]
    fn data_info_id(&self) -> String {
        self.0.data_info_id.to_string()
    }

    #[getter]
    fn data_id(&self) -> &str {
        &self.0.data_info_id.data_id
    }

    /// Grows with every change; a subscriber never goes back to an older one.
    #[getter]
    fn version(&self) -> u64 {
        self.0.version
    }

    #[getter]
    fn scope(&self) -> &'static str {
        self.0.scope.as_str()
    }

    /// Zone name to the items published in that zone.
    #[getter]
    fn zones(&self) -> BTreeMap<String, Vec<String>> {
        self.0.zones_owned()
    }

    /// True while this is the failover snapshot from the cache directory, not the registry's.
    #[getter]
    #[allow(clippy::wrong_self_convention)] // the field's name in every binding
    fn from_cache(&self) -> bool {
        self.0.from_cache
    }

    /// Items not in the previous data this subscriber's consumer was given (its callback,
    /// iterator or stream; every item for the first data). An address published twice
    /// counts twice.
    #[getter]
    fn added(&self) -> Vec<String> {
        self.0.added().map(str::to_owned).collect()
    }

    /// Items of that previous data that are gone.
    #[getter]
    fn removed(&self) -> Vec<String> {
        self.0.removed().to_vec()
    }

    /// Every item of every zone.
    fn items(&self) -> Vec<String> {
        self.0.items().map(str::to_owned).collect()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        let zones: Vec<String> = self.0.zones.keys().map(|z| format!("'{z}'")).collect();
        format!(
            "SubscriberData('{}', version={}, items={}, zones=[{}]{})",
            self.0.data_info_id,
            self.0.version,
            self.0.len(),
            zones.join(", "),
            if self.0.from_cache {
                ", from_cache=True"
            } else {
                ""
            }
        )
    }
}
