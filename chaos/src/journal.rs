//! The journal: every operation the runner issued, every result and push the client
//! processes saw, every fault and every leader observed, each with its time. The checker
//! reads nothing else, so a saved journal can be checked again.
//!
//! Times are microseconds since the Unix epoch, taken by whichever process saw the event
//! (all run on one machine, so they share the clock).

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The run's journal, appended to by the runner's tasks.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<Entry>>>);

impl Journal {
    pub fn push(&self, e: Entry) {
        self.0.lock().expect("journal lock").push(e);
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.0.lock().expect("journal lock").clone()
    }
}

pub type Micros = u64;

/// Now, in journal time.
pub fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One operation sent to a client process. Publisher and subscriber ids are unique in a
/// run; a publisher's `gen` counts its publish and republishes, and its items name both
/// (see [`item`]), so every pushed item says which registration and which data it came from.
/// Scopes and modes are the names every binding uses (`zone`, `application-first`, ...).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Publish {
        publisher: u32,
        key: String,
        gen: u32,
        items: Vec<String>,
    },
    Republish {
        publisher: u32,
        gen: u32,
        items: Vec<String>,
    },
    Unregister {
        publisher: u32,
    },
    Subscribe {
        subscriber: u32,
        key: String,
        #[serde(default = "global")]
        scope: String,
        /// Its own subscribe mode; none follows the client's.
        #[serde(default)]
        mode: Option<String>,
    },
    Unsubscribe {
        subscriber: u32,
    },
    /// Close the client (which unregisters everything) and open a new one (in the modes
    /// the old one had last).
    Reopen,
    /// The client's publish mode (a provider's migration step).
    SetPublishMode {
        mode: String,
    },
    /// The client's subscribe mode, for its subscriptions without a mode of their own.
    SetSubscribeMode {
        mode: String,
    },
    /// One subscription's own mode (none: follow the client's again).
    SetMode {
        subscriber: u32,
        mode: Option<String>,
    },
}

fn global() -> String {
    "global".into()
}

/// The item a publisher's `gen`-th data carries at `index`: a service URL (so that the
/// application level can convert it) whose `chaos` parameter says where it came from. The
/// host is the client process's (one application instance), the port the publisher's and
/// the index's, so that every item has an address of its own (the levels are merged by
/// address) and converts back to itself.
pub fn item(worker: u32, publisher: u32, gen: u32, index: usize) -> String {
    let port = 1024 + (publisher as usize * 3 + index) % 64_000;
    format!(
        "bolt://10.0.{}.{}:{port}?chaos=p{publisher}.g{gen}.i{index}",
        worker / 256,
        worker % 256
    )
}

/// `(publisher, gen)` of an item made by [`item`].
pub fn parse_item(item: &str) -> Option<(u32, u32)> {
    let (_, query) = item.split_once("?chaos=")?;
    let rest = query.strip_prefix('p')?;
    let mut parts = rest.split('.');
    let publisher = parts.next()?.parse().ok()?;
    let gen = parts.next()?.strip_prefix('g')?.parse().ok()?;
    parts.next()?.strip_prefix('i')?.parse::<u32>().ok()?;
    parts.next().is_none().then_some((publisher, gen))
}

/// `protocol://host:port` of an item: what the levels are merged by.
pub fn address(item: &str) -> &str {
    item.split_once('?').map_or(item, |(a, _)| a)
}

/// A subscriber at the end: its id and its latest data (version, items), if any.
pub type Held = (u32, Option<(u64, Vec<String>)>);

/// Where a client process runs and how it starts: its zone and data center, its
/// application (instances of one application share an application publisher's dataId),
/// and its first publish and subscribe modes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Placement {
    pub zone: String,
    pub data_center: String,
    pub app: String,
    pub publish_mode: String,
    pub subscribe_mode: String,
}

impl Default for Placement {
    /// One zone, interface level only: what a journal without placements ran.
    fn default() -> Self {
        Placement {
            zone: "zone-a".into(),
            data_center: "dc-1".into(),
            app: "chaos".into(),
            publish_mode: "interface".into(),
            subscribe_mode: "force-interface".into(),
        }
    }
}

