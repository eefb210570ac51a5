//! The client processes and the random workload they run: publish, republish, unregister,
//! subscribe (in every scope), unsubscribe and close-and-reopen, on a small set of dataIds
//! so that clients collide; with mixed levels also publish and subscribe modes in random
//! mixes, switched at run time per client and per subscription. Each registration has at
//! most one operation in flight (the next is chosen when the registry answered), and each
//! client one mode switch; operations on different registrations overlap freely.
//!
//! Clients are spread over three zones in two data centers and two applications, so that
//! every scope sees something else and instances of one application share its
//! application publisher.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use crate::journal::{item, now, Entry, Journal, Op, Placement};
use crate::nodes::command;
use crate::worker::Command;

/// What the fleet hears from its processes.
enum Heard {
    Done { id: u64, ok: bool },
    Final(Entry),
}

/// A client process's registrations as the runner tracks them.
#[derive(Default)]
struct Registrations {
    /// Publisher → its gen now, and whether an operation on it is in flight.
    publishers: BTreeMap<u32, (u32, bool)>,
    /// Subscriber → an operation on it is in flight.
    subscribers: BTreeMap<u32, bool>,
    reopening: bool,
    /// A client-wide mode switch is in flight.
    switching: bool,
}

impl Registrations {
    fn busy(&self) -> bool {
        self.reopening
            || self.switching
            || self.publishers.values().any(|p| p.1)
            || self.subscribers.values().any(|b| *b)
    }

    /// Notes `op` as sent: new registrations, a publisher's next gen, and what is in flight.
    fn issued(&mut self, op: &Op) {
        match op {
            Op::Publish { publisher, gen, .. } | Op::Republish { publisher, gen, .. } => {
                self.publishers.insert(*publisher, (*gen, true));
            }
            Op::Unregister { publisher } => {
                if let Some(p) = self.publishers.get_mut(publisher) {
                    p.1 = true;
                }
            }
            Op::Subscribe { subscriber, .. }
            | Op::Unsubscribe { subscriber }
            | Op::SetMode { subscriber, .. } => {
                self.subscribers.insert(*subscriber, true);
            }
            Op::Reopen => self.reopening = true,
            Op::SetPublishMode { .. } | Op::SetSubscribeMode { .. } => self.switching = true,
        }
    }
}

/// Which levels the workload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Levels {
    /// Interface level only: every client publishes per interface and subscribes in
    /// force-interface mode.
    Interface,
    /// Every publish and subscribe mode in random mixes, switched at run time.
    Mixed,
}

const PUBLISH_MODES: [&str; 3] = ["interface", "application", "all"];
const SUBSCRIBE_MODES: [&str; 3] = ["force-interface", "application-first", "force-application"];
const SCOPES: [&str; 3] = ["zone", "dataCenter", "global"];
/// (zone, data center)
const ZONES: [(&str, &str); 3] = [("zone-a", "dc-1"), ("zone-b", "dc-1"), ("zone-c", "dc-2")];

fn pick<'a>(rng: &mut fastrand::Rng, from: &[&'a str]) -> &'a str {
    from[rng.usize(..from.len())]
}

/// One of `from` other than `now`.
fn other<'a>(rng: &mut fastrand::Rng, from: &[&'a str], now: &str) -> &'a str {
    let others: Vec<&str> = from.iter().copied().filter(|m| *m != now).collect();
    pick(rng, &others)
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    regs: Registrations,
    /// Where it runs, and its modes now (as last asked for).
    at: Placement,
}

pub struct Fleet {
    endpoints: Vec<String>,
    journal: Journal,
    processes: BTreeMap<u32, Process>,
    next_worker: u32,
    next_op: u64,
    next_publisher: u32,
    next_subscriber: u32,
    /// Operation id → (process, op), until answered.
    in_flight: HashMap<u64, (u32, Op)>,
    heard_tx: mpsc::UnboundedSender<Heard>,
    heard: mpsc::UnboundedReceiver<Heard>,
    keys: Vec<String>,
    levels: Levels,
    rng: fastrand::Rng,
}

