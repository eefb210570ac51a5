//! Subscribe modes. A `ForceInterface` subscription is one registration whose pushes go
//! straight to the user's slot (the registry converts application-level providers for
//! it). `ApplicationFirst` and `ForceApplication` subscriptions are resolved here: follow
//! the interface -> applications index, subscribe to each application, fetch unseen
//! revisions, convert every application publisher whose revision serves the interface,
//! and (application-first) merge with the interface level, de-duplicated by address.
//!
//! Each user subscription is a [`UserSub`]; switching its mode at run time tears down the
//! old plan and starts the new one, feeding the same slot. The user subscriptions of one
//! client to the same interface, scope and mode share one [`Resolution`]: the lists are
//! converted and merged once, and its subscribers share one copy of the result (a hot
//! application's 7,000 instances are not converted once per subscriber).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use roster_proto::appmeta::{self, AppMetadata, APP_GROUP};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::engine::{Engine, Waiting};
use crate::model::{DataInfoId, MigrationStatus, Scope, SubscribeMode, SubscriberData};
use crate::slot::Callback;
use crate::slot::{Changed, Slot};
use crate::table::{SubscriberEntry, Table};

mod merge;
use merge::{Merge, Source};

/// How long to wait before asking again for revisions the registry did not have.
const REVISION_RETRY: Duration = Duration::from_secs(1);

/// The client's subscriptions above the engine: every user subscription (for client-wide
/// mode switches), the resolutions they share, the application watches those share, and
/// the revisions known so far. The engine knows none of this; the resolver reaches the
/// engine through its methods.
pub(crate) struct Resolver {
    engine: Arc<Engine>,
    /// Revision metadata seen so far, by revision (checked against its hash).
    revisions: Mutex<HashMap<String, Arc<AppMetadata>>>,
    app_watches: Mutex<HashMap<(DataInfoId, Scope), Weak<AppWatch>>>,
    resolutions: Mutex<HashMap<(DataInfoId, Scope, SubscribeMode), Weak<Resolution>>>,
    user_subs: Mutex<Vec<Weak<UserSub>>>,
}

impl Resolver {
    pub(crate) fn new(engine: Arc<Engine>) -> Arc<Resolver> {
        Arc::new(Resolver {
            engine,
            revisions: Mutex::default(),
            app_watches: Mutex::default(),
            resolutions: Mutex::default(),
            user_subs: Mutex::default(),
        })
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// A new user subscription of `key` in `scope`, started in its mode (`mode`, or the
    /// client's): what to wait for comes with it. `slot` may already hold cached data and
    /// feed a callback.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        key: DataInfoId,
        scope: Scope,
        mode: Option<SubscribeMode>,
        slot: Arc<Slot>,
    ) -> (Arc<UserSub>, Vec<Waiting>) {
        let sub = Arc::new(UserSub {
            regist_id: uuid::Uuid::new_v4().to_string().into(),
            key,
            scope,
            slot,
            own_mode: Mutex::new(mode),
            plan: Mutex::new(Plan::Idle),
            direct_version: AtomicU64::new(0),
            activations: AtomicU64::new(0),
        });
        let waits = sub.activate(self, sub.mode(&self.engine));
        let mut subs = self.user_subs.lock();
        subs.retain(|s| s.strong_count() > 0);
        subs.push(Arc::downgrade(&sub));
        (sub, waits)
    }

    /// Moves every subscription that follows the client's mode to `mode`.
    pub(crate) fn follow_client_mode(self: &Arc<Self>, mode: SubscribeMode) -> Vec<Waiting> {
        let subs: Vec<Arc<UserSub>> = self
            .user_subs
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut waits = Vec::new();
        for sub in subs.iter().filter(|s| s.own_mode.lock().is_none()) {
            waits.extend(sub.activate(self, mode));
        }
        waits
    }

