//! The checker: reads a journal and finds what a user would call a registry bug.
//!
//! What a subscriber must see depends on its scope and, at application level, on modes
//! (`views.rs`): a subscription sees the publishers of its zone, its data center or every
//! zone; every mode sees every provider, except a force-application subscription that
//! moved on, which sees the application level alone.
//!
//! - **wrong data**: a pushed item that no registration held at that time: made by no
//!   publisher, of another dataId, from a zone the subscriber's scope does not show, pushed
//!   before it was published, or pushed after it was gone (replaced, unregistered, its
//!   client closed) by more than `slack`, more the grace period when its end was not
//!   acknowledged (a client killed, an operation that failed), more the time faults were
//!   under way in between (a push held up by a cut link or a paused node arrives late, as
//!   any TCP segment would);
//! - **empty list**: an empty push while a publisher the subscriber must see (below) was
//!   live, unless clients were cut off the registry for longer than the grace period;
//! - **provider vanished**: a push that lacks a publisher the subscriber must see: one of
//!   its dataId and scope, acknowledged more than `slack` before with no change or end
//!   asked for since, and, where the subscription may show the application level alone,
//!   surely publishing at application level. Whatever the publisher's or the subscriber's
//!   mode switches meanwhile: a migration step must not make a provider disappear. Not
//!   while the registry had lost registrations (clients cut off past the grace period, a
//!   single in-memory node restarted) and lists fill again as clients redo;
//! - **version regression**: a subscriber handed an older version than before, or one
//!   version with two different lists (by one subscriber, or, where the registry numbers
//!   the lists (force-interface), by two with the same view: the same dataId, scope, zone
//!   or data center);
//! - **split brain**: two nodes that said they were the leader in the same term;
//! - **missing data** (and leftovers): at the end, a subscriber's data is not exactly the
//!   union of the data of the live publishers it must see;
//! - **stuck migration**: at the end, a force-application subscription still pending
//!   although the application level it sees holds the threshold share of the interface
//!   level's addresses;
//! - **stuck**: an operation of a live client that the registry never answered.
//!
//! Also measures **convergence**: per subscriber, how long after the run went quiet its
//! last push came.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::journal::{address, parse_item, Entry, Fault, Micros, Op};
use crate::views::{at_application_level, at_interface_level, Views, MIGRATION_THRESHOLD};

#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// How late a push may still show data that was replaced or removed with an
    /// acknowledgement (the registry's own fan-out time under load).
    pub slack: Micros,
    /// The server's grace period: how long a session outlives its connection.
    pub grace: Micros,
    /// How long after a fault ends it still counts as under way (reconnects, elections).
    pub recovery: Micros,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    WrongData,
    EmptyList,
    ProviderVanished,
    VersionRegression,
    SplitBrain,
    MissingData,
    StuckMigration,
    Stuck,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::WrongData => "wrong data",
            Kind::EmptyList => "empty list",
            Kind::ProviderVanished => "provider vanished",
            Kind::VersionRegression => "version regression",
            Kind::SplitBrain => "split brain",
            Kind::MissingData => "missing data",
            Kind::StuckMigration => "stuck migration",
            Kind::Stuck => "stuck operation",
        })
    }
}

#[derive(Clone, Debug)]
pub struct Violation {
    pub kind: Kind,
    pub t: Micros,
    /// The subscriber and its dataId (none for split brain).
    pub subscriber: Option<u32>,
    pub key: Option<String>,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub violations: Vec<Violation>,
    pub ops: usize,
    /// Operations the client answered with an error (time-outs during faults).
    pub failed_ops: usize,
    pub pushes: usize,
    pub faults: usize,
    /// How long each answered operation took (issued to answered), sorted.
    pub op_latency: Vec<Micros>,
    /// Per acknowledged change and subscriber of its dataId: how long after the
    /// acknowledgement the subscriber was handed data that shows it (or a later change of
    /// the same publisher), sorted. How long "eventually" takes.
    pub visibility: Vec<Micros>,
    /// Per live subscriber at the end, how long after the quiet point its last push came
    /// (0 when it already held its final data), sorted.
    pub convergence: Vec<Micros>,
    /// What the workload exercised: operations by kind (`subscribe zone`, `set_mode`, ...)
    /// and pushes by the subscriber's migration status.
    pub mix: BTreeMap<String, usize>,
}

/// The `p` quantile of sorted figures (0 when there are none).
pub fn percentile(sorted: &[Micros], p: f64) -> Micros {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[i - 1]
}

/// One data of one publisher (`gen`): when it was issued and when it stopped being live.
#[derive(Clone, Debug, Default)]
struct Data {
    issued: Micros,
    /// When it was acknowledged.
    acked: Option<Micros>,
    /// When its end was asked for (a republish, an unregister, a close issued; a kill).
    ending: Option<Micros>,
    /// When it stopped being live, and whether that end was acknowledged by the registry.
    end: Option<(Micros, bool)>,
}

#[derive(Debug)]
struct Publisher {
    worker: u32,
    key: String,
    data: BTreeMap<u32, Data>,
}

#[derive(Debug)]
struct Subscriber {
    key: String,
}

/// The model the checks read: publishers' data lives, subscribers' keys, what each
/// subscriber must see, fault windows.
struct Model {
    publishers: HashMap<u32, Publisher>,
    subscribers: HashMap<u32, Subscriber>,
    views: Views,
    /// Faults under way (plus recovery): pushes may be late by the overlap.
    disturbed: Vec<(Micros, Micros)>,
    /// Clients cut off for longer than the grace period: their registrations may be gone.
    sessions_lost: Vec<(Micros, Micros)>,
    /// The registry forgot every registration (plus recovery): lists are partial until
    /// every client has redone its own.
    registrations_lost: Vec<(Micros, Micros)>,
    quiet: Option<Micros>,
}

