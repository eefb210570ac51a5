//! Application-level discovery in the registry: the stored revisions, the interface ->
//! applications index (served as registry-maintained dataInfoIds in `MAPPING_GROUP`, so
//! clients follow it with an ordinary subscription), and the server-side conversion of
//! application publishers into interface entries for subscribers that ask for it.

use parking_lot::Mutex;
use roster_proto::appmeta::{self, AppMetadata, APP_GROUP, MAPPING_GROUP};
use roster_proto::prost::Message;

use super::*;

/// Largest revision metadata accepted, encoded.
const MAX_REVISION_BYTES: usize = 1024 * 1024;

#[derive(Default)]
pub(super) struct Apps {
    /// By revision (the hash covers the application name, so it is unique).
    pub revisions: HashMap<Arc<str>, Stored>,
    /// Application datum -> the interfaces its publishers' revisions serve.
    app_interfaces: HashMap<Arc<Key>, BTreeSet<String>>,
    /// Interface dataInfoId -> the application datums that provide it.
    interface_apps: HashMap<String, BTreeSet<Arc<Key>>>,
    /// Application datum -> the stored revisions its interfaces were computed from.
    app_revisions: HashMap<Arc<Key>, BTreeSet<String>>,
    /// Server-side conversion, cached: (interface, application publisher's item) -> the
    /// item's address and its entries. Pruned of gone items by each revision collection.
    converted: Mutex<HashMap<(Arc<str>, Bytes), Converted>>,
}

type Converted = (String, Vec<Bytes>);

impl Apps {
    /// True when `revisions` add nothing to what `app`'s interfaces were computed from, so
    /// a new or changed instance using them leaves the index as it is.
    pub(super) fn known(&self, app: &Key, revisions: &BTreeSet<String>) -> bool {
        self.app_revisions
            .get(app)
            .is_some_and(|known| revisions.is_subset(known))
    }
}

pub(super) struct Stored {
    pub meta: Arc<AppMetadata>,
    /// Since when (wall-clock µs) no application publisher refers to it (garbage-collected
    /// after a while).
    pub unused_since: Option<u64>,
}

/// Application publishers (group `SOFA_APP`) must publish service URLs that name their
/// revision; the mapping group is the registry's own. Returns the parsed items of an
/// application publisher.
pub(super) fn check_publisher(
    key: &Key,
    data: &[Bytes],
) -> Result<Option<Box<[ServiceUrl]>>, RuleError> {
    let err = |field: &str, reason: String| RuleError {
        field: field.to_owned(),
        reason,
        limit: false,
    };
    if key.group.starts_with(MAPPING_GROUP) {
        return Err(err(
            "group",
            format!(
                "{} is maintained by the registry and cannot be published to",
                key.group
            ),
        ));
    }
    if &*key.group != APP_GROUP {
        return Ok(None);
    }
    let mut items = Vec::with_capacity(data.len());
    for (i, item) in data.iter().enumerate() {
        let text = std::str::from_utf8(item).unwrap_or_default();
        let url = ServiceUrl::parse(text).map_err(|e| {
            err(
                &format!("data[{i}]"),
                format!("of an application publisher: {e}"),
            )
        })?;
        if appmeta::item_revision(&url).is_none_or(str::is_empty) {
            let why = format!(
                "of an application publisher names no {}",
                appmeta::REVISION_PARAM
            );
            return Err(err(&format!("data[{i}]"), why));
        }
        items.push(url);
    }
    Ok(Some(items.into_boxed_slice()))
}

/// The revisions an application publisher's items name.
pub(super) fn revisions_of(items: &[ServiceUrl]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(appmeta::item_revision)
        .map(str::to_owned)
        .collect()
}

/// The registry-maintained dataInfoId listing the applications that provide `interface`:
/// same dataId and instanceId, group `ROSTER_INTERFACE_APPS/<group>`.
pub fn mapping_key(interface: &Key) -> Key {
    Key {
        group: appmeta::mapping_group(&interface.group).into(),
        ..interface.clone()
    }
}

fn mapping_interface(key: &Key) -> Option<String> {
    let group = appmeta::mapped_group(&key.group)?;
    let sep = rules::DATA_INFO_SEPARATOR;
    Some(format!(
        "{}{sep}{}{sep}{group}",
        key.data_id, key.instance_id
    ))
}

impl Registry {
    /// The data of a mapping dataInfoId (the application names), `None` for other keys.
    pub(super) fn mapping_items(&self, key: &Key) -> Option<Vec<Bytes>> {
        let interface = mapping_interface(key)?;
        let apps = self.apps.interface_apps.get(&interface);
        Some(
            apps.into_iter()
                .flatten()
                .map(|app| Bytes::copy_from_slice(app.data_id.as_bytes()))
                .collect(),
        )
    }

