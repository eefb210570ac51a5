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

#[cfg(test)]
mod tests {
    use roster_proto::appmeta::ServiceInfo;

    use super::super::test_support::*;
    use super::*;

    const SVC: &str = "svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP";

    /// Revision metadata of `app` serving `interfaces` over bolt on port 12200, with v=1.
    fn meta(app: &str, interfaces: &[&str]) -> AppMetadata {
        let info = ServiceInfo {
            protocol: "bolt".into(),
            port: 12200,
            path: String::new(),
            params: [("v".to_string(), "1".to_string())].into(),
        };
        let services = interfaces
            .iter()
            .map(|i| (i.to_string(), vec![info.clone()]))
            .collect();
        AppMetadata::new(app, BTreeMap::new(), services)
    }

    fn register(r: &mut Registry, session: SessionId, meta: &AppMetadata) {
        let revision = Some(v1::AppRevision::from(meta));
        r.register_revision(session, 0, v1::RegisterRevision { revision })
            .deliver();
    }

    /// An application publisher of `app` (tenant `instance_id`, empty: the default) with an
    /// instance at `host:port` of `meta`'s revision.
    fn app_publish(
        app: &str,
        instance_id: &str,
        host_port: &str,
        meta: &AppMetadata,
    ) -> v1::Publish {
        let item = format!(
            "bolt://{host_port}?{}={}",
            appmeta::REVISION_PARAM,
            meta.revision
        );
        v1::Publish {
            key: Some(v1::DataKey {
                data_id: app.into(),
                group: APP_GROUP.into(),
                instance_id: instance_id.into(),
            }),
            ..publish(app, app, 1, &[&item])
        }
    }

    fn converting(rid: &str, data_id: &str, convert: bool) -> v1::Subscribe {
        v1::Subscribe {
            convert_application: convert,
            ..subscribe(rid, data_id, Scope::Global)
        }
    }

    #[derive(Clone, Copy)]
    enum Revision {
        Before,
        After,
        Never,
    }

    #[test]
    fn an_application_publisher_is_converted_for_subscribers_that_ask() {
        use Revision::*;
        // (case, the subscriber asks for conversion, when the revision is registered, the
        // instance's address, interface publisher's items, what the subscriber last sees)
        let converted = "bolt://10.0.0.1:12200?v=1";
        let listed = "bolt://10.0.0.1:12200?x=2";
        type Case<'a> = (
            &'a str,
            bool,
            Revision,
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: [Case; 7] = [
            (
                "converting",
                true,
                Before,
                "10.0.0.1:12200",
                &[],
                &[converted],
            ),
            (
                "the revision after",
                true,
                After,
                "10.0.0.1:12200",
                &[],
                &[converted],
            ),
            ("not converting", false, Before, "10.0.0.1:12200", &[], &[]),
            ("no revision", true, Never, "10.0.0.1:12200", &[], &[]),
            (
                "a port not served",
                true,
                Before,
                "10.0.0.1:12201",
                &[],
                &[],
            ),
            (
                "an address listed",
                true,
                Before,
                "10.0.0.1:12200",
                &[listed],
                &[listed],
            ),
            (
                "another address listed",
                true,
                Before,
                "10.0.0.1:12200",
                &["bolt://h:1"],
                &["bolt://h:1", converted],
            ),
        ];
        for (case, convert, revision, host_port, listed, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (a, _) = attach(&mut r, "a", "z", "dc");
            let (s, out) = attach(&mut r, "s", "z", "dc");
            run(&mut r, s, converting("s", "svc", convert));
            if !listed.is_empty() {
                run(&mut r, a, publish("i", "svc", 1, listed));
            }
            let shop = meta("shop", &[SVC]);
            if let Before = revision {
                register(&mut r, a, &shop);
            }
            run(&mut r, a, app_publish("shop", "", host_port, &shop));
            if let After = revision {
                register(&mut r, a, &shop);
            }
            let last = out.pushes().pop().expect("pushes");
            assert_eq!(items(&last), want, "{case}");
            assert_eq!(last.convert_application, convert, "{case}");
        }
    }