impl Model {
    fn build(entries: &[Entry], p: &Params) -> Model {
        let mut publishers: HashMap<u32, Publisher> = HashMap::new();
        let mut subscribers = HashMap::new();
        // Operation id → (worker, op).
        let mut ops: HashMap<u64, (u32, Op)> = HashMap::new();
        let mut open_faults: HashMap<String, (Micros, Fault)> = HashMap::new();
        let mut disturbed = Vec::new();
        let mut sessions_lost = Vec::new();
        let mut registrations_lost = Vec::new();
        let mut quiet = None;
        let end_of = |d: &mut Data, t: Micros, acked: bool| {
            d.ending.get_or_insert(t);
            d.end.get_or_insert((t, acked));
        };
        let ending = |d: &mut Data, t: Micros| {
            d.ending.get_or_insert(t);
        };
        for e in entries {
            match e {
                Entry::Issued { t, worker, id, op } => {
                    ops.insert(*id, (*worker, op.clone()));
                    match op {
                        Op::Publish {
                            publisher,
                            key,
                            gen,
                            ..
                        } => {
                            let mut data = BTreeMap::new();
                            data.insert(
                                *gen,
                                Data {
                                    issued: *t,
                                    ..Data::default()
                                },
                            );
                            publishers.insert(
                                *publisher,
                                Publisher {
                                    worker: *worker,
                                    key: key.clone(),
                                    data,
                                },
                            );
                        }
                        Op::Republish { publisher, gen, .. } => {
                            if let Some(p) = publishers.get_mut(publisher) {
                                p.data.values_mut().for_each(|d| ending(d, *t));
                                p.data.insert(
                                    *gen,
                                    Data {
                                        issued: *t,
                                        ..Data::default()
                                    },
                                );
                            }
                        }
                        Op::Subscribe {
                            subscriber, key, ..
                        } => {
                            subscribers.insert(*subscriber, Subscriber { key: key.clone() });
                        }
                        Op::Unregister { publisher } => {
                            if let Some(p) = publishers.get_mut(publisher) {
                                p.data.values_mut().for_each(|d| ending(d, *t));
                            }
                        }
                        Op::Reopen => {
                            for p in publishers.values_mut().filter(|p| p.worker == *worker) {
                                p.data.values_mut().for_each(|d| ending(d, *t));
                            }
                        }
                        Op::Unsubscribe { .. }
                        | Op::SetPublishMode { .. }
                        | Op::SetSubscribeMode { .. }
                        | Op::SetMode { .. } => {}
                    }
                }
                Entry::Done { t, id, error, .. } => {
                    let Some((worker, op)) = ops.get(id) else {
                        continue;
                    };
                    let ok = error.is_none();
                    match op {
                        Op::Publish { publisher, gen, .. }
                        | Op::Republish { publisher, gen, .. } => {
                            let Some(p) = publishers.get_mut(publisher) else {
                                continue;
                            };
                            // The data before this one ends when the registry has this one.
                            for (_, d) in p.data.range_mut(..*gen) {
                                end_of(d, *t, ok);
                            }
                            if let Some(d) = p.data.get_mut(gen) {
                                if ok {
                                    d.acked = Some(*t);
                                } else {
                                    end_of(d, *t, false);
                                }
                            }
                        }
                        Op::Unregister { publisher } => {
                            if let Some(p) = publishers.get_mut(publisher) {
                                p.data.values_mut().for_each(|d| end_of(d, *t, ok));
                            }
                        }
                        Op::Reopen => {
                            for p in publishers.values_mut().filter(|p| p.worker == *worker) {
                                p.data.values_mut().for_each(|d| end_of(d, *t, ok));
                            }
                        }
                        Op::Subscribe { .. }
                        | Op::Unsubscribe { .. }
                        | Op::SetPublishMode { .. }
                        | Op::SetSubscribeMode { .. }
                        | Op::SetMode { .. } => {}
                    }
                }
                Entry::WorkerKilled { t, worker } => {
                    for p in publishers.values_mut().filter(|p| p.worker == *worker) {
                        p.data.values_mut().for_each(|d| end_of(d, *t, false));
                    }
                }
                Entry::FaultStart { t, fault } => {
                    open_faults.insert(fault.name.clone(), (*t, fault.clone()));
                }
                Entry::FaultEnd { t, name } => {
                    if let Some((start, fault)) = open_faults.remove(name) {
                        disturbed.push((start, t + p.recovery));
                        if fault.cuts_clients && t - start > p.grace {
                            sessions_lost.push((start + p.grace, t + p.recovery));
                        }
                        if fault.loses_registrations {
                            registrations_lost.push((start, t + p.recovery));
                        }
                    }
                }
                Entry::Quiet { t } => quiet = Some(*t),
                Entry::Push { .. }
                | Entry::WorkerStarted { .. }
                | Entry::Leader { .. }
                | Entry::Final { .. } => {}
            }
        }
        let last = entries.iter().map(Entry::t).max().unwrap_or(0);
        for (_, (start, fault)) in open_faults {
            disturbed.push((start, last));
            if fault.cuts_clients {
                sessions_lost.push((start + p.grace, last));
            }
            if fault.loses_registrations {
                registrations_lost.push((start, last));
            }
        }
        Model {
            publishers,
            subscribers,
            views: Views::build(entries),
            disturbed,
            sessions_lost,
            registrations_lost,
            quiet,
        }
    }

    /// How much of `[from, to]` faults were under way.
    fn disturbed_within(&self, from: Micros, to: Micros) -> Micros {
        // The windows may overlap: merge them first.
        let mut windows: Vec<(Micros, Micros)> = self
            .disturbed
            .iter()
            .map(|&(a, b)| (a.max(from), b.min(to)))
            .filter(|(a, b)| a < b)
            .collect();
        windows.sort_unstable();
        let mut total = 0;
        let mut reach = from;
        for (a, b) in windows {
            let a = a.max(reach);
            if b > a {
                total += b - a;
                reach = b;
            }
        }
        total
    }

    fn sessions_lost_at(&self, t: Micros) -> bool {
        self.sessions_lost.iter().any(|&(a, b)| a <= t && t <= b)
    }

    fn registrations_lost_at(&self, t: Micros) -> bool {
        self.sessions_lost_at(t)
            || self
                .registrations_lost
                .iter()
                .any(|&(a, b)| a <= t && t <= b)
    }
}

