//! The registry's nouns as the user sees them: dataInfoIds, scopes, registrations and the
//! data pushed to subscribers.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;

use roster_proto::rules;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::items::{Item, Items, Joined};

pub use rules::{DEFAULT_GROUP, DEFAULT_INSTANCE_ID};

/// `dataId`, `group` and `instanceId`: together the dataInfoId
/// `dataId#@#instanceId#@#group` (the protocol crate's type, shared with the server).
pub type DataInfoId = roster_proto::DataInfoId;

/// Which publishers a subscriber sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Only publishers in the client's zone.
    #[default]
    Zone,
    /// Publishers of every zone in the client's data center.
    DataCenter,
    /// Publishers of every zone.
    Global,
}

/// Gives an enum its names for every binding (`as_str`) and parsing from them
/// (`FromStr`, with an error that lists the names).
macro_rules! named {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order (bindings map their enums to these).
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name every binding uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => {
                        let names: Vec<String> = [$($name),+].iter().map(|n| format!("{n:?}")).collect();
                        Err(Error::invalid(format!(
                            "{} {other:?} is not one of {}",
                            $what,
                            names.join(", ")
                        )))
                    }
                }
            }
        }
    };
}

named!(Scope, "scope", { Zone => "zone", DataCenter => "dataCenter", Global => "global" });
named!(PublishMode, "publish mode", { Interface => "interface", Application => "application", All => "all" });
named!(SubscribeMode, "subscribe mode", {
    ForceInterface => "force-interface",
    ApplicationFirst => "application-first",
    ForceApplication => "force-application",
});

/// Which level the client publishes at (the migration to application-level discovery).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PublishMode {
    /// One publisher per interface, as always.
    #[default]
    Interface,
    /// One application publisher per instance plus revision metadata; interface
    /// publishers whose items are service URLs are not sent.
    Application,
    /// Both: the dual publish used while consumers migrate.
    All,
}

/// How a subscriber finds providers (the consumer's migration step).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SubscribeMode {
    /// Interface level only; the registry adds entries converted from application-level
    /// providers (server-side conversion), so every provider is seen.
    #[default]
    ForceInterface,
    /// Both levels, converted and merged in the client, de-duplicated by address.
    ApplicationFirst,
    /// Application level only, once it holds at least the configured threshold share of
    /// the interface-level list (until then it behaves as `ApplicationFirst`).
    ForceApplication,
}

/// Where a subscriber stands in its migration, for the user to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationStatus {
    ForceInterface,
    ApplicationFirst,
    /// Asked for `ForceApplication`, still merging both levels: the application-level list
    /// holds `application` addresses, fewer than the threshold share of `interface`.
    Pending {
        application: usize,
        interface: usize,
    },
    ForceApplication,
}

/// What to publish: a list of strings (usually URLs) under a dataInfoId.
#[derive(Clone, Debug)]
pub struct PublisherRegistration {
    pub(crate) key: DataInfoId,
    pub(crate) data: Vec<String>,
    pub(crate) instance_id_set: bool,
}

impl PublisherRegistration {
    pub fn new(data_id: impl Into<String>) -> Self {
        Self {
            key: DataInfoId::new(data_id),
            data: Vec::new(),
            instance_id_set: false,
        }
    }

    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.key.group = group.into();
        self
    }

    /// The tenant; defaults to the client's `instance_id`.
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.key.instance_id = instance_id.into();
        self.instance_id_set = true;
        self
    }

    pub fn data<I, S>(mut self, data: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.data = data.into_iter().map(Into::into).collect();
        self
    }
}

/// What to subscribe to: a dataInfoId and a scope.
#[derive(Clone, Debug)]
pub struct SubscriberRegistration {
    pub(crate) key: DataInfoId,
    pub(crate) scope: Scope,
    pub(crate) instance_id_set: bool,
    pub(crate) mode: Option<SubscribeMode>,
}

impl SubscriberRegistration {
    pub fn new(data_id: impl Into<String>) -> Self {
        Self {
            key: DataInfoId::new(data_id),
            scope: Scope::default(),
            instance_id_set: false,
            mode: None,
        }
    }

    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.key.group = group.into();
        self
    }

    /// The tenant; defaults to the client's `instance_id`.
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.key.instance_id = instance_id.into();
        self.instance_id_set = true;
        self
    }

    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// This subscription's mode, instead of following the client's.
    pub fn mode(mut self, mode: SubscribeMode) -> Self {
        self.mode = Some(mode);
        self
    }
}

/// The data a subscriber receives: every visible publisher's items, grouped by zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberData {
    pub data_info_id: DataInfoId,
    /// The datum's version at the registry; grows with every change.
    pub version: u64,
    pub scope: Scope,
    /// Zone name to the items published in that zone.
    pub zones: BTreeMap<String, Items>,
    /// True when this came from the failover snapshot on disk, not from the registry.
    #[serde(skip)]
    pub from_cache: bool,
    /// What changed since the previous data this subscriber's consumer was given: read it
    /// with [`SubscriberData::added`] and [`SubscriberData::removed`]. `Default` (every item
    /// added) for data you build yourself.
    #[serde(skip)]
    pub changes: Changes,
}

/// The change set of a [`SubscriberData`]: one pointer, empty for the first data (every
/// item added). Added items are kept as positions in the list, so a large list is not held
/// twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes(Option<Box<Diff>>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Diff {
    /// Positions in `items()` order.
    added: Box<[u32]>,
    removed: Box<[String]>,
}