    /// Runs `callback` for every new version of `slot`, on the client's runtime.
    pub(crate) fn dispatch(&self, slot: &Arc<Slot>, callback: Callback) {
        slot.spawn_dispatcher(callback, self.engine.runtime());
    }
}

/// One user subscription, whatever its mode.
pub(crate) struct UserSub {
    pub regist_id: Arc<str>,
    pub key: DataInfoId,
    pub scope: Scope,
    pub slot: Arc<Slot>,
    /// This subscription's own mode; `None` follows the client's.
    own_mode: Mutex<Option<SubscribeMode>>,
    plan: Mutex<Plan>,
    /// The last version used for `regist_id` (registrations and unregisters alike).
    direct_version: AtomicU64,
    /// Counts activations, to tell a current resolver from a replaced one.
    activations: AtomicU64,
}

enum Plan {
    Idle,
    /// A registration under `regist_id` feeding the slot.
    Direct,
    Resolved {
        resolution: Arc<Resolution>,
        mode: SubscribeMode,
        /// Which activation this is; a resolver only delivers while it is the current one.
        id: u64,
    },
}

impl Plan {
    fn mode(&self) -> Option<SubscribeMode> {
        match self {
            Plan::Idle => None,
            Plan::Direct => Some(SubscribeMode::ForceInterface),
            Plan::Resolved { mode, .. } => Some(*mode),
        }
    }
}

impl UserSub {
    /// The mode this subscription runs in now.
    pub(crate) fn mode(&self, engine: &Engine) -> SubscribeMode {
        let own = *self.own_mode.lock();
        own.unwrap_or_else(|| engine.read(Table::subscribe_mode))
    }

    /// Gives this subscription its own mode (`None`: the client's) and switches to it.
    pub(crate) fn set_mode(
        self: &Arc<Self>,
        resolver: &Arc<Resolver>,
        mode: Option<SubscribeMode>,
    ) -> Vec<Waiting> {
        *self.own_mode.lock() = mode;
        self.activate(resolver, self.mode(&resolver.engine))
    }

    /// Where this subscription stands in its migration: its plan's, and for a
    /// force-application plan its resolution's (which every subscription that joins it
    /// shares, whenever it joined).
    pub(crate) fn migration_status(&self, engine: &Engine) -> MigrationStatus {
        let mode = match &*self.plan.lock() {
            Plan::Resolved { resolution, .. } => return *resolution.status.lock(),
            Plan::Direct => SubscribeMode::ForceInterface,
            Plan::Idle => self.mode(engine),
        };
        initial_status(mode)
    }

    /// Starts (or restarts) this subscription in `mode`; returns what to wait for.
    fn activate(self: &Arc<Self>, resolver: &Arc<Resolver>, mode: SubscribeMode) -> Vec<Waiting> {
        let engine = &resolver.engine;
        let sub = self;
        let mut plan = sub.plan.lock();
        if plan.mode() == Some(mode) || sub.slot.is_closed() {
            return Vec::new();
        }
        sub.deactivate(engine, &mut plan);
        // The slot's next data comes from another source, whose versions do not compare
        // with the last one delivered.
        sub.slot.rebase();
        if mode == SubscribeMode::ForceInterface {
            // Newer than any earlier registration (or unregister) of this registId, which the
            // registry may still hold as a tombstone.
            let version = sub.direct_version.fetch_add(1, Ordering::Relaxed) + 1;
            *plan = Plan::Direct;
            let entry = SubscriberEntry {
                key: sub.key.clone(),
                version,
                scope: sub.scope,
                slot: sub.slot.clone(),
                // Where the registry converts application publishers, ask it to.
                convert: engine.read(Table::capabilities).server_conversion,
                user: true,
                handle: 0,
            };
            return engine.add_subscriber(&sub.regist_id, entry, true);
        }
        let id = sub.activations.fetch_add(1, Ordering::Relaxed) + 1;
        let resolution = join(resolver, sub, mode, id);
        *plan = Plan::Resolved {
            resolution,
            mode,
            id,
        };
        Vec::new()
    }