pub fn check(entries: &[Entry], p: &Params) -> Report {
    let mut entries = entries.to_vec();
    entries.sort_by_key(Entry::t);
    let model = Model::build(&entries, p);
    let mut report = Report::default();
    let mut last_seen: HashMap<u32, (u64, Vec<String>)> = HashMap::new();
    // Force-interface lists: (dataId, version, scope, zone or data center) → (subscriber, items)
    type View = (String, u64, String, String);
    let mut by_version: HashMap<View, (u32, Vec<String>)> = HashMap::new();
    let mut leaders: BTreeMap<u64, u64> = BTreeMap::new();
    let mut last_push: HashMap<u32, Micros> = HashMap::new();
    let mut finals: Vec<Entry> = Vec::new();
    let mut issued_at: HashMap<u64, Micros> = HashMap::new();
    for e in &entries {
        match e {
            Entry::Issued { t, id, op, .. } => {
                report.ops += 1;
                issued_at.insert(*id, *t);
                let kind = match op {
                    Op::Subscribe { scope, .. } => format!("subscribe {scope}"),
                    Op::SetPublishMode { mode } => format!("publish mode to {mode}"),
                    Op::SetSubscribeMode { mode } => format!("client subscribe mode to {mode}"),
                    Op::SetMode { mode, .. } => format!(
                        "subscription mode to {}",
                        mode.as_deref().unwrap_or("the client's")
                    ),
                    _ => continue,
                };
                *report.mix.entry(kind).or_default() += 1;
            }
            Entry::Done { t, id, error, .. } => {
                report.failed_ops += usize::from(error.is_some());
                if let Some(at) = issued_at.get(id) {
                    report.op_latency.push(t.saturating_sub(*at));
                }
            }
            Entry::FaultStart { .. } => report.faults += 1,
            Entry::Push {
                t,
                subscriber,
                version,
                items,
                status,
                ..
            } => {
                report.pushes += 1;
                *report.mix.entry(format!("pushes {status}")).or_default() += 1;
                last_push.insert(*subscriber, *t);
                let Some(sub) = model.subscribers.get(subscriber) else {
                    continue;
                };
                let mut v = |kind, detail: String| {
                    report.violations.push(Violation {
                        kind,
                        t: *t,
                        subscriber: Some(*subscriber),
                        key: Some(sub.key.clone()),
                        detail,
                    })
                };
                for item in items {
                    if let Some(why) = wrong_item(&model, p, (*subscriber, &sub.key), item, *t) {
                        v(
                            Kind::WrongData,
                            format!("item {item} (version {version}): {why}"),
                        );
                    }
                }
                let required = required(&model, p, (*subscriber, &sub.key), status, *t);
                if items.is_empty() {
                    if let Some((_, live)) = required.first() {
                        v(
                            Kind::EmptyList,
                            format!("an empty list (version {version}, {status}) while {live}"),
                        );
                    }
                } else if !model.registrations_lost_at(*t) {
                    let shown: BTreeSet<u32> = items
                        .iter()
                        .filter_map(|i| parse_item(i))
                        .map(|(publisher, _)| publisher)
                        .collect();
                    let gone: Vec<&String> = required
                        .iter()
                        .filter(|(id, _)| !shown.contains(id))
                        .map(|(_, why)| why)
                        .collect();
                    if !gone.is_empty() {
                        v(
                            Kind::ProviderVanished,
                            format!("version {version} ({status}) lacks a provider: {gone:?}"),
                        );
                    }
                }
                let mut sorted = items.clone();
                sorted.sort();
                if let Some((old, old_items)) = last_seen.get(subscriber) {
                    if version < old {
                        v(
                            Kind::VersionRegression,
                            format!("version {version} after version {old}"),
                        );
                    } else if version == old && *old_items != sorted {
                        v(
                            Kind::VersionRegression,
                            format!("version {version} again with other data: {old_items:?} then {sorted:?}"),
                        );
                    }
                }
                // Subscriptions with the same view (dataId, scope, zone or data center), only
                // where the registry numbers the lists (force-interface): a resolution numbers
                // its merge after its sources' newest version, and two resolutions (two
                // subscriptions, or two clients) may hold their other sources at different
                // moments (a push the registry held back in its warm-up, one still in
                // flight); each still never gives one version two lists (above).
                if status == "force-interface" {
                    let (scope, filter) = model.views.view_of(*subscriber);
                    let view = (sub.key.clone(), *version, scope, filter);
                    match by_version.get(&view) {
                        Some((other, other_items)) if *other_items != sorted => v(
                            Kind::VersionRegression,
                            format!(
                                "version {version} is {sorted:?} here and {other_items:?} at subscriber {other} (same view)"
                            ),
                        ),
                        Some(_) => {}
                        None => {
                            by_version.insert(view, (*subscriber, sorted.clone()));
                        }
                    }
                }
                last_seen.insert(*subscriber, (*version, sorted));
            }
            Entry::Leader { t, node, term } => {
                if let Some(other) = leaders.insert(*term, *node).filter(|o| o != node) {
                    report.violations.push(Violation {
                        kind: Kind::SplitBrain,
                        t: *t,
                        subscriber: None,
                        key: None,
                        detail: format!("nodes {other} and {node} both said they led term {term}"),
                    });
                }
            }
            Entry::Final { .. } => finals.push(e.clone()),
            _ => {}
        }
    }
    report.op_latency.sort_unstable();
    check_final(&entries, &model, &finals, &last_push, &mut report);
    check_stuck(&entries, &mut report);
    report.visibility = visibility(&entries, &model.views, p.slack);
    report.violations.sort_by_key(|v| v.t);
    report
}

/// Why `item`, pushed at `t` to subscriber `sub` of `key`, was not live then for it
/// (`None`: it was).
fn wrong_item(
    model: &Model,
    p: &Params,
    (sub, key): (u32, &str),
    item: &str,
    t: Micros,
) -> Option<String> {
    let Some((publisher, gen)) = parse_item(item) else {
        return Some("no publisher made it".into());
    };
    let Some(pb) = model.publishers.get(&publisher) else {
        return Some(format!("publisher {publisher} was never registered"));
    };
    if pb.key != key {
        return Some(format!(
            "publisher {publisher} published it under {}",
            pb.key
        ));
    }
    if !model.views.sees(sub, pb.worker) {
        return Some(format!(
            "publisher {publisher} (client {}) is outside the subscriber's scope {:?}",
            pb.worker,
            model.views.view_of(sub)
        ));
    }
    let Some(d) = pb.data.get(&gen) else {
        return Some(format!(
            "publisher {publisher} never published its data {gen}"
        ));
    };
    if t < d.issued {
        return Some(format!(
            "pushed {} ms before it was published",
            (d.issued - t) / 1000
        ));
    }
    let (end, acked) = d.end?;
    let allowed = p.slack + if acked { 0 } else { p.grace } + model.disturbed_within(end, t);
    (t > end + allowed).then(|| {
        format!(
            "pushed {} ms after publisher {publisher}'s data {gen} was gone ({}; {} ms allowed)",
            (t - end) / 1000,
            if acked {
                "acknowledged"
            } else {
                "not acknowledged"
            },
            allowed / 1000
        )
    })
}

/// The publishers that subscriber `sub` of `key`, with migration status `status`, must
/// see at `t`, each with why: in its scope, surely live (acknowledged more than `slack`
/// before, not replaced, unregistered or closed by then), and where the subscription may
/// show the application level alone, surely publishing at application level. None while
/// clients were cut off past the grace period.
fn required(
    model: &Model,
    p: &Params,
    (sub, key): (u32, &str),
    status: &str,
    t: Micros,
) -> Vec<(u32, String)> {
    if model.sessions_lost_at(t) {
        return Vec::new();
    }
    let application_only = model.views.maybe_application_only(sub, status, t, p.slack);
    let mut out: Vec<(u32, String)> = model
        .publishers
        .iter()
        .filter(|(_, pb)| pb.key == key && model.views.sees(sub, pb.worker))
        .filter(|(_, pb)| {
            !application_only || model.views.surely_application_level(pb.worker, t, p.slack)
        })
        .filter_map(|(id, pb)| {
            let (gen, d) = pb.data.iter().rev().find(|(_, d)| d.issued <= t)?;
            let acked = d.acked?;
            // Its next change (or its end) must not have been asked for by `t`.
            (acked + p.slack <= t && d.ending.is_none_or(|e| e > t)).then(|| {
                let why = format!(
                    "publisher {id}'s data {gen} was live (acknowledged {} ms before)",
                    (t - acked) / 1000
                );
                (*id, why)
            })
        })
        .collect();
    out.sort_unstable();
    out
}

/// A live subscriber at the end: its id, dataId, data and migration status.
type HeldBy<'a> = (u32, &'a str, &'a Option<(u64, Vec<String>)>, &'a str);

