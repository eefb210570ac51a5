//! The pure part of an application-level resolution: each application publisher's item
//! converted into the interface's entries, and the lists of the interface level and of
//! every application merged into one, de-duplicated by address (the first holder in merge
//! order wins: the interface level, then the applications by name, each zone by zone). No
//! I/O: the resolver hands it the lists its subscriptions hold and the revisions it knows.
//!
//! A change is applied as a splice. One publisher's change is one run of items in one
//! source's zone (the lists' common ends pair off the rest), so only that run is converted
//! and its entries are spliced into the output at the same place: a hot application's
//! instance change costs the change, not the 7,000 items. Where a splice cannot say it (an
//! address held by two items, whose winner may change; a revision learned; a source
//! gone), the output is rebuilt in one pass on the next read.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use roster_proto::appmeta::{self, AppMetadata, ServiceUrl};

use crate::items::{Item, Items, Joined};
use crate::model::SubscriberData;

/// Where a list comes from, in merge order: the interface level, then the applications by
/// name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    Interface,
    Application(String),
}

/// The revisions known to the client, by revision.
pub(crate) type Revisions = HashMap<String, Arc<AppMetadata>>;

/// One item of a source, converted.
struct Entry {
    /// What it is de-duplicated by: the item's protocol and authority.
    address: Arc<str>,
    /// The interface's entries it stands for; none when it stands for nothing here (not a
    /// URL, a revision that does not serve the interface, or a revision not known yet).
    items: Box<[Item]>,
    /// The revision it needs, while the client does not know it.
    unknown: Option<Box<str>>,
}

impl Entry {
    fn convert(source: &Source, item: &Item, interface: &str, revisions: &Revisions) -> Entry {
        let Ok(url) = ServiceUrl::parse(item) else {
            return Entry {
                address: item.as_str().into(),
                items: if *source == Source::Interface {
                    Box::new([item.clone()])
                } else {
                    Box::new([])
                },
                unknown: None,
            };
        };
        let address = url.address().into();
        if *source == Source::Interface {
            return Entry {
                address,
                items: Box::new([item.clone()]),
                unknown: None,
            };
        }
        let revision = appmeta::item_revision(&url).unwrap_or_default();
        match revisions.get(revision) {
            Some(meta) => Entry {
                address,
                items: meta
                    .entries_for(interface, &url)
                    .into_iter()
                    .map(Item::from)
                    .collect(),
                unknown: None,
            },
            None => Entry {
                address,
                items: Box::new([]),
                unknown: Some(revision.into()),
            },
        }
    }

    /// The output items it accounts for when it is the first holder of its address.
    fn len(&self) -> u32 {
        u32::try_from(self.items.len()).unwrap_or(u32::MAX)
    }
}

/// One zone of one source: its items converted, in list order.
#[derive(Default)]
struct Segment {
    entries: Vec<Entry>,
    /// For each entry, the output items it accounts for: its items when it is the first
    /// holder of its address, else none. Apart from the entries, so that finding where a
    /// change goes in the output reads 4 bytes per entry, not the entries.
    shown: Vec<u32>,
    /// Their sum.
    total: usize,
}

/// One source's list as last taken, and its zones converted.
struct Lists {
    data: Arc<SubscriberData>,
    zones: BTreeMap<String, Segment>,
}

/// The merged list of one resolution, kept up to date change by change.
pub(crate) struct Merge {
    interface: String,
    sources: BTreeMap<Source, Lists>,
    /// For each address, how many entries with items hold it.
    holders: HashMap<Arc<str>, u32>,
    output: BTreeMap<String, Items>,
    /// The output cannot be spliced: rebuild it on the next read.
    rebuild: bool,
    /// Entries whose revision is not known.
    unknown: usize,
}

/// One zone's change in a source: entries at `start` that accounted for `removed` output
/// items replaced by the entries of `added` items.
struct ZoneSplice<'a> {
    zone: &'a str,
    start: usize,
    removed: usize,
    added: Vec<Item>,
}

static NONE: Items = Items::new();

