//! A client process: one Roster client that runs the operations the runner sends on its
//! stdin (one JSON [`Command`] per line) and reports on its stdout (one JSON journal entry
//! per line) each operation's result and every push its subscribers are handed. A process
//! of its own so that the runner can SIGKILL it like a crashed application.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use roster_core::{
    Client, MigrationStatus, Publisher, PublisherRegistration, Subscriber, SubscriberRegistration,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::journal::{now, Entry, Held, Op, Placement};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Run {
        id: u64,
        op: Op,
    },
    /// Report what the client holds now (an [`Entry::Final`]).
    Dump,
}

fn emit(entry: &Entry) {
    // One line per entry; `println!` holds stdout's lock for the whole line.
    println!(
        "{}",
        serde_json::to_string(entry).expect("entries serialize")
    );
}

#[derive(Default)]
struct Handles {
    publishers: HashMap<u32, Publisher>,
    /// Each with the task that reports its pushes (which reads its migration status).
    subscribers: HashMap<u32, (Arc<Subscriber>, JoinHandle<()>)>,
}

/// A client where `at` says, in the modes the process uses now.
fn client(endpoints: &[String], at: &Placement) -> Client {
    let publish_mode = at
        .publish_mode
        .parse()
        .expect("a publish mode from the runner");
    let subscribe_mode = at
        .subscribe_mode
        .parse()
        .expect("a subscribe mode from the runner");
    Client::builder()
        .endpoints(endpoints.iter().cloned())
        .app_name(at.app.clone())
        .zone(at.zone.clone())
        .data_center(at.data_center.clone())
        .publish_mode(publish_mode)
        .subscribe_mode(subscribe_mode)
        .reconnect_delay(Duration::from_millis(50), Duration::from_millis(500))
        .build()
        .expect("a valid client configuration")
}

/// The name of a migration status, as the journal records it.
pub fn status_name(s: MigrationStatus) -> &'static str {
    match s {
        MigrationStatus::ForceInterface => "force-interface",
        MigrationStatus::ApplicationFirst => "application-first",
        MigrationStatus::Pending { .. } => "pending",
        MigrationStatus::ForceApplication => "force-application",
    }
}

fn parsed<T: std::str::FromStr>(name: &str) -> T
where
    T::Err: std::fmt::Display,
{
    name.parse()
        .unwrap_or_else(|e| panic!("{name:?} from the runner: {e}"))
}