/// What the client processes held at the end, with what the journal says of it.
struct Ends<'a> {
    views: Views,
    /// Each live publisher's dataId, client and data.
    live: Vec<(&'a str, u32, &'a [String])>,
    /// Each client's publish mode.
    modes: HashMap<u32, &'a str>,
    subscribers: Vec<HeldBy<'a>>,
}

impl<'a> Ends<'a> {
    fn read(entries: &'a [Entry], finals: &'a [Entry]) -> Ends<'a> {
        let mut sorted: Vec<Entry> = entries.to_vec();
        sorted.sort_by_key(Entry::t);
        let mut pub_keys = HashMap::new();
        let mut sub_keys = HashMap::new();
        for e in entries {
            match e {
                Entry::Issued {
                    op: Op::Publish { publisher, key, .. },
                    ..
                } => {
                    pub_keys.insert(*publisher, key.as_str());
                }
                Entry::Issued {
                    op:
                        Op::Subscribe {
                            subscriber, key, ..
                        },
                    ..
                } => {
                    sub_keys.insert(*subscriber, key.as_str());
                }
                _ => {}
            }
        }
        let mut ends = Ends {
            views: Views::build(&sorted),
            live: Vec::new(),
            modes: HashMap::new(),
            subscribers: Vec::new(),
        };
        for f in finals {
            let Entry::Final {
                worker,
                publishers,
                subscribers,
                publish_mode,
                statuses,
                ..
            } = f
            else {
                continue;
            };
            ends.modes.insert(*worker, publish_mode);
            for (id, items) in publishers {
                if let Some(key) = pub_keys.get(id) {
                    ends.live.push((key, *worker, items));
                }
            }
            for (id, data) in subscribers {
                let status = statuses
                    .iter()
                    .find(|(s, _)| s == id)
                    .map_or("force-interface", |(_, st)| st.as_str());
                if let Some(key) = sub_keys.get(id) {
                    ends.subscribers.push((*id, key, data, status));
                }
            }
        }
        ends
    }

    /// The items of the live publishers of `key` in `sub`'s scope whose client's publish
    /// mode satisfies `level`.
    fn seen(&self, sub: u32, key: &str, level: impl Fn(&str) -> bool) -> BTreeSet<&'a str> {
        self.live
            .iter()
            .filter(|(k, w, _)| *k == key && self.views.sees(sub, *w))
            .filter(|(_, w, _)| level(self.modes.get(w).copied().unwrap_or("interface")))
            .flat_map(|(_, _, items)| items.iter().map(String::as_str))
            .collect()
    }
}

/// Each subscriber in `finals` whose data is not exactly the union of the data of the
/// live publishers it must see (those of its scope; at application level only once a
/// force-application subscription moved on): `(subscriber, key, detail)`.
pub fn mismatches(entries: &[Entry], finals: &[Entry]) -> Vec<(u32, String, String)> {
    let ends = Ends::read(entries, finals);
    let mut out = Vec::new();
    for &(id, key, data, status) in &ends.subscribers {
        let want: Vec<&str> = if status == "force-application" {
            ends.seen(id, key, at_application_level)
        } else {
            ends.seen(id, key, |_| true)
        }
        .into_iter()
        .collect();
        let mut have: Vec<&str> = data
            .as_ref()
            .map(|(_, items)| items.iter().map(String::as_str).collect())
            .unwrap_or_default();
        have.sort_unstable();
        if data.is_some() && have == want {
            continue;
        }
        let missing: Vec<_> = want.iter().filter(|i| !have.contains(i)).collect();
        let extra: Vec<_> = have.iter().filter(|i| !want.contains(i)).collect();
        let detail = match data {
            None => format!("never handed data; expected {want:?}"),
            Some((v, _)) => format!(
                "at the end, version {v} ({status}): expected {want:?}, has {have:?} (missing {missing:?}, extra {extra:?})"
            ),
        };
        out.push((id, key.to_string(), detail));
    }
    out
}

/// Each force-application subscription in `finals` still pending although the
/// application level it sees holds the threshold share of the interface level's
/// addresses (it would have moved on): `(subscriber, key, detail)`.
fn stuck_migrations(entries: &[Entry], finals: &[Entry]) -> Vec<(u32, String, String)> {
    let ends = Ends::read(entries, finals);
    let addresses = |items: BTreeSet<&str>| -> usize {
        items
            .into_iter()
            .map(address)
            .collect::<BTreeSet<_>>()
            .len()
    };
    let mut out = Vec::new();
    for &(id, key, _, status) in &ends.subscribers {
        if status != "pending" {
            continue;
        }
        let application = addresses(ends.seen(id, key, at_application_level));
        let interface = addresses(ends.seen(id, key, at_interface_level));
        if application as f64 >= MIGRATION_THRESHOLD * interface as f64 {
            let detail = format!(
                "pending at the end, although the application level holds {application} addresses and the interface level {interface}"
            );
            out.push((id, key.to_string(), detail));
        }
    }
    out
}

fn check_final(
    entries: &[Entry],
    model: &Model,
    finals: &[Entry],
    last_push: &HashMap<u32, Micros>,
    report: &mut Report,
) {
    let at = finals.iter().map(Entry::t).max().unwrap_or(0);
    let wrong = mismatches(entries, finals);
    let stuck = stuck_migrations(entries, finals);
    let found = (wrong.iter().map(|w| (Kind::MissingData, w)))
        .chain(stuck.iter().map(|s| (Kind::StuckMigration, s)));
    for (kind, (subscriber, key, detail)) in found {
        report.violations.push(Violation {
            kind,
            t: at,
            subscriber: Some(*subscriber),
            key: Some(key.clone()),
            detail: detail.clone(),
        });
    }
    let quiet = model.quiet.unwrap_or(0);
    for f in finals {
        let Entry::Final { subscribers, .. } = f else {
            continue;
        };
        for (id, _) in subscribers {
            if wrong.iter().all(|(s, _, _)| s != id) {
                let last = last_push.get(id).copied().unwrap_or(0);
                report.convergence.push(last.saturating_sub(quiet));
            }
        }
    }
    report.convergence.sort_unstable();
}

/// Operations of live clients that were never answered (only once the run went quiet).
fn check_stuck(entries: &[Entry], report: &mut Report) {
    if !entries.iter().any(|e| matches!(e, Entry::Quiet { .. })) {
        return;
    }
    let mut open: BTreeMap<u64, (Micros, u32, &Op)> = BTreeMap::new();
    let mut killed = BTreeSet::new();
    for e in entries {
        match e {
            Entry::Issued { t, worker, id, op } => {
                open.insert(*id, (*t, *worker, op));
            }
            Entry::Done { id, .. } => {
                open.remove(id);
            }
            Entry::WorkerKilled { worker, .. } => {
                killed.insert(*worker);
            }
            _ => {}
        }
    }
    for (id, (t, worker, op)) in open {
        if !killed.contains(&worker) {
            report.violations.push(Violation {
                kind: Kind::Stuck,
                t,
                subscriber: None,
                key: None,
                detail: format!("client {worker}'s operation {id} ({op:?}) was never answered"),
            });
        }
    }
}

/// A publisher's change as subscribers see it: its data `gen`, or `GONE`.
const GONE: u32 = u32::MAX;