impl SubscriberData {
    /// Every item of every zone.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.zones.values().flatten().map(Item::as_str)
    }

    /// This data as first data (every item added), for a subscriber that had none: itself
    /// when it has no change set, else a copy without one (its items are shared).
    pub(crate) fn as_first_data(self: &Arc<Self>) -> Arc<Self> {
        if self.changes == Changes::default() {
            return self.clone();
        }
        let mut first = SubscriberData::clone(self);
        first.changes = Changes::default();
        Arc::new(first)
    }

    /// The zones with their items as owned strings (for a binding handing them over).
    pub fn zones_owned(&self) -> BTreeMap<String, Vec<String>> {
        self.zones
            .iter()
            .map(|(zone, items)| (zone.clone(), items.iter().map(|i| i.to_string()).collect()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.zones.values().map(Items::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items in this data that were not in the previous data this subscriber's consumer was
    /// given (its callback or its updates stream; with neither, the previous push), in list
    /// order; every item for the first data. A multiset difference over items (zones aside):
    /// an address published twice counts twice. Lets a caller holding a connection per
    /// address update only what changed.
    pub fn added(&self) -> impl Iterator<Item = &str> {
        // Straight to the positions: a change of one item in a 7,000-item list is not a
        // walk through the list.
        let positions = self.changes.0.as_deref().map(|d| &*d.added);
        let all = positions.is_none().then(|| self.items());
        let some = positions.map(|p| p.iter().filter_map(|&i| self.item_at(i as usize)));
        all.into_iter().flatten().chain(some.into_iter().flatten())
    }

    /// The item at `index` in `items()` order.
    fn item_at(&self, mut index: usize) -> Option<&str> {
        for items in self.zones.values() {
            match items.get(index) {
                Some(item) => return Some(item),
                None => index -= items.len(),
            }
        }
        None
    }

    /// Items of that previous data that are not in this one.
    pub fn removed(&self) -> &[String] {
        self.changes.0.as_deref().map_or(&[], |d| &d.removed)
    }

    /// Sets the change set to what changed since `before` (every item added when there is
    /// none).
    pub(crate) fn set_changes_since(&mut self, before: Option<&SubscriberData>) {
        let Some(before) = before else {
            self.changes = Changes::default();
            return;
        };
        // The lists differ in a run or two (one publisher's change): pair off the common
        // head and tail first, and count only what is left.
        // Versions of a list share their unchanged chunks: those are skipped unread.
        let (old, new) = (
            Joined::new(before.zones.values()),
            Joined::new(self.zones.values()),
        );
        let (head, tail) = old.common_ends(&new);
        let old: Vec<&str> = old
            .range(head..old.len() - tail)
            .map(Item::as_str)
            .collect();
        let new: Vec<&str> = new
            .range(head..new.len() - tail)
            .map(Item::as_str)
            .collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for &item in &old {
            *count.entry(item).or_default() += 1;
        }
        let mut added = Vec::new();
        for (i, item) in new.into_iter().enumerate() {
            match count.get_mut(item) {
                Some(n) if *n > 0 => *n -= 1,
                _ => added.push(u32::try_from(head + i).unwrap_or(u32::MAX)),
            }
        }
        let mut removed = Vec::new();
        for item in old {
            if let Some(n) = count.get_mut(item).filter(|n| **n > 0) {
                *n -= 1;
                removed.push(item.to_owned());
            }
        }
        self.changes = Changes(Some(Box::new(Diff {
            added: added.into(),
            removed: removed.into(),
        })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(zones: &[(&str, &[&str])]) -> SubscriberData {
        SubscriberData {
            data_info_id: DataInfoId::new("svc"),
            version: 1,
            scope: Scope::Global,
            zones: zones
                .iter()
                .map(|(z, items)| {
                    (
                        z.to_string(),
                        items.iter().map(|i| Item::from(*i)).collect(),
                    )
                })
                .collect(),
            from_cache: false,
            changes: Changes::default(),
        }
    }

    fn owned<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
        items.map(str::to_owned).collect()
    }

    #[test]
    fn change_sets_are_multiset_differences_in_list_order() {
        let before = data(&[("a", &["x", "y", "y"]), ("b", &["z"])]);
        let mut after = data(&[("a", &["y", "w"]), ("b", &["z", "x", "v"])]);
        after.set_changes_since(Some(&before));
        // Items, not zones: "x" moved from zone a to zone b and is neither.
        assert_eq!(owned(after.added()), ["w", "v"]);
        assert_eq!(after.removed(), ["y"]);
        after.set_changes_since(None);
        assert_eq!(owned(after.added()), ["y", "w", "z", "x", "v"]);
        assert!(after.removed().is_empty());
        let mut same = before.clone();
        same.set_changes_since(Some(&before));
        assert!(same.added().next().is_none() && same.removed().is_empty());
    }

    #[test]
    fn names_round_trip_and_errors_list_them() {
        for scope in [Scope::Zone, Scope::DataCenter, Scope::Global] {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
        assert_eq!("all".parse::<PublishMode>().unwrap(), PublishMode::All);
        assert_eq!(
            SubscribeMode::ApplicationFirst.as_str(),
            "application-first"
        );
        let e = "galactic".parse::<Scope>().unwrap_err();
        assert_eq!(
            e.message(),
            "scope \"galactic\" is not one of \"zone\", \"dataCenter\", \"global\""
        );
    }
}