    #[test]
    fn a_changed_instance_is_pushed_to_converting_subscribers_only() {
        // (case, a second instance joins or the first leaves, the subscriber converts, what
        // it is pushed)
        let (one, two) = ("bolt://10.0.0.1:12200?v=1", "bolt://10.0.0.2:12200?v=1");
        let cases: [(&str, bool, bool, Option<&[&str]>); 4] = [
            ("joins, converting", true, true, Some(&[one, two])),
            ("joins, not converting", true, false, None),
            ("leaves, converting", false, true, Some(&[])),
            ("leaves, not converting", false, false, None),
        ];
        for (case, joins, convert, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (a, _) = attach(&mut r, "a", "z", "dc");
            let shop = meta("shop", &[SVC]);
            register(&mut r, a, &shop);
            run(&mut r, a, app_publish("shop", "", "10.0.0.1:12200", &shop));
            let (s, out) = attach(&mut r, "s", "z", "dc");
            run(&mut r, s, converting("s", "svc", convert));
            out.pushes();
            if joins {
                let (b, _) = attach(&mut r, "b", "z", "dc");
                run(&mut r, b, app_publish("shop", "", "10.0.0.2:12200", &shop));
            } else {
                run(&mut r, a, unregister("shop", 2));
            }
            let pushes = out.pushes();
            let got: Option<Vec<String>> = match &pushes[..] {
                [] => None,
                [push] => Some(items(push)),
                more => panic!("{case}: {} pushes", more.len()),
            };
            assert_eq!(
                got,
                want.map(|w| w.iter().map(|s| s.to_string()).collect()),
                "{case}"
            );
        }
    }

    #[test]
    fn the_mapping_lists_the_applications_that_provide_an_interface() {
        const OTHER_TENANT: &str = "svc#@#T2#@#DEFAULT_GROUP";
        // (case, applications: name, tenant, interfaces its revision serves, revision
        // registered; the mapping's tenant, the instances unregistered after, the list)
        type App = (&'static str, &'static str, &'static [&'static str], bool);
        type Case<'a> = (&'a str, Vec<App>, &'a str, bool, &'a [&'a str]);
        let cases: [Case; 8] = [
            (
                "one",
                vec![("shop", "", &[SVC], true)],
                "",
                false,
                &["shop"],
            ),
            (
                "two, by name",
                vec![("shop", "", &[SVC], true), ("cart", "", &[SVC], true)],
                "",
                false,
                &["cart", "shop"],
            ),
            (
                "revision not registered",
                vec![("shop", "", &[SVC], false)],
                "",
                false,
                &[],
            ),
            (
                "another interface",
                vec![(
                    "shop",
                    "",
                    &["other#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"],
                    true,
                )],
                "",
                false,
                &[],
            ),
            (
                "instances gone",
                vec![("shop", "", &[SVC], true)],
                "",
                true,
                &[],
            ),
            (
                "its own tenant",
                vec![("shop", "T2", &[OTHER_TENANT], true)],
                "T2",
                false,
                &["shop"],
            ),
            (
                "another tenant's interface",
                vec![("shop", "", &[OTHER_TENANT], true)],
                "T2",
                false,
                &[],
            ),
            (
                "another tenant's mapping",
                vec![("shop", "", &[SVC], true)],
                "T2",
                false,
                &[],
            ),
        ];
        for (case, apps, tenant, gone, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (m, out) = attach(&mut r, "m", "z", "dc");
            let sub = v1::Subscribe {
                key: Some(v1::DataKey {
                    data_id: "svc".into(),
                    group: appmeta::mapping_group("DEFAULT_GROUP"),
                    instance_id: tenant.into(),
                }),
                ..subscribe("m", "svc", Scope::Global)
            };
            run(&mut r, m, sub);
            let (a, _) = attach(&mut r, "a", "z", "dc");
            for &(app, instance_id, interfaces, registered) in &apps {
                let meta = meta(app, interfaces);
                if registered {
                    register(&mut r, a, &meta);
                }
                run(
                    &mut r,
                    a,
                    app_publish(app, instance_id, "10.0.0.1:12200", &meta),
                );
            }
            if gone {
                for (app, ..) in apps {
                    run(&mut r, a, unregister(app, 2));
                }
            }
            let last = out.pushes().pop().expect("pushes");
            assert_eq!(items(&last), want, "{case}");
        }
    }

