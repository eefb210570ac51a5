//! The client processes and the random workload they run: publish, republish, unregister,
//! subscribe, unsubscribe and close-and-reopen, on a small set of dataIds so that clients
//! collide. Each registration has at most one operation in flight (the next is chosen when
//! the registry answered); operations on different registrations overlap freely.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use crate::journal::{item, now, Entry, Journal, Op};
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
}

impl Registrations {
    fn busy(&self) -> bool {
        self.reopening
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
            Op::Subscribe { subscriber, .. } | Op::Unsubscribe { subscriber } => {
                self.subscribers.insert(*subscriber, true);
            }
            Op::Reopen => self.reopening = true,
        }
    }
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    regs: Registrations,
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
    rng: fastrand::Rng,
}

impl Fleet {
    pub fn new(endpoints: Vec<String>, journal: Journal, keys: usize, seed: u64) -> Fleet {
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
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Starts a new client process.
    pub fn spawn(&mut self) -> std::io::Result<()> {
        let worker = self.next_worker;
        self.next_worker += 1;
        let mut child = command(&["client", &worker.to_string(), &self.endpoints.join(",")])
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
        self.journal.push(Entry::WorkerStarted { t: now(), worker });
        self.processes.insert(
            worker,
            Process {
                child,
                stdin,
                regs: Registrations::default(),
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
            self.processes
                .get_mut(&worker)
                .expect("chosen among them")
                .regs
                .issued(&op);
            self.issue(worker, op).await;
        }
    }

    /// An operation for `worker`: mostly republishes, then new publishers and subscribers
    /// (up to 3 each), unregisters, unsubscribes, and now and then a close and reopen.
    fn choose(&mut self, worker: u32) -> Option<Op> {
        let regs = &self.processes[&worker].regs;
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
        let rng = &mut self.rng;
        let items = |rng: &mut fastrand::Rng, publisher, gen| -> Vec<String> {
            (0..rng.usize(1..=3))
                .map(|i| item(publisher, gen, i))
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
            }
        } else if roll < 34 && !idle_subs.is_empty() {
            Op::Unsubscribe {
                subscriber: idle_subs[rng.usize(..idle_subs.len())],
            }
        } else if roll < 44 && !idle_pubs.is_empty() {
            Op::Unregister {
                publisher: idle_pubs[rng.usize(..idle_pubs.len())].0,
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