impl Merge {
    /// A merge for `interface` (a dataInfoId, as application metadata names it).
    pub fn new(interface: String) -> Merge {
        Merge {
            interface,
            sources: BTreeMap::new(),
            holders: HashMap::new(),
            output: BTreeMap::new(),
            rebuild: false,
            unknown: 0,
        }
    }

    /// Takes `source`'s current list (the same allocation as last time: nothing to do).
    pub fn set(&mut self, source: Source, data: &Arc<SubscriberData>, revisions: &Revisions) {
        let (old, mut zones) = match self.sources.remove(&source) {
            Some(l) if Arc::ptr_eq(&l.data, data) => {
                self.sources.insert(source, l);
                return;
            }
            Some(l) => (Some(l.data), l.zones),
            None => (None, BTreeMap::new()),
        };
        let old_zones = old.as_ref().map(|d| &d.zones);
        let names: BTreeSet<&str> = (old_zones.into_iter().flat_map(BTreeMap::keys))
            .chain(data.zones.keys())
            .map(String::as_str)
            .collect();
        // Every zone's removals before any addition, so that an instance republished with
        // new parameters (one address out, the same one in) is never two holders.
        let mut splices = Vec::new();
        let mut contested = false;
        for zone in names {
            let before = old_zones.and_then(|z| z.get(zone)).unwrap_or(&NONE);
            let after = data.zones.get(zone).unwrap_or(&NONE);
            let (head, tail) = Joined::new([before]).common_ends(&Joined::new([after]));
            if head == before.len() && head == after.len() {
                continue;
            }
            let segment = zones.entry(zone.to_owned()).or_default();
            let gone = head..before.len() - tail;
            let mut removed = 0;
            for (e, shown) in segment
                .entries
                .drain(gone.clone())
                .zip(segment.shown.drain(gone))
            {
                removed += shown as usize;
                self.unknown -= usize::from(e.unknown.is_some());
                if e.items.is_empty() {
                    continue;
                }
                let left = self.holders.get_mut(&e.address).map_or(0, |n| {
                    *n -= 1;
                    *n
                });
                if left == 0 {
                    self.holders.remove(&e.address);
                }
                // Another holder may be shown now (or this one was not).
                contested |= left > 0 || shown == 0;
            }
            splices.push(ZoneSplice {
                zone,
                start: head,
                removed,
                added: (after.iter().skip(head))
                    .take(after.len() - tail - head)
                    .cloned()
                    .collect(),
            });
        }
        for s in &splices {
            let converted: Vec<Entry> = s
                .added
                .iter()
                .map(|item| {
                    let e = Entry::convert(&source, item, &self.interface, revisions);
                    self.unknown += usize::from(e.unknown.is_some());
                    if !e.items.is_empty() {
                        let n = self.holders.entry(e.address.clone()).or_default();
                        *n += 1;
                        contested |= *n > 1;
                    }
                    e
                })
                .collect();
            let segment = zones.get_mut(s.zone).expect("made above");
            // Shown, if not contested (a rebuild decides otherwise).
            let shown: Vec<u32> = converted.iter().map(Entry::len).collect();
            segment.shown.splice(s.start..s.start, shown);
            segment.entries.splice(s.start..s.start, converted);
        }
        if contested || self.rebuild {
            self.rebuild = true;
        } else {
            for s in &splices {
                self.splice_output(&source, &mut zones, s);
            }
        }
        zones.retain(|_, s| !s.entries.is_empty());
        let data = data.clone();
        self.sources.insert(source, Lists { data, zones });
    }

    /// Puts one uncontested zone change into the output, at the place its source's
    /// segment has there.
    fn splice_output(
        &mut self,
        source: &Source,
        zones: &mut BTreeMap<String, Segment>,
        s: &ZoneSplice,
    ) {
        let segment = zones.get_mut(s.zone).expect("made in set");
        let before: usize = self
            .sources
            .range(..source.clone())
            .filter_map(|(_, l)| l.zones.get(s.zone))
            .map(|seg| seg.total)
            .sum::<usize>()
            + segment.shown[..s.start]
                .iter()
                .map(|&n| n as usize)
                .sum::<usize>();
        let added = &segment.entries[s.start..s.start + s.added.len()];
        let out = self.output.entry(s.zone.to_owned()).or_default();
        out.splice(
            before..before + s.removed,
            added.iter().flat_map(|e| e.items.iter().cloned()),
        );
        let added: usize = added.iter().map(|e| e.items.len()).sum();
        segment.total = segment.total - s.removed + added;
        if out.is_empty() {
            self.output.remove(s.zone);
        }
    }

