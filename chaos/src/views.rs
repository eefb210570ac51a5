//! What each subscriber must see, read from the journal: where every client process runs
//! (zone, data center), the modes it publishes and subscribes in over time, and each
//! subscription's scope and own mode. The checker asks it whether a subscriber's scope
//! shows a publisher, whether a subscription may show the application level alone at a
//! time (a force-application subscription that moved on), and whether a publisher was
//! surely at application level then.

use std::collections::HashMap;

use crate::journal::{Entry, Micros, Op, Placement};

/// The client's default share of the interface level that the application level must
/// hold before a force-application subscription moves on (the runner's clients use it).
pub const MIGRATION_THRESHOLD: f64 = 1.0;

/// A publish-mode switch: asked for at `issued`, acknowledged at `acked` (none when it
/// failed or was never answered).
struct Switch {
    issued: Micros,
    acked: Option<Micros>,
    mode: String,
}

struct Worker {
    at: Placement,
    /// Its publish modes, the first from its start.
    publish: Vec<Switch>,
    /// Its subscribe modes (when asked for), the first from its start.
    subscribe: Vec<(Micros, String)>,
}

struct Subscription {
    worker: u32,
    scope: String,
    /// Its own modes (none: the client's), the first from its subscribe.
    own: Vec<(Micros, Option<String>)>,
}

/// Publish modes that put a publisher at application level.
pub fn at_application_level(mode: &str) -> bool {
    matches!(mode, "application" | "all")
}

/// Publish modes that keep a publisher at interface level.
pub fn at_interface_level(mode: &str) -> bool {
    matches!(mode, "interface" | "all")
}

#[derive(Default)]
pub struct Views {
    workers: HashMap<u32, Worker>,
    subs: HashMap<u32, Subscription>,
}

/// The last of `changes` (sorted by time) made at or before `t`.
fn at<T>(changes: &[(Micros, T)], t: Micros) -> Option<&T> {
    let n = changes.partition_point(|(c, _)| *c <= t);
    n.checked_sub(1).map(|i| &changes[i].1)
}

impl Views {
    /// From the journal's entries, sorted by time.
    pub fn build(entries: &[Entry]) -> Views {
        let mut v = Views::default();
        let mut ops: HashMap<u64, (u32, usize)> = HashMap::new();
        for e in entries {
            match e {
                Entry::WorkerStarted {
                    t,
                    worker,
                    placement,
                } => {
                    let w = Worker {
                        publish: vec![Switch {
                            issued: *t,
                            acked: Some(*t),
                            mode: placement.publish_mode.clone(),
                        }],
                        subscribe: vec![(*t, placement.subscribe_mode.clone())],
                        at: placement.clone(),
                    };
                    v.workers.insert(*worker, w);
                }
                Entry::Issued { t, worker, id, op } => {
                    let Some(w) = v.workers.get_mut(worker) else {
                        continue;
                    };
                    match op {
                        Op::SetPublishMode { mode } => {
                            ops.insert(*id, (*worker, w.publish.len()));
                            w.publish.push(Switch {
                                issued: *t,
                                acked: None,
                                mode: mode.clone(),
                            });
                        }
                        Op::SetSubscribeMode { mode } => w.subscribe.push((*t, mode.clone())),
                        Op::Subscribe {
                            subscriber,
                            scope,
                            mode,
                            ..
                        } => {
                            let s = Subscription {
                                worker: *worker,
                                scope: scope.clone(),
                                own: vec![(*t, mode.clone())],
                            };
                            v.subs.insert(*subscriber, s);
                        }
                        Op::SetMode { subscriber, mode } => {
                            if let Some(s) = v.subs.get_mut(subscriber) {
                                s.own.push((*t, mode.clone()));
                            }
                        }
                        _ => {}
                    }
                }
                Entry::Done {
                    t, id, error: None, ..
                } => {
                    if let Some((w, i)) = ops.get(id) {
                        v.workers.get_mut(w).expect("noted").publish[*i].acked = Some(*t);
                    }
                }
                _ => {}
            }
        }
        v
    }