    /// Stops the current plan, keeping the slot open.
    fn deactivate(&self, engine: &Engine, plan: &mut Plan) {
        let sub = self;
        match std::mem::replace(plan, Plan::Idle) {
            Plan::Idle => {}
            Plan::Direct => {
                if let Some((_, removed_at)) = engine.remove(&sub.regist_id, false, true) {
                    sub.direct_version.fetch_max(removed_at, Ordering::Relaxed);
                }
            }
            // The last member's leaving ends the resolution; its guards unregister what it held.
            Plan::Resolved { resolution, id, .. } => resolution.leave(sub, id),
        }
    }

    /// Ends this subscription for good (unsubscribe, or the handle dropped).
    pub(crate) fn close(&self, engine: &Engine) -> Vec<Waiting> {
        let sub = self;
        let mut plan = sub.plan.lock();
        let mut waits = Vec::new();
        if let Plan::Direct = &*plan {
            if let Some((w, _)) = engine.remove(&sub.regist_id, true, false) {
                waits = w;
            }
            *plan = Plan::Idle;
        } else {
            sub.deactivate(engine, &mut plan);
        }
        sub.slot.close();
        waits
    }
}

/// The registrations a resolver holds, unregistered when it ends (or is aborted).
struct Internal {
    engine: Arc<Engine>,
    changed: Arc<Notify>,
    slots: HashMap<Arc<str>, Arc<Slot>>,
}

impl Internal {
    fn add(&mut self, key: DataInfoId, scope: Scope) -> Arc<str> {
        let id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let slot = Slot::new();
        let mut updates = slot.updates();
        let changed = self.changed.clone();
        self.engine.runtime().spawn(async move {
            while updates.next().await.is_some() {
                changed.notify_one();
            }
        });
        let entry = SubscriberEntry {
            key,
            version: 1,
            scope,
            slot: slot.clone(),
            convert: false,
            user: false,
            handle: 0,
        };
        self.engine.add_subscriber(&id, entry, false);
        self.slots.insert(id.clone(), slot);
        id
    }

    fn remove(&mut self, id: &Arc<str>) {
        self.engine.unregister_nowait(id);
        self.slots.remove(id);
    }

    fn peek(&self, id: &Arc<str>) -> Option<Arc<SubscriberData>> {
        self.slots.get(id).and_then(|s| s.peek())
    }
}

impl Drop for Internal {
    fn drop(&mut self) {
        for id in self.slots.keys() {
            self.engine.unregister_nowait(id);
        }
    }
}

/// One subscription to an application's publishers, shared by every resolver of the
/// client that needs it (a consumer of 30 interfaces of one application gets its pushes
/// once). Unregistered when the last resolver lets go of it.
pub(crate) struct AppWatch {
    engine: Arc<Engine>,
    id: Arc<str>,
    slot: Arc<Slot>,
    /// The resolvers to wake when it changes.
    listeners: Arc<Mutex<Vec<std::sync::Weak<Notify>>>>,
}

impl Drop for AppWatch {
    fn drop(&mut self) {
        self.engine.unregister_nowait(&self.id);
    }
}

