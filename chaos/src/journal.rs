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
    },
    Unsubscribe {
        subscriber: u32,
    },
    /// Close the client (which unregisters everything) and open a new one.
    Reopen,
}

/// The item a publisher's `gen`-th data carries at `index`.
pub fn item(publisher: u32, gen: u32, index: usize) -> String {
    format!("p{publisher}.g{gen}.i{index}")
}

/// `(publisher, gen)` of an item made by [`item`].
pub fn parse_item(item: &str) -> Option<(u32, u32)> {
    let rest = item.strip_prefix('p')?;
    let mut parts = rest.split('.');
    let publisher = parts.next()?.parse().ok()?;
    let gen = parts.next()?.strip_prefix('g')?.parse().ok()?;
    parts.next()?.strip_prefix('i')?.parse::<u32>().ok()?;
    parts.next().is_none().then_some((publisher, gen))
}

/// A subscriber at the end: its id and its latest data (version, items), if any.
pub type Held = (u32, Option<(u64, Vec<String>)>);

/// A fault, as the checker needs to know it: what it may disturb.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    pub name: String,
    /// It cuts clients off the registry (their sessions may outlive it only for the grace
    /// period).
    pub cuts_clients: bool,
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
    /// A subscriber was handed data.
    Push {
        t: Micros,
        worker: u32,
        subscriber: u32,
        version: u64,
        items: Vec<String>,
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
    /// subscriber's latest data.
    Final {
        t: Micros,
        worker: u32,
        publishers: Vec<(u32, Vec<String>)>,
        subscribers: Vec<Held>,
    },
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
    fn items_name_their_publisher_and_data() {
        assert_eq!(parse_item(&item(12, 3, 1)), Some((12, 3)));
        for bad in [
            "",
            "p",
            "p1",
            "p1.g2",
            "p1.g2.x0",
            "q1.g2.i0",
            "p1.g2.i0.z",
            "pA.g2.i0",
        ] {
            assert_eq!(parse_item(bad), None, "{bad}");
        }
    }
}