    fn placement(&self, worker: u32) -> Placement {
        self.workers
            .get(&worker)
            .map(|w| w.at.clone())
            .unwrap_or_default()
    }

    /// Whether the scope of subscription `sub` shows what client `publisher` publishes.
    pub fn sees(&self, sub: u32, publisher: u32) -> bool {
        let Some(s) = self.subs.get(&sub) else {
            return true;
        };
        let (mine, theirs) = (self.placement(s.worker), self.placement(publisher));
        match s.scope.as_str() {
            "zone" => mine.zone == theirs.zone,
            "dataCenter" => mine.data_center == theirs.data_center,
            _ => true,
        }
    }

    /// The subscription's scope and where it looks (its zone or data center; empty for
    /// global): subscriptions with the same view see the same list at one version.
    pub fn view_of(&self, sub: u32) -> (String, String) {
        let Some(s) = self.subs.get(&sub) else {
            return (String::new(), String::new());
        };
        let at = self.placement(s.worker);
        let filter = match s.scope.as_str() {
            "zone" => at.zone,
            "dataCenter" => at.data_center,
            _ => String::new(),
        };
        (s.scope.clone(), filter)
    }

    /// The subscribe mode subscription `sub` ran in at `t`.
    fn mode_at(&self, sub: &Subscription, t: Micros) -> Option<String> {
        if let Some(Some(own)) = at(&sub.own, t) {
            return Some(own.clone());
        }
        let w = self.workers.get(&sub.worker)?;
        at(&w.subscribe, t).cloned()
    }

    /// Whether subscription `sub` may have shown the application level alone in data read
    /// at `t` with migration status `status`: it said it had moved on, or it ran in
    /// force-application mode at some time within `window` before (its data may come from
    /// before a switch, and moving on is not journaled on its own).
    pub fn maybe_application_only(
        &self,
        sub: u32,
        status: &str,
        t: Micros,
        window: Micros,
    ) -> bool {
        if status == "force-application" {
            return true;
        }
        let Some(s) = self.subs.get(&sub) else {
            return false;
        };
        let from = t.saturating_sub(window);
        let worker_changes = self
            .workers
            .get(&s.worker)
            .map(|w| w.subscribe.iter().map(|(c, _)| *c))
            .into_iter()
            .flatten();
        let changes = s.own.iter().map(|(c, _)| *c).chain(worker_changes);
        std::iter::once(from)
            .chain(changes.filter(|c| (from..=t).contains(c)))
            .any(|c| self.mode_at(s, c).as_deref() == Some("force-application"))
    }