    /// Drops the sources `keep` says no to (an application no longer listed, the
    /// interface level once a subscription moved to application level).
    pub fn retain(&mut self, mut keep: impl FnMut(&Source) -> bool) {
        let gone: Vec<Source> = self.sources.keys().filter(|s| !keep(s)).cloned().collect();
        for source in gone {
            let lists = self.sources.remove(&source).expect("listed");
            for e in lists.zones.values().flat_map(|s| &s.entries) {
                self.unknown -= usize::from(e.unknown.is_some());
                if e.items.is_empty() {
                    continue;
                }
                if let Some(n) = self.holders.get_mut(&e.address) {
                    *n -= 1;
                    if *n == 0 {
                        self.holders.remove(&e.address);
                    }
                }
            }
            self.rebuild = true;
        }
    }

    /// The (application, revision) pairs whose metadata is needed and not known.
    pub fn unknown(&self) -> BTreeSet<(String, String)> {
        let mut wanted = BTreeSet::new();
        if self.unknown == 0 {
            return wanted;
        }
        for (source, lists) in &self.sources {
            let Source::Application(app) = source else {
                continue;
            };
            for e in lists.zones.values().flat_map(|s| &s.entries) {
                if let Some(revision) = &e.unknown {
                    wanted.insert((app.clone(), revision.to_string()));
                }
            }
        }
        wanted
    }

    /// Converts again the items whose revision was not known, with `revisions`.
    pub fn learn(&mut self, revisions: &Revisions) {
        for (source, lists) in &mut self.sources {
            for (zone, segment) in &mut lists.zones {
                let items = &lists.data.zones[zone];
                for (e, item) in segment.entries.iter_mut().zip(items) {
                    let known = e
                        .unknown
                        .as_deref()
                        .is_some_and(|r| revisions.contains_key(r));
                    if !known {
                        continue;
                    }
                    *e = Entry::convert(source, item, &self.interface, revisions);
                    self.unknown -= 1;
                    if !e.items.is_empty() {
                        *self.holders.entry(e.address.clone()).or_default() += 1;
                        self.rebuild = true;
                    }
                }
            }
        }
    }

    /// How many distinct addresses the applications serve the interface at, and how many
    /// the interface level lists (a force-application subscription's threshold).
    pub fn counts(&self) -> (usize, usize) {
        let mut application = HashSet::new();
        let mut interface = HashSet::new();
        for (source, lists) in &self.sources {
            let set = match source {
                Source::Interface => &mut interface,
                Source::Application(_) => &mut application,
            };
            for e in lists.zones.values().flat_map(|s| &s.entries) {
                if !e.items.is_empty() {
                    set.insert(&*e.address);
                }
            }
        }
        (application.len(), interface.len())
    }

    /// The merged list, zone by zone (zones with no items are not listed).
    pub fn output(&mut self) -> &BTreeMap<String, Items> {
        if self.rebuild {
            self.rebuild = false;
            self.rebuild_output();
        }
        &self.output
    }

    /// Decides again which entries are the first holders of their address, in merge
    /// order, and the output with it.
    fn rebuild_output(&mut self) {
        let mut seen: HashSet<Arc<str>> = HashSet::new();
        let mut output: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for lists in self.sources.values_mut() {
            for (zone, segment) in &mut lists.zones {
                segment.total = 0;
                for (e, shown) in segment.entries.iter().zip(&mut segment.shown) {
                    let first = !e.items.is_empty() && seen.insert(e.address.clone());
                    *shown = if first { e.len() } else { 0 };
                    if first {
                        segment.total += e.items.len();
                        output
                            .entry(zone.clone())
                            .or_default()
                            .extend(e.items.iter().cloned());
                    }
                }
            }
        }
        self.output = output
            .into_iter()
            .map(|(z, items)| (z, items.into()))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DataInfoId, Scope};