    #[test]
    fn revisions_returns_the_known_ones_and_the_rest_as_missing() {
        let shop = meta("shop", &[SVC]);
        let known = shop.revision.as_str();
        // (case, revisions asked for, found, missing)
        type Ref<'a> = (&'a str, &'a str);
        type Case<'a> = (&'a str, Vec<Ref<'a>>, Vec<&'a str>, Vec<Ref<'a>>);
        let cases: [Case; 4] = [
            ("a known one", vec![("shop", known)], vec![known], vec![]),
            (
                "an unknown one",
                vec![("shop", "beef")],
                vec![],
                vec![("shop", "beef")],
            ),
            (
                "under another application",
                vec![("cart", known)],
                vec![],
                vec![("cart", known)],
            ),
            (
                "both",
                vec![("shop", "beef"), ("shop", known)],
                vec![known],
                vec![("shop", "beef")],
            ),
        ];
        let mut r = Registry::new(Limits::default(), false);
        let (a, _) = attach(&mut r, "a", "z", "dc");
        register(&mut r, a, &shop);
        let wire = |refs: &[Ref]| -> Vec<v1::RevisionRef> {
            refs.iter()
                .map(|(application, revision)| v1::RevisionRef {
                    application: application.to_string(),
                    revision: revision.to_string(),
                })
                .collect()
        };
        for (case, asked, found, missing) in cases {
            let got = r.revisions(&wire(&asked));
            let revisions: Vec<&str> = got.revisions.iter().map(|r| &*r.revision).collect();
            assert_eq!(revisions, found, "{case}");
            for revision in &got.revisions {
                assert_eq!(
                    revision,
                    &v1::AppRevision::from(&shop),
                    "{case}: as registered"
                );
            }
            assert_eq!(got.missing, wire(&missing), "{case}");
        }
    }