/// The client's watch of application `key` in `scope`, joined (or started) for `listener`.
fn watch_app(
    resolver: &Resolver,
    key: DataInfoId,
    scope: Scope,
    listener: &Arc<Notify>,
) -> Arc<AppWatch> {
    let engine = &resolver.engine;
    let mut watches = resolver.app_watches.lock();
    watches.retain(|_, w| w.strong_count() > 0);
    if let Some(w) = watches
        .get(&(key.clone(), scope))
        .and_then(std::sync::Weak::upgrade)
    {
        w.listeners.lock().push(Arc::downgrade(listener));
        listener.notify_one(); // it has data already
        return w;
    }
    let id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
    let slot = Slot::new();
    let listeners = Arc::new(Mutex::new(vec![Arc::downgrade(listener)]));
    let (mut updates, wake) = (slot.updates(), listeners.clone());
    engine.runtime().spawn(async move {
        while updates.next().await.is_some() {
            wake.lock()
                .retain(|l| l.upgrade().inspect(|n| n.notify_one()).is_some());
        }
    });
    let entry = SubscriberEntry {
        key: key.clone(),
        version: 1,
        scope,
        slot: slot.clone(),
        convert: false,
        user: false,
        handle: 0,
    };
    engine.add_subscriber(&id, entry, false);
    let watch = Arc::new(AppWatch {
        engine: engine.clone(),
        id,
        slot,
        listeners,
    });
    watches.insert((key, scope), Arc::downgrade(&watch));
    watch
}

/// The registry-maintained dataInfoId listing the applications that provide `interface`.
fn mapping_key(interface: &DataInfoId) -> DataInfoId {
    DataInfoId {
        group: appmeta::mapping_group(&interface.group),
        ..interface.clone()
    }
}

/// A mode's status before its plan says more.
fn initial_status(mode: SubscribeMode) -> MigrationStatus {
    match mode {
        SubscribeMode::ForceInterface => MigrationStatus::ForceInterface,
        SubscribeMode::ApplicationFirst => MigrationStatus::ApplicationFirst,
        SubscribeMode::ForceApplication => MigrationStatus::Pending {
            application: 0,
            interface: 0,
        },
    }
}

/// One resolved subscription (interface, scope, mode) of a client, shared by its user
/// subscriptions: its task ends when the last one leaves.
pub(crate) struct Resolution {
    members: Arc<Mutex<Vec<Member>>>,
    /// Where the resolution stands in its migration, set by its task.
    status: Arc<Mutex<MigrationStatus>>,
    /// Wakes the task (a member joined).
    changed: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A user subscription fed by a resolution, in one of its activations.
struct Member {
    sub: std::sync::Weak<UserSub>,
    id: u64,
    /// Offered the resolution's current data.
    fed: bool,
}

impl Resolution {
    fn leave(&self, sub: &UserSub, id: u64) {
        self.members
            .lock()
            .retain(|m| !(m.id == id && std::ptr::eq(m.sub.as_ptr(), sub)));
    }
}

impl Drop for Resolution {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
}

/// Joins (or starts) the client's resolution of `sub`'s interface and scope in `mode`.
fn join(
    resolver: &Arc<Resolver>,
    sub: &Arc<UserSub>,
    mode: SubscribeMode,
    id: u64,
) -> Arc<Resolution> {
    let member = Member {
        sub: Arc::downgrade(sub),
        id,
        fed: false,
    };
    let mut all = resolver.resolutions.lock();
    all.retain(|_, r| r.strong_count() > 0);
    let wanted = (sub.key.clone(), sub.scope, mode);
    if let Some(r) = all.get(&wanted).and_then(std::sync::Weak::upgrade) {
        r.members.lock().push(member);
        r.changed.notify_one();
        return r;
    }
    let r = Arc::new(Resolution {
        members: Arc::new(Mutex::new(vec![member])),
        status: Arc::new(Mutex::new(initial_status(mode))),
        changed: Arc::new(Notify::new()),
        task: Mutex::new(None),
    });
    let task = resolver.engine.runtime().spawn(resolve(
        resolver.clone(),
        (sub.key.clone(), sub.scope),
        mode,
        (r.members.clone(), r.status.clone()),
        r.changed.clone(),
    ));
    *r.task.lock() = Some(task);
    all.insert(wanted, Arc::downgrade(&r));
    r
}

/// The members' subscriptions that are still there, with their activation and whether
/// they were fed the current data.
fn live_members(members: &Mutex<Vec<Member>>) -> Vec<(Arc<UserSub>, u64, bool)> {
    let mut all = members.lock();
    all.retain(|m| m.sub.strong_count() > 0);
    all.iter()
        .filter_map(|m| Some((m.sub.upgrade()?, m.id, m.fed)))
        .collect()
}

/// Offers `data` to the members (only the unfed ones with `only_unfed`), each only while
/// the activation is its current one: a resolver being replaced must not deliver after the
/// slot was handed to its successor. Returns the data as the first taker holds it.
fn offer(
    engine: &Engine,
    members: &Mutex<Vec<Member>>,
    data: &mut Changed,
    only_unfed: bool,
) -> Option<Arc<SubscriberData>> {
    let mut taken = None;
    let mut fed = Vec::new();
    for (sub, id, was_fed) in live_members(members) {
        if only_unfed && was_fed {
            continue;
        }
        // Under the plan's lock (taken after the members' lock is released: `leave` runs
        // under the plan's lock and takes the members').
        let plan = sub.plan.lock();
        if matches!(&*plan, Plan::Resolved { id: current, .. } if *current == id) {
            sub.slot.offer_changed(data, |d| {
                if let Some(snapshots) = engine.snapshots() {
                    snapshots.store(d.clone());
                }
                taken.get_or_insert_with(|| d.clone());
            });
        }
        fed.push((Arc::as_ptr(&sub), id));
    }
    // By subscription and activation (activation numbers are per subscription): a member
    // that joined meanwhile was not offered anything and stays unfed.
    for m in members.lock().iter_mut() {
        m.fed |= fed.contains(&(m.sub.as_ptr(), m.id));
    }
    taken
}

/// Keeps one watch per application the interface's index names: new names get one from
/// `watch`, names no longer listed lose theirs, the others keep theirs.
fn follow_index<'a, W>(
    apps: &mut BTreeMap<String, W>,
    names: impl Iterator<Item = &'a str>,
    mut watch: impl FnMut(&str) -> W,
) {
    let names: BTreeSet<&str> = names.collect();
    apps.retain(|name, _| names.contains(name.as_str()));
    for name in names {
        if !apps.contains_key(name) {
            apps.insert(name.to_owned(), watch(name));
        }
    }
}