    /// Whether client `worker`'s publishers were surely at application level at `t`: its
    /// publish mode then puts them there and was acknowledged at least `settle` before.
    pub fn surely_application_level(&self, worker: u32, t: Micros, settle: Micros) -> bool {
        let Some(w) = self.workers.get(&worker) else {
            return false;
        };
        let n = w.publish.partition_point(|s| s.issued <= t);
        let Some(s) = n.checked_sub(1).map(|i| &w.publish[i]) else {
            return false;
        };
        at_application_level(&s.mode) && s.acked.is_some_and(|a| a + settle <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(
        t: Micros,
        worker: u32,
        zone: &str,
        dc: &str,
        publish: &str,
        subscribe: &str,
    ) -> Entry {
        Entry::WorkerStarted {
            t,
            worker,
            placement: Placement {
                zone: zone.into(),
                data_center: dc.into(),
                app: "app".into(),
                publish_mode: publish.into(),
                subscribe_mode: subscribe.into(),
            },
        }
    }

    fn issued(t: Micros, worker: u32, id: u64, op: Op) -> Entry {
        Entry::Issued { t, worker, id, op }
    }

    fn done(t: Micros, id: u64) -> Entry {
        Entry::Done {
            t,
            worker: 0,
            id,
            error: None,
        }
    }

    fn subscribe(subscriber: u32, scope: &str, mode: Option<&str>) -> Op {
        Op::Subscribe {
            subscriber,
            key: "k".into(),
            scope: scope.into(),
            mode: mode.map(str::to_owned),
        }
    }

    #[test]
    fn scopes_see_their_zone_their_data_center_or_everything() {
        let v = Views::build(&[
            started(0, 1, "a", "dc1", "interface", "force-interface"),
            started(0, 2, "b", "dc1", "interface", "force-interface"),
            started(0, 3, "c", "dc2", "interface", "force-interface"),
            issued(1, 1, 1, subscribe(10, "zone", None)),
            issued(1, 1, 2, subscribe(11, "dataCenter", None)),
            issued(1, 1, 3, subscribe(12, "global", None)),
        ]);
        // (subscriber, [sees worker 1, 2, 3])
        for (sub, want) in [
            (10, [true, false, false]),
            (11, [true, true, false]),
            (12, [true; 3]),
        ] {
            let got = [1, 2, 3].map(|w| v.sees(sub, w));
            assert_eq!(got, want, "subscriber {sub}");
        }
        assert_eq!(v.view_of(10), ("zone".into(), "a".into()));
        assert_eq!(v.view_of(11), ("dataCenter".into(), "dc1".into()));
        assert_eq!(v.view_of(12), ("global".into(), String::new()));
    }

    #[test]
    fn force_application_within_the_window_may_show_the_application_level_alone() {
        const S: Micros = 1_000_000;
        let v = Views::build(&[
            started(0, 1, "a", "dc1", "interface", "application-first"),
            issued(S, 1, 1, subscribe(10, "zone", None)),
            issued(S, 1, 2, subscribe(11, "zone", Some("force-application"))),
            // The client moves to force-application at 5 s, back at 10 s; subscription 11
            // follows the client from 20 s.
            issued(
                5 * S,
                1,
                3,
                Op::SetSubscribeMode {
                    mode: "force-application".into(),
                },
            ),
            issued(
                10 * S,
                1,
                4,
                Op::SetSubscribeMode {
                    mode: "force-interface".into(),
                },
            ),
            issued(
                20 * S,
                1,
                5,
                Op::SetMode {
                    subscriber: 11,
                    mode: None,
                },
            ),
        ]);
        let w = 2 * S;
        // (subscriber, status, t, may show the application level alone)
        let cases = [
            (10, "application-first", 4 * S, false),
            (10, "force-application", 4 * S, true),
            (10, "pending", 6 * S, true),
            (10, "force-interface", 11 * S, true),
            (10, "force-interface", 13 * S, false),
            (11, "pending", 3 * S, true),
            (11, "force-interface", 21 * S, true),
            (11, "force-interface", 23 * S, false),
        ];
        for (sub, status, t, want) in cases {
            assert_eq!(
                v.maybe_application_only(sub, status, t, w),
                want,
                "{sub} {status} {t}"
            );
        }
    }

    #[test]
    fn a_publisher_is_surely_at_application_level_once_its_switch_settled() {
        const S: Micros = 1_000_000;
        let v = Views::build(&[
            started(0, 1, "a", "dc1", "interface", "force-interface"),
            started(0, 2, "a", "dc1", "all", "force-interface"),
            issued(
                5 * S,
                1,
                1,
                Op::SetPublishMode {
                    mode: "application".into(),
                },
            ),
            done(6 * S, 1),
            issued(
                10 * S,
                1,
                2,
                Op::SetPublishMode {
                    mode: "interface".into(),
                },
            ),
            done(11 * S, 2),
            issued(12 * S, 1, 3, Op::SetPublishMode { mode: "all".into() }),
        ]);
        let settle = 2 * S;
        let cases = [
            (1, 4 * S, false),
            (1, 7 * S, false),
            (1, 8 * S, true),
            (1, 10 * S, false),
            (1, 20 * S, false), // never acknowledged
            (2, 3 * S, true),
        ];
        for (worker, t, want) in cases {
            assert_eq!(
                v.surely_application_level(worker, t, settle),
                want,
                "{worker} {t}"
            );
        }
    }
}
