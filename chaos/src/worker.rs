//! A client process: one Roster client that runs the operations the runner sends on its
//! stdin (one JSON [`Command`] per line) and reports on its stdout (one JSON journal entry
//! per line) each operation's result and every push its subscribers are handed. A process
//! of its own so that the runner can SIGKILL it like a crashed application.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use roster_core::{Client, Publisher, PublisherRegistration, Subscriber, SubscriberRegistration};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::journal::{now, Entry, Held, Op};

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
    subscribers: HashMap<u32, (Subscriber, JoinHandle<()>)>,
}

fn client(worker: u32, endpoints: &[String]) -> Client {
    Client::builder()
        .endpoints(endpoints.iter().cloned())
        .app_name(format!("chaos-{worker}"))
        .reconnect_delay(Duration::from_millis(50), Duration::from_millis(500))
        .build()
        .expect("a valid client configuration")
}

pub async fn run(worker: u32, endpoints: Vec<String>) {
    let mut current = client(worker, &endpoints);
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
                emit(&dump(worker, &*handles.lock().await));
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
            Op::Subscribe { subscriber, key } => {
                let started = current.subscribe(SubscriberRegistration::new(key));
                tokio::spawn(async move {
                    match started.await {
                        Ok(s) => {
                            let reader = tokio::spawn(read_pushes(worker, subscriber, s.updates()));
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
                    match started {
                        Some((s, reader)) => {
                            reader.abort();
                            done(s.unsubscribe().await.map_err(|e| e.to_string()))
                        }
                        None => done(Err(format!("no subscriber {subscriber}"))),
                    }
                });
            }
            Op::Reopen => {
                let old = std::mem::take(&mut *h.lock().await);
                for (_, reader) in old.subscribers.values() {
                    reader.abort();
                }
                // Dropping the handles withdraws them; the close waits until it is done.
                drop(old);
                current.close().await;
                current = client(worker, &endpoints);
                done(Ok(()));
            }
        }
    }
}

async fn read_pushes(worker: u32, subscriber: u32, mut updates: roster_core::Updates) {
    while let Some(data) = updates.next().await {
        emit(&Entry::Push {
            t: now(),
            worker,
            subscriber,
            version: data.version,
            items: data.items().map(str::to_owned).collect(),
        });
    }
}

fn dump(worker: u32, h: &Handles) -> Entry {
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
    Entry::Final {
        t: now(),
        worker,
        publishers,
        subscribers,
    }
}