    /// Server-side conversion: adds to `zones` the interface entries that the visible
    /// application publishers of every application providing `d`'s interface stand for,
    /// skipping addresses an interface publisher already lists.
    pub(super) fn add_converted(
        &self,
        d: &Datum,
        zones: &mut BTreeMap<String, Vec<Bytes>>,
        visible: &dyn Fn(&Publisher) -> bool,
    ) {
        let interface = d.key.to_string();
        let Some(apps) = self.apps.interface_apps.get(&interface) else {
            return;
        };
        let mut seen: HashSet<String> = zones
            .values()
            .flatten()
            .map(|b| appmeta::address_of(&String::from_utf8_lossy(b)))
            .collect();
        let interface: Arc<str> = interface.into();
        let mut cache = self.apps.converted.lock();
        for app in apps {
            let Some(datum) = self.data.get(app) else {
                continue;
            };
            for p in datum.ordered_publishers().filter(|p| visible(p)) {
                for (raw, item) in p.data.iter().zip(p.app_items.iter().flatten()) {
                    let key = (interface.clone(), raw.clone());
                    let converted = match cache.get(&key) {
                        Some(c) => c,
                        None => {
                            let rev = appmeta::item_revision(item).unwrap_or_default();
                            let Some(stored) = self.apps.revisions.get(rev) else {
                                continue; // not registered yet: it is pushed when it is
                            };
                            let entries = stored.meta.entries_for(&interface, item);
                            let c = (
                                item.address(),
                                entries.into_iter().map(Bytes::from).collect(),
                            );
                            cache.entry(key).or_insert(c)
                        }
                    };
                    if !converted.1.is_empty() && seen.insert(converted.0.clone()) {
                        zones
                            .entry(p.zone.to_string())
                            .or_default()
                            .extend(converted.1.iter().cloned());
                    }
                }
            }
        }
    }

    /// An application datum's publishers changed (or a revision they use arrived):
    /// update the interface index, and push the mapping and the converted views that
    /// depend on it.
    pub(super) fn app_changed(&mut self, key: &Arc<Key>, fx: &mut Effects) {
        if &*key.group != APP_GROUP {
            return;
        }
        let used: BTreeSet<String> = self.data.get(key).map_or_else(BTreeSet::new, |d| {
            let used: HashSet<&str> = d
                .publishers
                .values()
                .flat_map(|p| p.app_items.iter().flatten())
                .filter_map(appmeta::item_revision)
                .collect();
            used.into_iter()
                .filter(|r| self.apps.revisions.contains_key(*r))
                .map(str::to_owned)
                .collect()
        });
        // Only interfaces of the application's own tenant: a revision naming another
        // instanceId's interface must not put this application's instances in that
        // tenant's converted lists.
        let now: BTreeSet<String> = used
            .iter()
            .flat_map(|r| {
                self.apps.revisions[r.as_str()]
                    .meta
                    .services
                    .keys()
                    .filter(|i| Key::parse(i).is_some_and(|k| k.instance_id == key.instance_id))
                    .cloned()
            })
            .collect();
        if used.is_empty() {
            self.apps.app_revisions.remove(key);
        } else {
            self.apps.app_revisions.insert(key.clone(), used);
        }
        let before = self.apps.app_interfaces.remove(key).unwrap_or_default();
        if !now.is_empty() {
            self.apps.app_interfaces.insert(key.clone(), now.clone());
        }
        for interface in before.symmetric_difference(&now) {
            let apps = self
                .apps
                .interface_apps
                .entry(interface.clone())
                .or_default();
            if now.contains(interface) {
                apps.insert(key.clone());
            } else {
                apps.remove(key);
                if apps.is_empty() {
                    self.apps.interface_apps.remove(interface);
                }
            }
            if let Some(ik) = Key::parse(interface) {
                self.touch(&mapping_key(&ik), false, fx);
            }
        }
        for interface in before.union(&now) {
            if let Some(ik) = Key::parse(interface) {
                self.touch(&ik, true, fx);
            }
        }
    }

    /// An application datum's instances changed without changing the revisions they use:
    /// the index stays, only the converted views of its interfaces change.
    pub(super) fn app_instances_changed(&mut self, key: &Arc<Key>, fx: &mut Effects) {
        let Some(interfaces) = self.apps.app_interfaces.get(key) else {
            return;
        };
        for interface in interfaces.clone() {
            if let Some(ik) = Key::parse(&interface) {
                self.touch(&ik, true, fx);
            }
        }
    }