pub async fn run(worker: u32, endpoints: Vec<String>, mut at: Placement) {
    let mut current = client(&endpoints, &at);
    let handles = Arc::new(Mutex::new(Handles::default()));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let command: Command = match serde_json::from_str(&line) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("chaos client {worker}: bad command {line:?}: {e}");
                std::process::exit(2);
            }
        };
        let (id, op) = match command {
            Command::Dump => {
                emit(&dump(worker, &current, &*handles.lock().await));
                continue;
            }
            Command::Run { id, op } => (id, op),
        };
        let done = move |result: Result<(), String>| {
            emit(&Entry::Done {
                t: now(),
                worker,
                id,
                error: result.err(),
            })
        };
        let h = handles.clone();
        // Each operation takes effect when called (in command order) and is awaited on a
        // task of its own, as an application would.
        match op {
            Op::Publish {
                publisher,
                key,
                items,
                ..
            } => {
                let started = current.publish(PublisherRegistration::new(key).data(items));
                tokio::spawn(async move {
                    match started.await {
                        Ok(p) => {
                            h.lock().await.publishers.insert(publisher, p);
                            done(Ok(()));
                        }
                        Err(e) => done(Err(e.to_string())),
                    }
                });
            }
            Op::Republish {
                publisher, items, ..
            } => {
                let started = h
                    .lock()
                    .await
                    .publishers
                    .get(&publisher)
                    .map(|p| p.republish(items));
                tokio::spawn(async move {
                    match started {
                        Some(f) => done(f.await.map_err(|e| e.to_string())),
                        None => done(Err(format!("no publisher {publisher}"))),
                    }
                });
            }
            Op::Unregister { publisher } => {
                let started = h
                    .lock()
                    .await
                    .publishers
                    .remove(&publisher)
                    .map(Publisher::unregister);
                tokio::spawn(async move {
                    match started {
                        Some(f) => done(f.await.map_err(|e| e.to_string())),
                        None => done(Err(format!("no publisher {publisher}"))),
                    }
                });
            }
            Op::Subscribe {
                subscriber,
                key,
                scope,
                mode,
            } => {
                let mut reg = SubscriberRegistration::new(key).scope(parsed(&scope));
                if let Some(mode) = mode {
                    reg = reg.mode(parsed(&mode));
                }
                let started = current.subscribe(reg);
                tokio::spawn(async move {
                    match started.await {
                        Ok(s) => {
                            let s = Arc::new(s);
                            let reader = tokio::spawn(read_pushes(worker, subscriber, s.clone()));
                            h.lock().await.subscribers.insert(subscriber, (s, reader));
                            done(Ok(()));
                        }
                        Err(e) => done(Err(e.to_string())),
                    }
                });
            }
            Op::Unsubscribe { subscriber } => {
                let started = h.lock().await.subscribers.remove(&subscriber);
                tokio::spawn(async move {
                    let Some((s, reader)) = started else {
                        return done(Err(format!("no subscriber {subscriber}")));
                    };
                    reader.abort();
                    let _ = reader.await; // drops its handle
                    match Arc::try_unwrap(s) {
                        Ok(s) => done(s.unsubscribe().await.map_err(|e| e.to_string())),
                        Err(_) => done(Err("the subscriber is still in use".into())),
                    }
                });
            }
            Op::SetMode { subscriber, mode } => {
                let started = h
                    .lock()
                    .await
                    .subscribers
                    .get(&subscriber)
                    .map(|(s, _)| s.set_mode(mode.as_deref().map(parsed)));
                tokio::spawn(async move {
                    match started {
                        Some(f) => done(f.await.map_err(|e| e.to_string())),
                        None => done(Err(format!("no subscriber {subscriber}"))),
                    }
                });
            }
            Op::SetPublishMode { mode } => {
                let started = current.set_publish_mode(parsed(&mode));
                at.publish_mode = mode;
                tokio::spawn(async move { done(started.await.map_err(|e| e.to_string())) });
            }
            Op::SetSubscribeMode { mode } => {
                let started = current.set_subscribe_mode(parsed(&mode));
                at.subscribe_mode = mode;
                tokio::spawn(async move { done(started.await.map_err(|e| e.to_string())) });
            }
            Op::Reopen => {
                let old = std::mem::take(&mut *h.lock().await);
                for (_, reader) in old.subscribers.values() {
                    reader.abort();
                }
                // Dropping the handles withdraws them; the close waits until it is done.
                drop(old);
                current.close().await;
                current = client(&endpoints, &at);
                done(Ok(()));
            }
        }
    }
}

async fn read_pushes(worker: u32, subscriber: u32, s: Arc<Subscriber>) {
    let mut updates = s.updates();
    while let Some(data) = updates.next().await {
        emit(&Entry::Push {
            t: now(),
            worker,
            subscriber,
            version: data.version,
            items: data.items().map(str::to_owned).collect(),
            status: status_name(s.migration_status()).into(),
        });
    }
}

fn dump(worker: u32, client: &Client, h: &Handles) -> Entry {
    let mut publishers: Vec<(u32, Vec<String>)> = h
        .publishers
        .iter()
        .map(|(id, p)| (*id, p.current().map(|(_, d)| d).unwrap_or_default()))
        .collect();
    publishers.sort();
    let mut subscribers: Vec<Held> = h
        .subscribers
        .iter()
        .map(|(id, (s, _))| {
            let data = s
                .peek()
                .map(|d| (d.version, d.items().map(str::to_owned).collect()));
            (*id, data)
        })
        .collect();
    subscribers.sort();
    let mut statuses: Vec<(u32, String)> = h
        .subscribers
        .iter()
        .map(|(id, (s, _))| (*id, status_name(s.migration_status()).to_owned()))
        .collect();
    statuses.sort();
    Entry::Final {
        t: now(),
        worker,
        publishers,
        subscribers,
        publish_mode: client.publish_mode().as_str().to_owned(),
        statuses,
    }
}