/// See [`Report::visibility`]. A subscriber counts for a change when it had data before the
/// change was issued, was still subscribed when it was acknowledged, and must see the
/// publisher throughout (in its scope, and never showing the application level alone
/// meanwhile, within `window`); a push shows a change of rank `r` (a gen, or `GONE`) when
/// it holds the publisher's data of gen `r` or later, or, for `GONE`, none of its data.
fn visibility(entries: &[Entry], views: &Views, window: Micros) -> Vec<Micros> {
    struct Change {
        publisher: u32,
        rank: u32,
        issued: Micros,
        acked: Option<Micros>,
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut by_op: HashMap<u64, usize> = HashMap::new();
    let mut pub_key: HashMap<u32, (&str, u32)> = HashMap::new();
    let mut sub_key: HashMap<u32, (&str, u32)> = HashMap::new();
    // A push: its time, each publisher's highest gen it shows, and its status.
    type Shown<'a> = (Micros, HashMap<u32, u32>, &'a str);
    let mut pushes: HashMap<u32, Vec<Shown>> = HashMap::new();
    // Subscriber → when it stopped (unsubscribed, closed, killed).
    let mut sub_end: HashMap<u32, Micros> = HashMap::new();
    let mut gone: HashMap<u32, Micros> = HashMap::new();
    for e in entries {
        // A client closed or killed: its publishers are gone, its subscribers stopped.
        let mut ended: Option<(u32, Micros)> = None;
        match e {
            Entry::Issued { t, worker, id, op } => {
                let change = match op {
                    Op::Publish {
                        publisher,
                        key,
                        gen,
                        ..
                    } => {
                        pub_key.insert(*publisher, (key.as_str(), *worker));
                        Some((*publisher, *gen))
                    }
                    Op::Republish { publisher, gen, .. } => Some((*publisher, *gen)),
                    Op::Unregister { publisher } => {
                        gone.entry(*publisher).or_insert(*t);
                        Some((*publisher, GONE))
                    }
                    Op::Subscribe {
                        subscriber, key, ..
                    } => {
                        sub_key.insert(*subscriber, (key.as_str(), *worker));
                        None
                    }
                    Op::Unsubscribe { subscriber } => {
                        sub_end.entry(*subscriber).or_insert(*t);
                        None
                    }
                    Op::Reopen => {
                        ended = Some((*worker, *t));
                        None
                    }
                    Op::SetPublishMode { .. }
                    | Op::SetSubscribeMode { .. }
                    | Op::SetMode { .. } => None,
                };
                if let Some((publisher, rank)) = change {
                    by_op.insert(*id, changes.len());
                    changes.push(Change {
                        publisher,
                        rank,
                        issued: *t,
                        acked: None,
                    });
                }
            }
            Entry::Done {
                t, id, error: None, ..
            } => {
                if let Some(&i) = by_op.get(id) {
                    changes[i].acked = Some(*t);
                }
            }
            Entry::WorkerKilled { t, worker } => ended = Some((*worker, *t)),
            Entry::Push {
                t,
                subscriber,
                items,
                status,
                ..
            } => {
                let mut shown: HashMap<u32, u32> = HashMap::new();
                for (p, g) in items.iter().filter_map(|i| parse_item(i)) {
                    let best = shown.entry(p).or_insert(g);
                    *best = (*best).max(g);
                }
                pushes
                    .entry(*subscriber)
                    .or_default()
                    .push((*t, shown, status.as_str()));
            }
            _ => {}
        }
        if let Some((worker, t)) = ended {
            for (p, (_, w)) in &pub_key {
                if *w == worker {
                    gone.entry(*p).or_insert(t);
                }
            }
            for (s, (_, w)) in &sub_key {
                if *w == worker {
                    sub_end.entry(*s).or_insert(t);
                }
            }
        }
    }
    let mut subs_of: HashMap<&str, Vec<u32>> = HashMap::new();
    for (s, (key, _)) in &sub_key {
        subs_of.entry(key).or_default().push(*s);
    }
    let mut out = Vec::new();
    for c in &changes {
        let (Some(acked), Some((key, worker))) = (c.acked, pub_key.get(&c.publisher)) else {
            continue;
        };
        let gone_at = gone.get(&c.publisher).copied();
        for &s in subs_of.get(key).into_iter().flatten() {
            let Some(list) = pushes.get(&s) else { continue };
            let had_data = list.first().is_some_and(|(t, _, _)| *t <= c.issued);
            if !had_data
                || sub_end.get(&s).is_some_and(|&end| end <= acked)
                || !views.sees(s, *worker)
            {
                continue;
            }
            let from = list.partition_point(|(t, _, _)| *t < c.issued);
            let Some(n) =
                list[from..]
                    .iter()
                    .position(|(t, shown, _)| match shown.get(&c.publisher) {
                        Some(&g) => c.rank != GONE && g >= c.rank,
                        None => c.rank == GONE || gone_at.is_some_and(|g| g <= *t),
                    })
            else {
                continue;
            };
            let seen = list[from + n].0;
            let application_only = std::iter::once((acked, "force-interface"))
                .chain(list[from..=from + n].iter().map(|(t, _, st)| (*t, *st)))
                .any(|(t, st)| views.maybe_application_only(s, st, t, window));
            if !application_only {
                out.push(seen.saturating_sub(acked));
            }
        }
    }
    out.sort_unstable();
    out
}