    /// Gives `key` a new version and pushes it (only to converting subscribers when
    /// `converting_only`). The version changes even when nobody would be pushed to: what
    /// a converting view lists changed, and a subscriber that comes later must not be
    /// given the new list under a version that named the old one.
    fn touch(&mut self, key: &Key, converting_only: bool, fx: &mut Effects) {
        let Some(d) = self.data.get_mut(key) else {
            return;
        };
        d.version = self.versions.next();
        self.push_all(key, None, converting_only, fx);
    }

    /// Stores a revision (checking that it is the hash of its metadata).
    pub fn register_revision(
        &mut self,
        session: SessionId,
        request_id: u64,
        r: v1::RegisterRevision,
    ) -> Effects {
        let mut fx = Effects::default();
        let wire = r.revision.unwrap_or_default();
        let rev = wire.revision.clone();
        let result = self.store_revision(&wire);
        let frame = match &result {
            Ok(_) => ack(request_id, &rev, 0, AckCode::Ok, String::new()),
            Err(e) => refused(request_id, &rev, 0, e.clone()),
        };
        self.send(session, frame, &mut fx);
        if result == Ok(true) {
            // Newly stored: application publishers may already refer to it.
            let app = wire.application.as_str();
            // Ordered: `app_changed` hands out versions.
            let mut keys: Vec<Arc<Key>> = self
                .data
                .keys()
                .filter(|k| &*k.group == APP_GROUP && &*k.data_id == app)
                .cloned()
                .collect();
            keys.sort();
            for key in keys {
                self.app_changed(&key, &mut fx);
            }
        }
        fx
    }

    /// Returns whether it was new.
    fn store_revision(&mut self, wire: &v1::AppRevision) -> Result<bool, RuleError> {
        let err = |field: &str, reason: String, limit: bool| RuleError {
            field: field.to_owned(),
            reason,
            limit,
        };
        rules::check_identifier(
            "application",
            &wire.application,
            self.limits.max_data_id_bytes,
        )?;
        if wire.encoded_len() > MAX_REVISION_BYTES {
            let why = format!(
                "is {} bytes, more than the limit of {MAX_REVISION_BYTES}",
                wire.encoded_len()
            );
            return Err(err("revision", why, true));
        }
        if self.apps.revisions.contains_key(wire.revision.as_str()) {
            return Ok(false); // idempotent: the hash says it is the same metadata
        }
        let meta = AppMetadata::from(wire);
        if !meta.is_consistent() {
            let why = format!(
                "{:?} is not the hash of its metadata (expected {:?})",
                wire.revision,
                meta.compute_revision()
            );
            return Err(err("revision", why, false));
        }
        // Stored as unused until the next collection sees a publisher refer to it; a
        // registered revision survives at least one full collection period.
        self.apps.revisions.insert(
            wire.revision.as_str().into(),
            Stored {
                meta: Arc::new(meta),
                unused_since: None,
            },
        );
        Ok(true)
    }

    /// The revisions asked for, and those not held.
    pub fn revisions(&self, refs: &[v1::RevisionRef]) -> v1::GetRevisionsResponse {
        let mut out = v1::GetRevisionsResponse::default();
        for r in refs {
            match self.apps.revisions.get(r.revision.as_str()) {
                Some(s) if s.meta.application == r.application => {
                    out.revisions.push((&*s.meta).into())
                }
                _ => out.missing.push(r.clone()),
            }
        }
        out
    }

    /// Forgets revisions that no application publisher has referred to for `after`.
    /// Returns how many were removed.
    pub(super) fn gc_revisions(&mut self, after_us: u64) -> usize {
        let now = self.versions.now;
        let used: HashSet<&str> = self
            .data
            .values()
            .filter(|d| &*d.key.group == APP_GROUP)
            .flat_map(|d| d.publishers.values())
            .flat_map(|p| p.app_items.iter().flatten())
            .filter_map(appmeta::item_revision)
            .collect();
        let mut expired = Vec::new();
        for (rev, stored) in &mut self.apps.revisions {
            if used.contains(&**rev) {
                stored.unused_since = None;
                continue;
            }
            match stored.unused_since {
                None => stored.unused_since = Some(now),
                Some(since) if now.saturating_sub(since) >= after_us => expired.push(rev.clone()),
                Some(_) => {}
            }
        }
        for rev in &expired {
            self.apps.revisions.remove(rev);
        }
        let live: HashSet<&Bytes> = self
            .data
            .values()
            .filter(|d| &*d.key.group == APP_GROUP)
            .flat_map(|d| d.publishers.values())
            .flat_map(|p| p.data.iter())
            .collect();
        self.apps
            .converted
            .lock()
            .retain(|(_, item), _| live.contains(item));
        expired.len()
    }
}