/// Force-application's step, from the merged list's `(application, interface)` address
/// counts: move to the application level alone once it holds the threshold's share of the
/// interface level's addresses (with none at either level too: nothing would be lost).
fn migration_step((application, interface): (usize, usize), threshold: f64) -> MigrationStatus {
    if application as f64 >= threshold * interface as f64 {
        MigrationStatus::ForceApplication
    } else {
        MigrationStatus::Pending {
            application,
            interface,
        }
    }
}

/// A resolution's next version: its newest source's, and always past the last delivered.
fn next_version(newest_source: u64, last: u64) -> u64 {
    newest_source.max(last + 1)
}

/// Follows the index and the applications, converts, merges and delivers to the members
/// until aborted or the client closes.
async fn resolve(
    resolver: Arc<Resolver>,
    (key, scope): (DataInfoId, Scope),
    mode: SubscribeMode,
    (group, status): (Arc<Mutex<Vec<Member>>>, Arc<Mutex<MigrationStatus>>),
    changed: Arc<Notify>,
) {
    let engine = resolver.engine.clone();
    let mut internal = Internal {
        engine: engine.clone(),
        changed: changed.clone(),
        slots: HashMap::new(),
    };
    let mapping = internal.add(mapping_key(&key), Scope::Global);
    let mut iface = Some(internal.add(key.clone(), scope));
    let mut apps: BTreeMap<String, Arc<AppWatch>> = BTreeMap::new();
    let mut last_version = 0u64;
    let mut delivered: Option<Arc<SubscriberData>> = None;
    // `delivered` without a change set, for members that join later.
    let mut first: Option<Arc<SubscriberData>> = None;
    let mut merge = Merge::new(key.to_string());
    let threshold = engine.config().migration_threshold;
    let mut redone = engine.watch_redone();
    loop {
        let mut retry = false;
        if let Some(m) = internal.peek(&mapping) {
            follow_index(&mut apps, m.items(), |name| {
                let app = DataInfoId {
                    data_id: name.to_owned(),
                    group: APP_GROUP.into(),
                    instance_id: key.instance_id.clone(),
                };
                watch_app(&resolver, app, scope, &changed)
            });
        }
        let iface_data = iface.as_ref().map(|id| internal.peek(id));
        let app_data: Vec<(&String, Arc<SubscriberData>)> = apps
            .iter()
            .filter_map(|(name, w)| Some((name, w.slot.peek()?)))
            .collect();
        let ready = internal.peek(&mapping).is_some()
            && app_data.len() == apps.len()
            && !matches!(iface_data, Some(None));
        if ready {
            {
                let revisions = resolver.revisions.lock();
                if let Some(Some(d)) = &iface_data {
                    merge.set(Source::Interface, d, &revisions);
                }
                for (name, d) in &app_data {
                    merge.set(Source::Application((*name).clone()), d, &revisions);
                }
            }
            merge.retain(|s| match s {
                Source::Interface => iface.is_some(),
                Source::Application(name) => apps.contains_key(name),
            });
            let unknown = merge.unknown();
            // While a redo is read back, some sources are fresh and others not yet: a merge
            // of them would mix two moments of the registry (a provider that moved from
            // one level to the other meanwhile would be at neither).
            let mut hold = !engine.redo_read_back();
            // Instances whose revision could not be fetched are only unknown, not gone:
            // what was delivered stays until the registry can be asked again.
            if !unknown.is_empty() {
                match fetch_revisions(&resolver, &unknown).await {
                    Fetched::All => {
                        merge.learn(&resolver.revisions.lock());
                        continue; // deliver with them
                    }
                    Fetched::Missing => tracing::warn!(
                        ?unknown,
                        "skipping instances whose revision the registry does not have; retrying"
                    ),
                    Fetched::Unreachable => hold |= delivered.is_some(),
                }
                retry = true;
            }
            // (The threshold's step waits too: its counts would miss those instances.)
            if !hold && mode == SubscribeMode::ForceApplication && iface.is_some() {
                let step = migration_step(merge.counts(), threshold);
                *status.lock() = step;
                if step == MigrationStatus::ForceApplication {
                    tracing::info!(counts = ?merge.counts(), "{key} moves to force-application");
                    internal.remove(&iface.take().expect("checked"));
                    continue; // merge without the interface level
                }
            }
            let zones = merge.output();
            if !hold && delivered.as_ref().map(|d| &d.zones) != Some(zones) {
                let newest = app_data
                    .iter()
                    .map(|(_, d)| d.version)
                    .chain(iface_data.iter().flatten().map(|d| d.version))
                    .chain(internal.peek(&mapping).map(|d| d.version))
                    .max()
                    .unwrap_or(0);
                last_version = next_version(newest, last_version);
                let mut data = Changed::new(SubscriberData {
                    data_info_id: key.clone(),
                    version: last_version,
                    scope,
                    zones: zones.clone(),
                    from_cache: false,
                    changes: Default::default(),
                });
                first = None;
                if let Some(taken) = offer(&engine, &group, &mut data, false) {
                    delivered = Some(taken);
                }
            } else if let Some(d) = &delivered {
                // Members that joined since: the current data as first data, one copy per
                // version shared by all of them.
                let first = first.get_or_insert_with(|| d.as_first_data());
                offer(&engine, &group, &mut Changed::held(first.clone()), true);
            }
        }
        tokio::select! {
            _ = changed.notified() => {}
            _ = redone.changed() => {}
            _ = engine.closed().cancelled() => break,
            _ = tokio::time::sleep(REVISION_RETRY), if retry => {}
        }
    }
    for (sub, _, _) in live_members(&group) {
        sub.slot.close();
    }
}