    const IFACE: &str = "com.example.Echo:1.0@DEFAULT_GROUP@DEFAULT_INSTANCE_ID";

    /// The metadata of an application serving IFACE over bolt on port 12200.
    fn serving() -> Arc<AppMetadata> {
        let url = ServiceUrl::parse("bolt://10.0.0.1:12200?timeout=3000").unwrap();
        let services = [(IFACE.to_owned(), url)];
        Arc::new(
            appmeta::instance_from_services("echo-app", &services)
                .unwrap()
                .metadata,
        )
    }

    fn data(zones: &[(&str, &[String])]) -> Arc<SubscriberData> {
        Arc::new(SubscriberData {
            data_info_id: DataInfoId::new("x"),
            version: 1,
            scope: Scope::Global,
            zones: zones
                .iter()
                .map(|(z, items)| {
                    (
                        z.to_string(),
                        items.iter().map(|i| Item::from(i.as_str())).collect(),
                    )
                })
                .collect(),
            from_cache: false,
            changes: Default::default(),
        })
    }

    fn app_item(host: u32, weight: u32, revision: &str) -> String {
        format!(
            "bolt://10.0.0.{host}:12200?{}={revision}&weight={weight}",
            appmeta::REVISION_PARAM
        )
    }

    fn iface_item(host: u32, weight: u32) -> String {
        format!("bolt://10.0.0.{host}:12200?timeout=3000&weight={weight}")
    }

    /// The output as "zone: host/weight" strings, for readable tables.
    fn shown(m: &mut Merge) -> Vec<String> {
        m.output()
            .iter()
            .flat_map(|(z, items)| {
                items.iter().map(move |i| {
                    let url = ServiceUrl::parse(i).unwrap();
                    let host = url
                        .authority
                        .split(':')
                        .next()
                        .unwrap()
                        .rsplit('.')
                        .next()
                        .unwrap()
                        .to_owned();
                    format!("{z}: {host}/{}", url.params["weight"])
                })
            })
            .collect()
    }