/// The journal entries that touched `key` (its publishers' and subscribers' operations
/// and pushes) and every fault, worker kill and leader change, within `window` around `t`:
/// what a failure prints.
pub fn timeline(entries: &[Entry], key: Option<&str>, t: Micros, window: Micros) -> Vec<String> {
    let mut pubs = BTreeSet::new();
    let mut subs = BTreeSet::new();
    for e in entries {
        if let Entry::Issued { op, .. } = e {
            match op {
                Op::Publish {
                    publisher, key: k, ..
                } if Some(k.as_str()) == key => {
                    pubs.insert(*publisher);
                }
                Op::Subscribe {
                    subscriber, key: k, ..
                } if Some(k.as_str()) == key => {
                    subs.insert(*subscriber);
                }
                _ => {}
            }
        }
    }
    let mut op_ids = BTreeSet::new();
    let mut lines = Vec::new();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.t());
    let mut last_leader = None;
    for e in sorted {
        let et = e.t();
        let near = et + window >= t && et <= t + window / 4;
        let relevant = match e {
            Entry::Issued { id, op, .. } => {
                let mine = match op {
                    Op::Publish { publisher, .. }
                    | Op::Republish { publisher, .. }
                    | Op::Unregister { publisher } => pubs.contains(publisher),
                    Op::Subscribe { subscriber, .. }
                    | Op::Unsubscribe { subscriber }
                    | Op::SetMode { subscriber, .. } => subs.contains(subscriber),
                    Op::Reopen | Op::SetPublishMode { .. } | Op::SetSubscribeMode { .. } => true,
                };
                if mine {
                    op_ids.insert(*id);
                }
                mine
            }
            Entry::Done { id, .. } => op_ids.contains(id),
            Entry::Push { subscriber, .. } => subs.contains(subscriber),
            Entry::Leader { node, .. } => {
                let changed = last_leader != Some(*node);
                last_leader = Some(*node);
                changed
            }
            Entry::Final { .. } => false,
            _ => true,
        };
        if near && relevant {
            let offset = et as i64 - t as i64;
            lines.push(format!(
                "{:+8.3}s {}",
                offset as f64 / 1e6,
                serde_json::to_string(e).unwrap_or_default()
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{self, Fault, Held};

    /// Publisher `p`'s item (its client is worker 1, as `issued` says).
    fn item(p: u32, gen: u32, index: usize) -> String {
        journal::item(1, p, gen, index)
    }

    fn subscribe(subscriber: u32) -> Op {
        Op::Subscribe {
            subscriber,
            key: "k".into(),
            scope: "global".into(),
            mode: None,
        }
    }

    const P: Params = Params {
        slack: 1_000_000,
        grace: 3_000_000,
        recovery: 1_000_000,
    };
    const S: Micros = 1_000_000;

    fn issued(t: Micros, id: u64, op: Op) -> Entry {
        Entry::Issued {
            t,
            worker: 1,
            id,
            op,
        }
    }
    fn done(t: Micros, id: u64) -> Entry {
        Entry::Done {
            t,
            worker: 1,
            id,
            error: None,
        }
    }
    fn publish(p: u32, gen: u32) -> Op {
        Op::Publish {
            publisher: p,
            key: "k".into(),
            gen,
            items: vec![item(p, gen, 0)],
        }
    }
    fn push(t: Micros, sub: u32, version: u64, items: &[String]) -> Entry {
        Entry::Push {
            t,
            worker: 2,
            subscriber: sub,
            version,
            items: items.to_vec(),
            status: "force-interface".into(),
        }
    }
    fn final_of(t: Micros, publishers: Vec<(u32, Vec<String>)>, subs: Vec<Held>) -> Entry {
        Entry::Final {
            t,
            worker: 1,
            publishers,
            subscribers: subs,
            publish_mode: "interface".into(),
            statuses: Vec::new(),
        }
    }

    /// One publisher, one subscriber, a republish; `extra` entries are added.
    fn base(extra: Vec<Entry>) -> Vec<Entry> {
        let mut e = vec![
            issued(S, 1, publish(7, 0)),
            done(S + 10_000, 1),
            issued(S, 2, subscribe(1)),
            done(S + 20_000, 2),
            push(S + 20_000, 1, 10, &[item(7, 0, 0)]),
            issued(
                5 * S,
                3,
                Op::Republish {
                    publisher: 7,
                    gen: 1,
                    items: vec![item(7, 1, 0)],
                },
            ),
            done(5 * S + 10_000, 3),
            push(5 * S + 10_000, 1, 11, &[item(7, 1, 0)]),
            Entry::Quiet { t: 6 * S },
            final_of(
                7 * S,
                vec![(7, vec![item(7, 1, 0)])],
                vec![(1, Some((11, vec![item(7, 1, 0)])))],
            ),
        ];
        e.extend(extra);
        e
    }

    fn kinds(r: &Report) -> Vec<Kind> {
        r.violations.iter().map(|v| v.kind).collect()
    }

    #[test]
    fn a_clean_run_has_no_violations() {
        let r = check(&base(vec![]), &P);
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!((r.ops, r.pushes), (3, 2));
        assert_eq!(r.convergence, vec![0]);
    }

    #[test]
    fn replaced_data_pushed_late_is_wrong() {
        // Data 0 was replaced (acknowledged) at 5.01 s: at 5.5 s it is within the slack, at
        // 7 s it is not.
        let r = check(
            &base(vec![push(5 * S + 500_000, 1, 12, &[item(7, 0, 0)])]),
            &P,
        );
        // Within the slack, but an older version than the one it replaced? No: 12 > 11.
        assert!(!kinds(&r).contains(&Kind::WrongData), "{:?}", r.violations);
        let r = check(&base(vec![push(7 * S, 1, 12, &[item(7, 0, 0)])]), &P);
        assert_eq!(kinds(&r), vec![Kind::WrongData], "{:?}", r.violations);
    }

    #[test]
    fn a_fault_under_way_allows_late_pushes() {
        let fault = Fault {
            name: "cut".into(),
            cuts_clients: false,
            loses_registrations: false,
        };
        let r = check(
            &base(vec![
                Entry::FaultStart { t: 5 * S, fault },
                Entry::FaultEnd {
                    t: 7 * S,
                    name: "cut".into(),
                },
                push(8 * S, 1, 12, &[item(7, 0, 0)]),
            ]),
            &P,
        );
        // Gone at 5.01; 8 - 5.01 = 2.99 s late; the fault and its recovery cover 2.99 s.
        assert!(!kinds(&r).contains(&Kind::WrongData), "{:?}", r.violations);
    }

    #[test]
    fn unknown_foreign_and_early_items_are_wrong() {
        for bad in ["10.0.0.1:80".to_owned(), item(99, 0, 0), item(7, 5, 0)] {
            let r = check(
                &base(vec![push(2 * S, 1, 10, std::slice::from_ref(&bad))]),
                &P,
            );
            assert!(
                kinds(&r).contains(&Kind::WrongData),
                "{bad}: {:?}",
                r.violations
            );
        }
        // Data 1 was issued at 5 s: a push at 4 s cannot hold it.
        let r = check(&base(vec![push(4 * S, 1, 10, &[item(7, 1, 0)])]), &P);
        assert!(kinds(&r).contains(&Kind::WrongData), "{:?}", r.violations);
    }

    #[test]
    fn an_empty_push_while_a_publisher_is_live_is_flagged() {
        let r = check(&base(vec![push(3 * S, 1, 10, &[])]), &P);
        assert!(kinds(&r).contains(&Kind::EmptyList), "{:?}", r.violations);
        // Nor once its client began to close (the close is answered after the push).
        let r = check(
            &base(vec![
                issued(3 * S, 8, Op::Reopen),
                push(3 * S + 1000, 1, 10, &[]),
                done(3 * S + 5000, 8),
            ]),
            &P,
        );
        assert!(!kinds(&r).contains(&Kind::EmptyList), "{:?}", r.violations);
        // Before the publisher was acknowledged (plus slack) it is not.
        let r = check(&base(vec![push(S + 500_000, 1, 10, &[])]), &P);
        assert!(!kinds(&r).contains(&Kind::EmptyList), "{:?}", r.violations);
        // Nor while clients were cut off for longer than the grace period.
        let fault = Fault {
            name: "cut".into(),
            cuts_clients: true,
            loses_registrations: false,
        };
        let r = check(
            &base(vec![
                Entry::FaultStart { t: 2 * S, fault },
                Entry::FaultEnd {
                    t: 6 * S,
                    name: "cut".into(),
                },
                push(5 * S + 500_000, 1, 10, &[]),
            ]),
            &P,
        );
        assert!(!kinds(&r).contains(&Kind::EmptyList), "{:?}", r.violations);
    }

    #[test]
    fn older_versions_and_two_lists_for_one_version_are_regressions() {
        let r = check(&base(vec![push(6 * S, 1, 9, &[item(7, 1, 0)])]), &P);
        assert!(
            kinds(&r).contains(&Kind::VersionRegression),
            "{:?}",
            r.violations
        );
        // Another subscriber of the key with version 11 and other data.
        let r = check(
            &base(vec![issued(S, 9, subscribe(2)), push(6 * S, 2, 11, &[])]),
            &P,
        );
        assert!(
            kinds(&r).contains(&Kind::VersionRegression),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn two_leaders_of_one_term_are_split_brain() {
        let r = check(
            &base(vec![
                Entry::Leader {
                    t: S,
                    node: 1,
                    term: 3,
                },
                Entry::Leader {
                    t: 2 * S,
                    node: 1,
                    term: 3,
                },
                Entry::Leader {
                    t: 3 * S,
                    node: 2,
                    term: 4,
                },
            ]),
            &P,
        );
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        let r = check(
            &base(vec![
                Entry::Leader {
                    t: 3 * S,
                    node: 2,
                    term: 3,
                },
                Entry::Leader {
                    t: S,
                    node: 1,
                    term: 3,
                },
            ]),
            &P,
        );
        assert_eq!(kinds(&r), vec![Kind::SplitBrain]);
    }

    #[test]
    fn final_data_must_be_the_union_of_live_publishers() {
        let mut e = base(vec![]);
        e.pop();
        // A second live publisher whose data the subscriber lacks (published after the
        // last push, which need not show it).
        e.push(issued(
            5_500_000,
            4,
            Op::Publish {
                publisher: 8,
                key: "k".into(),
                gen: 0,
                items: vec![item(8, 0, 0)],
            },
        ));
        e.push(done(5_510_000, 4));
        e.push(final_of(
            7 * S,
            vec![(7, vec![item(7, 1, 0)]), (8, vec![item(8, 0, 0)])],
            vec![(1, Some((11, vec![item(7, 1, 0)])))],
        ));
        let r = check(&e, &P);
        assert_eq!(kinds(&r), vec![Kind::MissingData]);
        assert!(
            r.violations[0].detail.contains("p8.g0.i0"),
            "{}",
            r.violations[0].detail
        );
        // A leftover (an unregistered publisher's item) is caught the same way.
        let mut e = base(vec![]);
        e.pop();
        e.push(final_of(
            7 * S,
            vec![],
            vec![(1, Some((11, vec![item(7, 1, 0)])))],
        ));
        assert_eq!(kinds(&check(&e, &P)), vec![Kind::MissingData]);
    }

    #[test]
    fn convergence_counts_from_the_quiet_point() {
        let mut e = base(vec![]);
        e.pop();
        e.push(issued(
            5 * S,
            5,
            Op::Republish {
                publisher: 7,
                gen: 2,
                items: vec![item(7, 2, 0)],
            },
        ));
        e.push(done(6 * S + 300_000, 5));
        e.push(push(6 * S + 400_000, 1, 13, &[item(7, 2, 0)]));
        e.push(final_of(
            7 * S,
            vec![(7, vec![item(7, 2, 0)])],
            vec![(1, Some((13, vec![item(7, 2, 0)])))],
        ));
        let r = check(&e, &P);
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.convergence, vec![400_000]);
        assert_eq!(percentile(&r.convergence, 0.99), 400_000);
        assert_eq!(r.op_latency, vec![10_000, 10_000, 20_000, 1_300_000]);
    }

    #[test]
    fn visibility_counts_from_the_acknowledgement_to_the_push_that_shows_it() {
        // In `base`: data 0 acknowledged at 1.01 s, the subscriber had no data before it was
        // issued (not counted); data 1 acknowledged at 5.01 s and pushed at 5.01 s.
        let r = check(&base(vec![]), &P);
        assert_eq!(r.visibility, vec![0]);
        // Data 2 acknowledged at 6 s, shown only at 6.5 s (an unrelated push at 6.2 s
        // still shows data 1); then an unregister acknowledged at 7 s shown at 7.3 s.
        let r = check(
            &base(vec![
                issued(
                    5_900_000,
                    20,
                    Op::Republish {
                        publisher: 7,
                        gen: 2,
                        items: vec![item(7, 2, 0)],
                    },
                ),
                done(6 * S, 20),
                push(6_200_000, 1, 12, &[item(7, 1, 0)]),
                push(6_500_000, 1, 13, &[item(7, 2, 0)]),
                issued(6_900_000, 21, Op::Unregister { publisher: 7 }),
                done(7 * S, 21),
                push(7_300_000, 1, 14, &[]),
            ]),
            &P,
        );
        assert_eq!(r.visibility, vec![0, 300_000, 500_000]);
    }

    #[test]
    fn unanswered_operations_of_live_clients_are_stuck() {
        let stuck = issued(5 * S, 9, subscribe(3));
        let r = check(&base(vec![stuck.clone()]), &P);
        assert_eq!(kinds(&r), vec![Kind::Stuck]);
        // A killed client's operations are never answered, and that is fine.
        let r = check(
            &base(vec![
                stuck,
                Entry::WorkerKilled {
                    t: 5 * S + 1,
                    worker: 1,
                },
            ]),
            &P,
        );
        assert!(!kinds(&r).contains(&Kind::Stuck), "{:?}", r.violations);
    }

    // Zones, scopes and modes. Worker 1 publishes (p7, in zone-a of dc-1); the others
    // subscribe: worker 2 in zone-b of dc-1, worker 3 in zone-c of dc-2.

    fn started(worker: u32, zone: &str, dc: &str, publish_mode: &str) -> Entry {
        Entry::WorkerStarted {
            t: 0,
            worker,
            placement: journal::Placement {
                zone: zone.into(),
                data_center: dc.into(),
                app: "app".into(),
                publish_mode: publish_mode.into(),
                subscribe_mode: "force-interface".into(),
            },
        }
    }

    fn placed(publish_mode: &str) -> Vec<Entry> {
        vec![
            started(1, "zone-a", "dc-1", publish_mode),
            started(2, "zone-b", "dc-1", "interface"),
            started(3, "zone-c", "dc-2", "interface"),
        ]
    }

    fn subscribe_as(
        t: Micros,
        worker: u32,
        id: u64,
        sub: u32,
        scope: &str,
        mode: Option<&str>,
    ) -> Entry {
        Entry::Issued {
            t,
            worker,
            id,
            op: Op::Subscribe {
                subscriber: sub,
                key: "k".into(),
                scope: scope.into(),
                mode: mode.map(str::to_owned),
            },
        }
    }

    fn push_with(t: Micros, sub: u32, version: u64, items: &[String], status: &str) -> Entry {
        Entry::Push {
            t,
            worker: 2,
            subscriber: sub,
            version,
            items: items.to_vec(),
            status: status.into(),
        }
    }

    #[test]
    fn a_push_without_a_live_provider_is_a_vanished_provider() {
        // Publisher 8 (worker 1) is live from 2 s; the push at 5.01 s lacks it.
        let mut e = base(vec![
            issued(
                2 * S,
                4,
                Op::Publish {
                    publisher: 8,
                    key: "k".into(),
                    gen: 0,
                    items: vec![item(8, 0, 0)],
                },
            ),
            done(2 * S + 10_000, 4),
        ]);
        let r = check(&e, &P);
        assert!(
            kinds(&r).contains(&Kind::ProviderVanished),
            "{:?}",
            r.violations
        );
        // Not while the registry had lost its registrations (a single node restarted).
        let fault = Fault {
            name: "kill".into(),
            cuts_clients: false,
            loses_registrations: true,
        };
        e.push(Entry::FaultStart { t: 4 * S, fault });
        e.push(Entry::FaultEnd {
            t: 5 * S,
            name: "kill".into(),
        });
        let r = check(&e, &P);
        assert!(
            !kinds(&r).contains(&Kind::ProviderVanished),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn a_subscriber_sees_its_scope_only() {
        // Publisher 7 is in zone-a of dc-1. (scope, subscriber's worker, may show it)
        let cases = [
            ("zone", 2, false),
            ("dataCenter", 2, true),
            ("dataCenter", 3, false),
            ("global", 3, true),
        ];
        for (scope, worker, sees) in cases {
            let mut e = placed("interface");
            e.extend(base(vec![
                subscribe_as(S, worker, 30, 5, scope, None),
                done(S + 20_000, 30),
                push_with(3 * S, 5, 10, &[item(7, 0, 0)], "force-interface"),
            ]));
            let r = check(&e, &P);
            let wrong = r
                .violations
                .iter()
                .any(|v| v.kind == Kind::WrongData && v.subscriber == Some(5));
            assert_eq!(
                wrong, !sees,
                "{scope} from worker {worker}: {:?}",
                r.violations
            );
            // And a subscriber that does not see it must not be asked to.
            let mut e = placed("interface");
            e.extend(base(vec![
                subscribe_as(S, worker, 30, 5, scope, None),
                done(S + 20_000, 30),
                push_with(4 * S, 5, 10, &[], "force-interface"),
            ]));
            let r = check(&e, &P);
            let empty = r
                .violations
                .iter()
                .any(|v| v.kind == Kind::EmptyList && v.subscriber == Some(5));
            assert_eq!(
                empty, sees,
                "{scope} from worker {worker}: {:?}",
                r.violations
            );
        }
    }

    #[test]
    fn a_provider_switching_levels_stays_required_unless_the_view_is_application_only() {
        // Worker 1 switches from interface to application at 3 s (acknowledged at 3.01 s).
        let switch = |e: &mut Vec<Entry>| {
            e.push(issued(
                3 * S,
                40,
                Op::SetPublishMode {
                    mode: "application".into(),
                },
            ));
            e.push(done(3 * S + 10_000, 40));
        };
        // A force-interface subscriber must see it throughout: an empty push at 3.005 s,
        // mid-switch, is a violation.
        let mut e = placed("interface");
        e.extend(base(vec![push(3 * S + 5_000, 1, 10, &[])]));
        switch(&mut e);
        assert!(kinds(&check(&e, &P)).contains(&Kind::EmptyList));
        // A force-application subscription that moved on need not see an interface-level
        // provider, and need see it at application level only once the switch settled.
        for (t, required) in [(2 * S, false), (4 * S, false), (4_500_000, true)] {
            let mut e = placed("interface");
            e.extend(base(vec![
                subscribe_as(S, 2, 30, 5, "global", Some("force-application")),
                done(S + 20_000, 30),
                push_with(t, 5, 10, &[], "force-application"),
            ]));
            switch(&mut e);
            let r = check(&e, &P);
            let empty = r
                .violations
                .iter()
                .any(|v| v.kind == Kind::EmptyList && v.subscriber == Some(5));
            assert_eq!(empty, required, "at {t}: {:?}", r.violations);
        }
    }

    #[test]
    fn one_version_names_one_list_per_view() {
        // Subscriber 5 (global, like subscriber 1) is handed version 11 with another list.
        let second = |status: &str, scope: &str| {
            let mut e = placed("interface");
            e.extend(base(vec![
                subscribe_as(S, 2, 30, 5, scope, None),
                done(S + 20_000, 30),
                push_with(6 * S, 5, 11, &[item(7, 1, 0), item(7, 1, 1)], status),
            ]));
            check(&e, &P)
        };
        assert!(kinds(&second("force-interface", "global")).contains(&Kind::VersionRegression));
        // Another view (a resolution's, or another scope) numbers its lists apart.
        assert!(!kinds(&second("application-first", "global")).contains(&Kind::VersionRegression));
        assert!(!kinds(&second("force-interface", "dataCenter")).contains(&Kind::VersionRegression));
        // Two resolutions of one view: each numbers its own merge.
        let two = |status: &str| {
            let mut e = placed("interface");
            e.extend(base(vec![
                subscribe_as(S, 2, 30, 5, "global", None),
                done(S + 20_000, 30),
                subscribe_as(S, 2, 31, 6, "global", None),
                done(S + 20_000, 31),
                push_with(6 * S, 5, 11, &[item(7, 1, 0)], status),
                push_with(6 * S, 6, 11, &[item(7, 1, 0), item(7, 1, 1)], status),
            ]));
            check(&e, &P)
        };
        assert!(kinds(&two("force-interface")).contains(&Kind::VersionRegression));
        assert!(!kinds(&two("application-first")).contains(&Kind::VersionRegression));
    }

    #[test]
    fn a_force_application_subscription_still_pending_at_the_end_is_stuck() {
        // Publisher 7 publishes at application level; subscriber 5 says pending.
        let ends = |publish_mode: &str| {
            let mut e = placed(publish_mode);
            e.extend(base(vec![]));
            e.retain(|e| !matches!(e, Entry::Final { .. }));
            e.push(subscribe_as(
                S,
                2,
                30,
                5,
                "global",
                Some("force-application"),
            ));
            e.push(done(S + 20_000, 30));
            e.push(push_with(6 * S, 5, 12, &[item(7, 1, 0)], "pending"));
            e.push(Entry::Final {
                t: 7 * S,
                worker: 1,
                publishers: vec![(7, vec![item(7, 1, 0)])],
                subscribers: vec![(1, Some((11, vec![item(7, 1, 0)])))],
                publish_mode: publish_mode.into(),
                statuses: vec![],
            });
            e.push(Entry::Final {
                t: 7 * S,
                worker: 2,
                publishers: vec![],
                subscribers: vec![(5, Some((12, vec![item(7, 1, 0)])))],
                publish_mode: "interface".into(),
                statuses: vec![(5, "pending".into())],
            });
            check(&e, &P)
        };
        assert_eq!(kinds(&ends("application")), vec![Kind::StuckMigration]);
        // With the provider at interface level only, pending is right: the application
        // level holds none of the interface level's addresses.
        assert!(
            ends("interface").violations.is_empty(),
            "{:?}",
            ends("interface").violations
        );
    }
}