/// What a revision fetch got.
enum Fetched {
    All,
    /// The registry answered without some of them.
    Missing,
    /// The registry could not be asked (no session, or no answer in time).
    Unreachable,
}

/// Asks the registry for `wanted` (application, revision) pairs and caches what it
/// returns.
async fn fetch_revisions(resolver: &Resolver, wanted: &BTreeSet<(String, String)>) -> Fetched {
    let engine = &resolver.engine;
    let Some(link) = engine.link() else {
        return Fetched::Unreachable;
    };
    let asked: Vec<(String, String)> = wanted.iter().cloned().collect();
    let Some(answer) = link
        .revisions(&asked, engine.config().request_timeout)
        .await
    else {
        return Fetched::Unreachable;
    };
    let mut cache = resolver.revisions.lock();
    for meta in answer {
        if meta.is_consistent() {
            cache.insert(meta.revision.clone(), Arc::new(meta));
        } else {
            tracing::warn!(revision = %meta.revision, "ignoring a revision whose hash does not match its metadata");
        }
    }
    if wanted.iter().all(|(_, r)| cache.contains_key(r)) {
        Fetched::All
    } else {
        Fetched::Missing
    }
}

#[cfg(test)]
mod steps {
    use super::*;

    #[test]
    fn the_migration_step_follows_the_threshold() {
        use MigrationStatus::{ForceApplication as Move, Pending};
        // ((application, interface), threshold, expected)
        let cases = [
            ((0, 0), 1.0, Move),
            (
                (0, 4),
                1.0,
                Pending {
                    application: 0,
                    interface: 4,
                },
            ),
            (
                (3, 4),
                1.0,
                Pending {
                    application: 3,
                    interface: 4,
                },
            ),
            ((4, 4), 1.0, Move),
            ((5, 4), 1.0, Move),
            ((2, 4), 0.5, Move),
            (
                (1, 4),
                0.5,
                Pending {
                    application: 1,
                    interface: 4,
                },
            ),
            ((0, 4), 0.0, Move),
        ];
        for (counts, threshold, want) in cases {
            assert_eq!(
                migration_step(counts, threshold),
                want,
                "{counts:?} at {threshold}"
            );
        }
    }