impl Fleet {
    pub fn new(
        endpoints: Vec<String>,
        journal: Journal,
        keys: usize,
        levels: Levels,
        seed: u64,
    ) -> Fleet {
        let (heard_tx, heard) = mpsc::unbounded_channel();
        Fleet {
            endpoints,
            journal,
            processes: BTreeMap::new(),
            next_worker: 1,
            next_op: 1,
            next_publisher: 1,
            next_subscriber: 1,
            in_flight: HashMap::new(),
            heard_tx,
            heard,
            keys: (0..keys).map(|k| format!("chaos.Service{k}:1.0")).collect(),
            levels,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Where a new client process runs, and its first modes.
    fn place(&mut self, worker: u32) -> Placement {
        let (zone, dc) = ZONES[worker as usize % ZONES.len()];
        let mixed = self.levels == Levels::Mixed;
        let rng = &mut self.rng;
        Placement {
            zone: zone.into(),
            data_center: dc.into(),
            app: format!("chaos-app-{}", worker % 2),
            publish_mode: if mixed {
                pick(rng, &PUBLISH_MODES)
            } else {
                "interface"
            }
            .into(),
            subscribe_mode: if mixed {
                pick(rng, &SUBSCRIBE_MODES)
            } else {
                "force-interface"
            }
            .into(),
        }
    }

    /// Starts a new client process.
    pub fn spawn(&mut self) -> std::io::Result<()> {
        let worker = self.next_worker;
        self.next_worker += 1;
        let at = self.place(worker);
        let placement = serde_json::to_string(&at).expect("placements serialize");
        let mut child = command(&[
            "client",
            &worker.to_string(),
            &self.endpoints.join(","),
            &placement,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .env("RUST_LOG", "off")
        .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (journal, heard) = (self.journal.clone(), self.heard_tx.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                    eprintln!("chaos: client {worker} said {line:?}");
                    continue;
                };
                match &entry {
                    Entry::Final { .. } => {
                        let _ = heard.send(Heard::Final(entry));
                        continue;
                    }
                    Entry::Done { id, error, .. } => {
                        let _ = heard.send(Heard::Done {
                            id: *id,
                            ok: error.is_none(),
                        });
                    }
                    _ => {}
                }
                journal.push(entry);
            }
        });
        self.journal.push(Entry::WorkerStarted {
            t: now(),
            worker,
            placement: at.clone(),
        });
        self.processes.insert(
            worker,
            Process {
                child,
                stdin,
                regs: Registrations::default(),
                at,
            },
        );
        Ok(())
    }

    /// SIGKILLs one client process at random.
    pub async fn kill_random(&mut self) {
        if self.processes.is_empty() {
            return;
        }
        let ids: Vec<u32> = self.processes.keys().copied().collect();
        let worker = ids[self.rng.usize(..ids.len())];
        let mut p = self.processes.remove(&worker).expect("listed");
        let _ = p.child.start_kill();
        let _ = p.child.wait().await;
        println!("fault: client {worker} killed");
        self.journal.push(Entry::WorkerKilled { t: now(), worker });
        self.in_flight.retain(|_, (w, _)| *w != worker);
    }

    async fn send(&mut self, worker: u32, command: &Command) {
        let mut line = serde_json::to_string(command).expect("commands serialize");
        line.push('\n');
        if let Some(p) = self.processes.get_mut(&worker) {
            let _ = p.stdin.write_all(line.as_bytes()).await;
        }
    }

    async fn issue(&mut self, worker: u32, op: Op) {
        let id = self.next_op;
        self.next_op += 1;
        self.journal.push(Entry::Issued {
            t: now(),
            worker,
            id,
            op: op.clone(),
        });
        self.in_flight.insert(id, (worker, op.clone()));
        self.send(worker, &Command::Run { id, op }).await;
    }

    /// Takes in what the processes answered so far.
    fn hear(&mut self) -> Vec<Entry> {
        let mut finals = Vec::new();
        while let Ok(h) = self.heard.try_recv() {
            match h {
                Heard::Final(e) => finals.push(e),
                Heard::Done { id, ok } => self.answered(id, ok),
            }
        }
        finals
    }

    fn answered(&mut self, id: u64, ok: bool) {
        let Some((worker, op)) = self.in_flight.remove(&id) else {
            return;
        };
        let Some(p) = self.processes.get_mut(&worker) else {
            return;
        };
        let regs = &mut p.regs;
        match op {
            Op::Publish { publisher, .. } | Op::Republish { publisher, .. } => {
                if !ok && matches!(op, Op::Publish { .. }) {
                    regs.publishers.remove(&publisher);
                } else if let Some(p) = regs.publishers.get_mut(&publisher) {
                    p.1 = false;
                }
            }
            Op::Unregister { publisher } => {
                regs.publishers.remove(&publisher);
            }
            Op::Subscribe { subscriber, .. } => {
                if ok {
                    regs.subscribers.insert(subscriber, false);
                } else {
                    regs.subscribers.remove(&subscriber);
                }
            }
            Op::Unsubscribe { subscriber } => {
                regs.subscribers.remove(&subscriber);
            }
            // The switch took effect when it was called, answered or not.
            Op::SetMode { subscriber, .. } => {
                if let Some(busy) = regs.subscribers.get_mut(&subscriber) {
                    *busy = false;
                }
            }
            Op::SetPublishMode { .. } | Op::SetSubscribeMode { .. } => regs.switching = false,
            Op::Reopen => *regs = Registrations::default(),
        }
    }

    /// Issues one random operation on one random idle registration (or a new one).
    pub async fn step(&mut self) {
        self.hear();
        let workers: Vec<u32> = self
            .processes
            .iter()
            .filter(|(_, p)| !p.regs.reopening)
            .map(|(w, _)| *w)
            .collect();
        if workers.is_empty() {
            return;
        }
        let worker = workers[self.rng.usize(..workers.len())];
        if let Some(op) = self.choose(worker) {
            let p = self.processes.get_mut(&worker).expect("chosen among them");
            p.regs.issued(&op);
            match &op {
                Op::SetPublishMode { mode } => p.at.publish_mode = mode.clone(),
                Op::SetSubscribeMode { mode } => p.at.subscribe_mode = mode.clone(),
                _ => {}
            }
            self.issue(worker, op).await;
        }
    }

    /// An operation for `worker`: mostly republishes, then new publishers and subscribers
    /// (up to 3 each, subscribers in a random scope), unregisters, unsubscribes, now and
    /// then a close and reopen, and with mixed levels a switch of the client's publish or
    /// subscribe mode or of one subscription's mode.
    fn choose(&mut self, worker: u32) -> Option<Op> {
        let Process { regs, at, .. } = &self.processes[&worker];
        let mixed = self.levels == Levels::Mixed;
        let idle = |m: &BTreeMap<u32, bool>| -> Vec<u32> {
            m.iter()
                .filter(|(_, busy)| !**busy)
                .map(|(id, _)| *id)
                .collect()
        };
        let idle_subs = idle(&regs.subscribers);
        let idle_pubs: Vec<(u32, u32)> = regs
            .publishers
            .iter()
            .filter(|(_, p)| !p.1)
            .map(|(id, p)| (*id, p.0))
            .collect();
        let (n_pubs, n_subs, busy) = (regs.publishers.len(), regs.subscribers.len(), regs.busy());
        let switching = regs.switching;
        let rng = &mut self.rng;
        let items = |rng: &mut fastrand::Rng, publisher, gen| -> Vec<String> {
            (0..rng.usize(1..=3))
                .map(|i| item(worker, publisher, gen, i))
                .collect()
        };
        let roll = rng.u32(0..100);
        Some(if roll < 2 && !busy {
            Op::Reopen
        } else if roll < 20 && n_pubs < 3 {
            let publisher = self.next_publisher;
            self.next_publisher += 1;
            Op::Publish {
                publisher,
                key: self.keys[rng.usize(..self.keys.len())].clone(),
                gen: 0,
                items: items(rng, publisher, 0),
            }
        } else if roll < 32 && n_subs < 3 {
            let subscriber = self.next_subscriber;
            self.next_subscriber += 1;
            Op::Subscribe {
                subscriber,
                key: self.keys[rng.usize(..self.keys.len())].clone(),
                scope: pick(rng, &SCOPES).into(),
                mode: (mixed && rng.u32(0..3) == 0).then(|| pick(rng, &SUBSCRIBE_MODES).into()),
            }
        } else if roll < 34 && !idle_subs.is_empty() {
            Op::Unsubscribe {
                subscriber: idle_subs[rng.usize(..idle_subs.len())],
            }
        } else if roll < 44 && !idle_pubs.is_empty() {
            Op::Unregister {
                publisher: idle_pubs[rng.usize(..idle_pubs.len())].0,
            }
        } else if mixed && roll < 47 && !switching {
            Op::SetPublishMode {
                mode: other(rng, &PUBLISH_MODES, &at.publish_mode).into(),
            }
        } else if mixed && roll < 49 && !switching {
            Op::SetSubscribeMode {
                mode: other(rng, &SUBSCRIBE_MODES, &at.subscribe_mode).into(),
            }
        } else if mixed && roll < 52 && !idle_subs.is_empty() {
            Op::SetMode {
                subscriber: idle_subs[rng.usize(..idle_subs.len())],
                mode: (rng.u32(0..3) > 0).then(|| pick(rng, &SUBSCRIBE_MODES).into()),
            }
        } else if !idle_pubs.is_empty() {
            let (publisher, gen) = idle_pubs[rng.usize(..idle_pubs.len())];
            Op::Republish {
                publisher,
                gen: gen + 1,
                items: items(rng, publisher, gen + 1),
            }
        } else {
            return None;
        })
    }

    /// Waits until every operation was answered (those of killed processes never are).
    pub async fn settle(&mut self, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        loop {
            self.hear();
            if self.in_flight.is_empty() {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks every process what it holds now.
    pub async fn dump(&mut self) -> Vec<Entry> {
        let workers: Vec<u32> = self.processes.keys().copied().collect();
        for w in &workers {
            self.send(*w, &Command::Dump).await;
        }
        let mut finals = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while finals.len() < workers.len() {
            match tokio::time::timeout_at(deadline, self.heard.recv()).await {
                Ok(Some(Heard::Final(e))) => finals.push(e),
                Ok(Some(Heard::Done { id, ok })) => self.answered(id, ok),
                _ => break,
            }
        }
        finals
    }

    pub fn processes(&self) -> usize {
        self.processes.len()
    }
}