    #[test]
    fn merge_order_and_de_duplication() {
        let meta = serving();
        let rev = meta.revision.clone();
        let revisions: Revisions = [(rev.clone(), meta)].into();
        // (interface level, application a, application b) -> the merged list.
        type Case<'a> = (
            &'a [(&'a str, &'a [String])],
            &'a [(&'a str, &'a [String])],
            &'a [(&'a str, &'a [String])],
            &'a [&'a str],
        );
        let cases: [Case; 4] = [
            // The interface level first, then the applications by name.
            (
                &[("z1", &[iface_item(1, 1)])],
                &[("z1", &[app_item(2, 2, &rev)])],
                &[("z1", &[app_item(3, 3, &rev)])],
                &["z1: 1/1", "z1: 2/2", "z1: 3/3"],
            ),
            // An address at both levels: the interface level's item wins.
            (
                &[("z1", &[iface_item(1, 1)])],
                &[("z1", &[app_item(1, 9, &rev), app_item(2, 2, &rev)])],
                &[],
                &["z1: 1/1", "z1: 2/2"],
            ),
            // Between applications, the first by name; zones in order, each its own list.
            (
                &[],
                &[("z2", &[app_item(4, 4, &rev)])],
                &[("z1", &[app_item(4, 8, &rev), app_item(5, 5, &rev)])],
                &["z1: 5/5", "z2: 4/4"],
            ),
            // Unknown revisions and items that are not URLs show nothing.
            (
                &[],
                &[(
                    "z1",
                    &[app_item(6, 6, "feedfacefeedface"), "not a url".to_owned()],
                )],
                &[("z1", &[app_item(7, 7, &rev)])],
                &["z1: 7/7"],
            ),
        ];
        for (iface, a, b, want) in cases {
            let mut m = Merge::new(IFACE.into());
            m.set(Source::Interface, &data(iface), &revisions);
            m.set(Source::Application("a".into()), &data(a), &revisions);
            m.set(Source::Application("b".into()), &data(b), &revisions);
            assert_eq!(shown(&mut m), want, "{iface:?} {a:?} {b:?}");
        }
    }

    #[test]
    fn a_learned_revision_shows_its_items() {
        let meta = serving();
        let rev = meta.revision.clone();
        let mut m = Merge::new(IFACE.into());
        m.set(
            Source::Application("a".into()),
            &data(&[("z", &[app_item(1, 1, &rev), app_item(2, 2, &rev)])]),
            &Revisions::new(),
        );
        assert!(shown(&mut m).is_empty());
        assert_eq!(m.unknown(), [("a".to_owned(), rev.clone())].into());
        m.learn(&[(rev, meta)].into());
        assert!(m.unknown().is_empty());
        assert_eq!(shown(&mut m), ["z: 1/1", "z: 2/2"]);
    }

    #[test]
    fn threshold_counts_addresses() {
        let meta = serving();
        let rev = meta.revision.clone();
        let revisions: Revisions = [(rev.clone(), meta)].into();
        let mut m = Merge::new(IFACE.into());
        m.set(
            Source::Interface,
            &data(&[("z", &[iface_item(1, 1), iface_item(1, 2), iface_item(2, 1)])]),
            &revisions,
        );
        m.set(
            Source::Application("a".into()),
            &data(&[(
                "z",
                &[app_item(1, 1, &rev), app_item(3, 1, &rev), "junk".into()],
            )]),
            &revisions,
        );
        m.set(
            Source::Application("b".into()),
            &data(&[("y", &[app_item(3, 1, &rev), app_item(4, 1, "unknown")])]),
            &revisions,
        );
        assert_eq!(m.counts(), (2, 2));
        m.retain(|s| *s != Source::Interface);
        assert_eq!(m.counts(), (2, 0));
        // Host 3 is in both applications: "a" comes first.
        assert_eq!(shown(&mut m), ["z: 1/1", "z: 3/1"]);
    }

    /// Random changes applied one by one end with the output of a merge built from the
    /// final lists in one go, and in between every output equals such a rebuild.
    #[test]
    fn spliced_output_equals_a_rebuild() {
        let meta = serving();
        let rev = meta.revision.clone();
        let revisions: Revisions = [(rev.clone(), meta)].into();
        let sources = [
            Source::Interface,
            Source::Application("a".into()),
            Source::Application("b".into()),
        ];
        for seed in 0..40 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut lists: Vec<BTreeMap<String, Vec<String>>> = vec![BTreeMap::new(); 3];
            let mut m = Merge::new(IFACE.into());
            for step in 0..60 {
                let s = rng.usize(0..3);
                let zone = ["z1", "z2"][rng.usize(0..2)].to_owned();
                let list = lists[s].entry(zone).or_default();
                // Hosts overlap between sources now and then, so some steps are contested.
                let host = rng.u32(1..if seed % 2 == 0 { 12 } else { 400 });
                let item = if s == 0 {
                    iface_item(host, rng.u32(1..5))
                } else {
                    app_item(host, rng.u32(1..5), &rev)
                };
                match rng.usize(0..4) {
                    0 if !list.is_empty() => {
                        list.remove(rng.usize(0..list.len()));
                    }
                    1 if !list.is_empty() => {
                        let at = rng.usize(0..list.len());
                        list[at] = item;
                    }
                    _ => {
                        let at = rng.usize(0..=list.len());
                        list.insert(at, item);
                    }
                }
                lists[s].retain(|_, l| !l.is_empty());
                let as_data = |l: &BTreeMap<String, Vec<String>>| {
                    let zones: Vec<(&str, &[String])> =
                        l.iter().map(|(z, i)| (z.as_str(), i.as_slice())).collect();
                    data(&zones)
                };
                m.set(sources[s].clone(), &as_data(&lists[s]), &revisions);
                let mut fresh = Merge::new(IFACE.into());
                for (source, l) in sources.iter().zip(&lists) {
                    fresh.set(source.clone(), &as_data(l), &revisions);
                }
                fresh.rebuild = true;
                assert_eq!(m.output(), fresh.output(), "seed {seed} step {step}");
            }
        }
    }
}