    #[test]
    fn the_index_keeps_watches_of_listed_applications_only() {
        // (watched before, listed now, watched after, newly watched)
        type Names = &'static [&'static str];
        let cases: [(Names, Names, Names, Names); 4] = [
            (&[], &["a", "b"], &["a", "b"], &["a", "b"]),
            (&["a", "b"], &["b", "c"], &["b", "c"], &["c"]),
            (&["a"], &[], &[], &[]),
            (&["a"], &["a", "a"], &["a"], &[]),
        ];
        for (before, listed, after, new) in cases {
            // A watch is the name and a generation: kept watches keep generation 0.
            let mut apps: BTreeMap<String, (String, u32)> = before
                .iter()
                .map(|n| (n.to_string(), (n.to_string(), 0)))
                .collect();
            let mut added = Vec::new();
            follow_index(&mut apps, listed.iter().copied(), |n| {
                added.push(n.to_owned());
                (n.to_owned(), 1)
            });
            let names: Vec<&str> = apps.keys().map(String::as_str).collect();
            assert_eq!(names, after, "{before:?} then {listed:?}");
            assert_eq!(added, new, "{before:?} then {listed:?}");
            assert!(apps
                .iter()
                .all(|(k, (n, g))| k == n && (*g == 1) == new.contains(&k.as_str())));
        }
    }

    #[test]
    fn versions_follow_the_newest_source_and_always_grow() {
        for (newest, last, want) in [(10, 0, 10), (10, 10, 11), (5, 10, 11), (20, 10, 20)] {
            assert_eq!(next_version(newest, last), want, "{newest} after {last}");
        }
    }
}