    #[test]
    fn a_revision_is_stored_only_when_it_is_its_metadatas_hash() {
        let shop = v1::AppRevision::from(&meta("shop", &[SVC]));
        let mut huge = meta("shop", &[SVC]);
        huge.base_params
            .insert("pad".into(), "x".repeat(MAX_REVISION_BYTES));
        let huge =
            v1::AppRevision::from(&AppMetadata::new("shop", huge.base_params, huge.services));
        // (case, revision sent, times, ack, start of its message, revisions stored)
        let cases = [
            ("consistent", shop.clone(), 1, AckCode::Ok, "", 1),
            ("sent twice", shop.clone(), 2, AckCode::Ok, "", 1),
            (
                "not the hash",
                v1::AppRevision {
                    revision: "0000".into(),
                    ..shop.clone()
                },
                1,
                AckCode::InvalidArgument,
                "revision \"0000\" is not the hash of its metadata",
                0,
            ),
            (
                "metadata changed under its hash",
                v1::AppRevision {
                    application: "cart".into(),
                    ..shop.clone()
                },
                1,
                AckCode::InvalidArgument,
                "revision ",
                0,
            ),
            (
                "no application",
                v1::AppRevision {
                    application: String::new(),
                    ..shop.clone()
                },
                1,
                AckCode::InvalidArgument,
                "application must not be empty",
                0,
            ),
            (
                "too large",
                huge,
                1,
                AckCode::LimitExceeded,
                "revision is ",
                0,
            ),
        ];
        for (case, revision, times, code, message, count) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (a, out) = attach(&mut r, "a", "z", "dc");
            for _ in 0..times {
                let register = v1::RegisterRevision {
                    revision: Some(revision.clone()),
                };
                r.register_revision(a, 0, register).deliver();
            }
            let acks = out.acks();
            assert_eq!(acks.len(), times, "{case}: one ack each");
            for (got, text) in acks {
                assert_eq!(got, code, "{case}: {text}");
                assert!(text.starts_with(message), "{case}: {text}");
            }
            assert_eq!(r.stats().revisions, count, "{case}");
        }
    }

    #[test]
    fn an_application_publisher_must_name_a_revision_in_every_item() {
        let item = |host: &str| format!("bolt://{host}:1?{}=abc", appmeta::REVISION_PARAM);
        let (one, two) = (item("h1"), item("h2"));
        let mapping = appmeta::mapping_group("DEFAULT_GROUP");
        // (case, group, items, Ok(items parsed, None: not an application publisher) or
        // Err(start of the message))
        type Case<'a> = (
            &'a str,
            &'a str,
            Vec<&'a str>,
            Result<Option<usize>, &'a str>,
        );
        let cases: [Case; 6] = [
            (
                "an interface publisher",
                "DEFAULT_GROUP",
                vec!["anything"],
                Ok(None),
            ),
            (
                "every item names one",
                APP_GROUP,
                vec![&one, &two],
                Ok(Some(2)),
            ),
            (
                "the mapping group",
                &mapping,
                vec![],
                Err("group ROSTER_INTERFACE_APPS/"),
            ),
            (
                "not a URL",
                APP_GROUP,
                vec![&one, "x"],
                Err("data[1] of an application publisher: "),
            ),
            (
                "no revision",
                APP_GROUP,
                vec!["bolt://h:1"],
                Err("data[0] of an application publisher names no roster.revision"),
            ),
            (
                "an empty revision",
                APP_GROUP,
                vec!["bolt://h:1?roster.revision="],
                Err("data[0] of an application publisher names no roster.revision"),
            ),
        ];
        for (case, group, data, want) in cases {
            let key = Key {
                data_id: "shop".into(),
                group: group.into(),
                instance_id: "DEFAULT_INSTANCE_ID".into(),
            };
            let data: Vec<Bytes> = data.iter().map(|d| Bytes::from(d.to_string())).collect();
            match (check_publisher(&key, &data), want) {
                (Ok(items), Ok(n)) => assert_eq!(items.map(|i| i.len()), n, "{case}"),
                (Err(e), Err(message)) => {
                    assert!(e.to_string().starts_with(message), "{case}: {e}");
                    assert!(!e.limit, "{case}");
                }
                (got, want) => panic!(
                    "{case}: {:?} instead of {want:?}",
                    got.map(|i| i.map(|i| i.len()))
                ),
            }
        }
    }

    #[test]
    fn collect_forgets_a_revision_unused_for_the_period() {
        // (case, an application publisher uses it, the clock at each collection, revisions
        // removed by each) with a period of 100
        let cases = [
            ("unused", false, [1_000, 1_099, 1_100], [0, 0, 1]),
            ("used", true, [1_000, 1_100, 5_000], [0, 0, 0]),
        ];
        for (case, used, clocks, want) in cases {
            let mut r = Registry::new(Limits::default(), false);
            let (a, _) = attach(&mut r, "a", "z", "dc");
            let shop = meta("shop", &[SVC]);
            register(&mut r, a, &shop);
            if used {
                run(&mut r, a, app_publish("shop", "", "10.0.0.1:12200", &shop));
            }
            let removed = clocks.map(|clock| {
                r.set_clock(clock);
                r.collect(100)
            });
            assert_eq!(removed, want, "{case}");
            assert_eq!(r.stats().revisions, used as usize, "{case}");
        }
    }
}