/// A fault, as the checker needs to know it: what it may disturb.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    pub name: String,
    /// It cuts clients off the registry (their sessions may outlive it only for the grace
    /// period).
    pub cuts_clients: bool,
    /// The registry forgets every registration (a single in-memory node restarted): lists
    /// are partial until every client has redone its own.
    #[serde(default)]
    pub loses_registrations: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The runner sent `op` (id `id`) to client process `worker`.
    Issued {
        t: Micros,
        worker: u32,
        id: u64,
        op: Op,
    },
    /// The client process finished operation `id`.
    Done {
        t: Micros,
        worker: u32,
        id: u64,
        error: Option<String>,
    },
    /// A subscriber was handed data, and its migration status right after (`pending`
    /// for a force-application subscription still merging both levels).
    Push {
        t: Micros,
        worker: u32,
        subscriber: u32,
        version: u64,
        items: Vec<String>,
        #[serde(default = "force_interface")]
        status: String,
    },
    FaultStart {
        t: Micros,
        fault: Fault,
    },
    FaultEnd {
        t: Micros,
        name: String,
    },
    /// A client process was started (`worker` is new) or SIGKILLed.
    WorkerStarted {
        t: Micros,
        worker: u32,
        #[serde(default)]
        placement: Placement,
    },
    WorkerKilled {
        t: Micros,
        worker: u32,
    },
    /// A node said it was the leader in `term`.
    Leader {
        t: Micros,
        node: u64,
        term: u64,
    },
    /// No more operations or faults from here on: convergence is measured from this time.
    Quiet {
        t: Micros,
    },
    /// What a client process holds at the end: each live publisher's data and each live
    /// subscriber's latest data, the client's publish mode and each subscriber's
    /// migration status.
    Final {
        t: Micros,
        worker: u32,
        publishers: Vec<(u32, Vec<String>)>,
        subscribers: Vec<Held>,
        #[serde(default = "interface")]
        publish_mode: String,
        #[serde(default)]
        statuses: Vec<(u32, String)>,
    },
}

fn force_interface() -> String {
    "force-interface".into()
}

fn interface() -> String {
    "interface".into()
}

impl Entry {
    pub fn t(&self) -> Micros {
        match self {
            Entry::Issued { t, .. }
            | Entry::Done { t, .. }
            | Entry::Push { t, .. }
            | Entry::FaultStart { t, .. }
            | Entry::FaultEnd { t, .. }
            | Entry::WorkerStarted { t, .. }
            | Entry::WorkerKilled { t, .. }
            | Entry::Leader { t, .. }
            | Entry::Quiet { t }
            | Entry::Final { t, .. } => *t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_service_urls_that_name_their_publisher_and_data() {
        let it = item(300, 12, 3, 1);
        assert_eq!(it, "bolt://10.0.1.44:1061?chaos=p12.g3.i1");
        assert_eq!(parse_item(&it), Some((12, 3)));
        assert_eq!(address(&it), "bolt://10.0.1.44:1061");
        // Each index of a publisher, and the next publisher, on a port of its own.
        assert_ne!(address(&item(1, 12, 0, 0)), address(&item(1, 12, 0, 1)));
        assert_ne!(address(&item(1, 12, 0, 2)), address(&item(1, 13, 0, 0)));
        // Canonical: the application level's conversion gives back the same string.
        let url = roster_proto_url(&it);
        assert_eq!(url, it);
        for bad in [
            "",
            "p1.g2.i0",
            "bolt://h:1?chaos=p",
            "bolt://h:1?chaos=p1.g2",
            "bolt://h:1?chaos=p1.g2.x0",
            "bolt://h:1?chaos=q1.g2.i0",
            "bolt://h:1?chaos=p1.g2.i0.z",
            "bolt://h:1?chaos=pA.g2.i0",
        ] {
            assert_eq!(parse_item(bad), None, "{bad}");
        }
    }

    /// The item as the application level converts it back (one instance, one service).
    fn roster_proto_url(it: &str) -> String {
        use roster_proto::appmeta::{instance_from_services, ServiceUrl};
        let url = ServiceUrl::parse(it).unwrap();
        let iface = "k#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP".to_owned();
        let inst = instance_from_services("app", &[(iface.clone(), url)]).unwrap();
        let app_item = ServiceUrl::parse(&inst.items[0]).unwrap();
        inst.metadata.entries_for(&iface, &app_item).remove(0)
    }
}
