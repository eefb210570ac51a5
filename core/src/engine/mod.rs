//! The engine behind a [`crate::Client`]: the registration table, the live session's link,
//! the operations waiting for the registry's answer, and what the registry says (pushes,
//! acks, member lists) coming back in through [`Sink`]. Protocol-neutral: it speaks in
//! [`Op`]s, and the transport of the session frames them. Its session task (finding a node,
//! the redo, reconnects) is `connection`.

mod connection;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use roster_proto::rules::Limits;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::members::{MemberView, Members};
use crate::model::{DataInfoId, PublishMode, SubscribeMode, SubscriberData};
use crate::protocol::Protocol;
use crate::slot::Changed;
use crate::snapshot::Snapshots;
use crate::table::{Removed, Republished, SubscriberEntry, Table};
use crate::transport::{Acked, Identity, Link, Op, Outgoing, Sink, Transport};

struct State {
    table: Table,
    /// The live session, while connected.
    link: Option<Link>,
    /// Operations waiting for their ack, by request id. Cleared when a session ends, which
    /// tells the waiters their op will be redone instead.
    pending: HashMap<u64, oneshot::Sender<Acked>>,
}

/// The engine of one client, shared (in an `Arc`) by its handles, its session task and the
/// resolver. Its state is private: others reach it through the methods below.
pub(crate) struct Engine {
    config: ClientConfig,
    /// The runtime the client was built in: its tasks run there, whichever thread (or
    /// runtime) later calls an operation.
    runtime: tokio::runtime::Handle,
    protocol: Protocol,
    transport: Transport,
    identity: Identity,
    state: Mutex<State>,
    members: Members,
    snapshots: Option<Arc<Snapshots>>,
    connected: watch::Sender<bool>,
    /// Counts the sessions that came up.
    sessions: AtomicU64,
    /// The last session whose redo the registry has answered in full: until then the
    /// registry is re-sending the data of every subscription, one after the other, in no
    /// order of versions (see `redo_read_back`).
    redone: watch::Sender<u64>,
    closed: CancellationToken,
    /// Why the last connection attempt failed, for `wait_connected`'s error.
    last_error: Mutex<Option<(ErrorKind, String)>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    next_request: AtomicU64,
}

/// An op's request id, its registId (for the error message) and the receiver of its ack.
pub(crate) struct Waiting {
    request_id: u64,
    regist_id: String,
    ack: oneshot::Receiver<Acked>,
}

fn regist_id(op: &Op) -> String {
    match op {
        Op::Publish { reg, .. }
        | Op::Subscribe { reg, .. }
        | Op::Unpublish { reg }
        | Op::Unsubscribe { reg, .. } => reg.regist_id.to_string(),
        Op::RegisterRevision(meta) => format!("revision {}", meta.revision),
        Op::RedoComplete => "the redo".into(),
    }
}

/// Application-level publish and subscribe modes need a registry that serves them.
pub(crate) fn check_level(
    protocol: Protocol,
    publish: Option<PublishMode>,
    subscribe: Option<SubscribeMode>,
) -> Result<()> {
    if protocol.capabilities().application_level {
        return Ok(());
    }
    let what = match (publish, subscribe) {
        (Some(m), _) if m != PublishMode::Interface => format!("publish mode {}", m.as_str()),
        (_, Some(m)) if m != SubscribeMode::ForceInterface => {
            format!("subscribe mode {}", m.as_str())
        }
        _ => return Ok(()),
    };
    Err(Error::invalid(format!(
        "{what} needs application-level discovery, which a {} registry does not offer over its client protocol; use the interface publish mode and the force-interface subscribe mode",
        protocol.as_str()
    )))
}

impl Engine {
    pub fn new(
        runtime: tokio::runtime::Handle,
        config: ClientConfig,
        protocol: Protocol,
        transport: Transport,
        members: Members,
        table: Table,
        identity: Identity,
    ) -> Engine {
        let snapshots = config
            .cache_dir
            .as_deref()
            .map(|d| Arc::new(Snapshots::new(d)));
        Engine {
            runtime,
            identity,
            protocol,
            transport,
            state: Mutex::new(State {
                table,
                link: None,
                pending: HashMap::new(),
            }),
            members,
            snapshots,
            connected: watch::channel(false).0,
            sessions: AtomicU64::new(0),
            redone: watch::channel(0).0,
            closed: CancellationToken::new(),
            last_error: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(1),
            config,
        }
    }

    /// Starts the session task (and the snapshot writer): the client is live from here.
    pub fn start(self: &Arc<Self>) {
        let mut tasks = vec![self.runtime.spawn(connection::run(self.clone()))];
        if let Some(s) = self.snapshots.clone() {
            tasks.push(self.runtime.spawn(s.run(self.closed.clone())));
        }
        *self.tasks.lock() = tasks;
    }

    /// Unregisters everything, closes the session and waits for the engine's tasks.
    pub async fn close(&self) {
        self.closed.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock());
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Cancelled when the client closes (its tasks end with it).
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    pub fn client_id(&self) -> &str {
        &self.identity.client_id
    }

    pub fn members(&self) -> &Members {
        &self.members
    }

    /// The failover snapshots, when the client has a cache directory.
    pub fn snapshots(&self) -> Option<&Snapshots> {
        self.snapshots.as_deref()
    }

    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Changes with every redo the registry answered in full (see `redo_read_back`).
    pub fn watch_redone(&self) -> watch::Receiver<u64> {
        self.redone.subscribe()
    }

    /// Waits until a session is up; a time-out names the nodes tried and the last error.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.connected.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|c| *c))
            .await
            .map(|r| r.is_ok());
        let last = self.last_error.lock().clone();
        match (waited, last) {
            (Ok(true), _) => Ok(()),
            (Ok(false), _) => Err(Error::shut_down()),
            // Refused credentials are not a network problem: say so, with their own kind.
            (
                Err(_),
                Some((kind @ (ErrorKind::Unauthenticated | ErrorKind::PermissionDenied), why)),
            ) => Err(Error::new(kind, why)),
            (Err(_), last) => Err(Error::new(
                ErrorKind::NotConnected,
                format!(
                    "no registry node answered within {} (tried {}; last error: {})",
                    crate::error::duration_text(timeout),
                    self.members.candidates().join(", "),
                    last.map_or("none yet".to_owned(), |(_, why)| why)
                ),
            )),
        }
    }

    /// Sends `ops` on the live session, if any. With `want_ack`, returns what to wait for;
    /// without a session nothing is returned (the redo will send the table's state).
    fn send(&self, st: &mut State, ops: Vec<Op>, want_ack: bool) -> Vec<Waiting> {
        let Some(link) = &st.link else {
            return Vec::new();
        };
        let mut waits = Vec::new();
        for op in ops {
            let request_id = if want_ack {
                self.next_request.fetch_add(1, Ordering::Relaxed)
            } else {
                0
            };
            let regist_id = want_ack.then(|| regist_id(&op));
            if link.tx.send(Outgoing::Op { request_id, op }).is_err() {
                break;
            }
            if let Some(regist_id) = regist_id {
                let (tx, ack) = oneshot::channel();
                st.pending.insert(request_id, tx);
                waits.push(Waiting {
                    request_id,
                    regist_id,
                    ack,
                });
            }
        }
        waits
    }

    /// Changes the table with `change` and sends the ops it returns, in one step under
    /// the table's lock (so ops leave in the order the table changed).
    pub fn change<R>(
        &self,
        want_ack: bool,
        change: impl FnOnce(&mut Table) -> (Vec<Op>, R),
    ) -> (Vec<Waiting>, R) {
        let mut st = self.state.lock();
        let (ops, r) = change(&mut st.table);
        (self.send(&mut st, ops, want_ack), r)
    }

    /// Reads the table.
    pub fn read<R>(&self, f: impl FnOnce(&Table) -> R) -> R {
        f(&self.state.lock().table)
    }

    pub fn limits(&self) -> Limits {
        self.read(Table::limits)
    }

    pub fn check_open(&self) -> Result<()> {
        if self.closed.is_cancelled() {
            Err(Error::shut_down())
        } else {
            Ok(())
        }
    }

    /// Application-level modes need a registry that serves them.
    pub fn check_level(
        &self,
        publish: Option<PublishMode>,
        subscribe: Option<SubscribeMode>,
    ) -> Result<()> {
        check_level(self.protocol, publish, subscribe)
    }

    /// Waits for the acks of `waits`; the first refusal or time-out is the result. An op
    /// whose session ended is redone on the next one, which counts as success.
    pub async fn await_all(&self, waits: Vec<Waiting>, what: &str) -> Result<()> {
        let mut result = Ok(());
        for w in waits {
            let outcome = match tokio::time::timeout(self.config.request_timeout, w.ack).await {
                Ok(Ok(acked)) => acked.into_result(&w.regist_id),
                Ok(Err(_)) => Ok(()), // the session ended; the redo re-sends it
                Err(_) => {
                    self.state.lock().pending.remove(&w.request_id);
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "the registry did not acknowledge {what} within {}",
                            crate::error::duration_text(self.config.request_timeout)
                        ),
                    ))
                }
            };
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }

    /// Registers a publisher now; `settle` then waits for the registry.
    pub fn publish(&self, id: &Arc<str>, key: DataInfoId, data: Vec<String>) -> Vec<Waiting> {
        self.change(true, |t| (t.add_publisher(id, key, data), ()))
            .0
    }

    /// Adds a subscriber entry and sends it; with `want_ack`, returns what to wait for.
    pub fn add_subscriber(
        &self,
        id: &Arc<str>,
        entry: SubscriberEntry,
        want_ack: bool,
    ) -> Vec<Waiting> {
        self.change(want_ack, |t| (vec![t.add_subscriber(id, entry)], ()))
            .0
    }

    /// Waits for a new registration's acks; withdraws it on an error.
    pub async fn settle(&self, id: &Arc<str>, waits: Vec<Waiting>, what: &str) -> Result<()> {
        let outcome = self.await_all(waits, what).await;
        if outcome.is_err() {
            self.unregister_nowait(id);
        }
        outcome
    }

    /// Replaces a publisher's data now; `finish_republish` waits for the registry.
    pub fn republish(
        &self,
        id: &Arc<str>,
        data: Vec<String>,
    ) -> Result<(Vec<Waiting>, Republished)> {
        self.check_open()?;
        let mut st = self.state.lock();
        let mut change = st.table.republish(id, data)?;
        let ops = std::mem::take(&mut change.ops);
        Ok((self.send(&mut st, ops, true), change))
    }

    /// Waits for a republish's acks; a refused one puts the old data back.
    pub async fn finish_republish(
        &self,
        id: &Arc<str>,
        waits: Vec<Waiting>,
        change: Republished,
    ) -> Result<()> {
        let result = self.await_all(waits, "the republish").await;
        if matches!(&result, Err(e) if e.kind() != ErrorKind::Timeout) {
            // Refused: the old data goes back. After a time-out the new data stays: the
            // redo settles it.
            self.change(false, |t| (t.revert(id, &change), ()));
        }
        result
    }

    pub fn publisher_state(&self, id: &Arc<str>) -> Option<(u64, Vec<String>)> {
        self.read(|t| t.publisher_state(id))
    }

    /// Removes an entry and sends its removal (acked when `want_ack`). `None` when there
    /// was no such entry; otherwise what to wait for and the removal's version. See
    /// `Table::remove` for `keep_slot`.
    pub fn remove(
        &self,
        id: &Arc<str>,
        want_ack: bool,
        keep_slot: bool,
    ) -> Option<(Vec<Waiting>, u64)> {
        let mut st = self.state.lock();
        let Removed { ops, version } = st.table.remove(id, keep_slot)?;
        Some((self.send(&mut st, ops, want_ack), version))
    }

    /// Removes an entry now; what to wait for to know the registry has it.
    pub fn unregister(&self, id: &Arc<str>) -> Result<Vec<Waiting>> {
        self.check_open()?;
        let (waits, _) = self.remove(id, true, false).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("registration {id} is already unregistered"),
            )
        })?;
        Ok(waits)
    }

    /// Removes an entry without waiting (handles dropped). An op that does not reach the
    /// registry is settled by the next redo.
    pub fn unregister_nowait(&self, id: &Arc<str>) {
        self.remove(id, false, false);
    }

    /// A session is up: installs its link and sends the redo, in one step under the table's
    /// lock, so no user operation slips between the redo and the link going live. Returns
    /// the session's number and how many registrations were redone.
    pub fn attach(&self, link: Link, limits: Option<Limits>) -> (u64, usize) {
        let mut st = self.state.lock();
        if let Some(limits) = limits {
            st.table.set_limits(limits);
        }
        st.link = Some(link);
        let session = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let ops = st.table.redo();
        self.send(&mut st, ops, false);
        (session, st.table.len())
    }

    /// Whether the data of every subscription is as the live session's registry sent it
    /// after the redo: a session is up and its redo was answered in full. Until then some
    /// lists are fresh and others are not yet, so a list merged from several of them (an
    /// application-level resolution) would mix two moments of the registry.
    pub fn redo_read_back(&self) -> bool {
        self.link().is_some() && *self.redone.borrow() == self.sessions.load(Ordering::Relaxed)
    }

    /// The session ended: waiters learn their ops will be redone.
    pub fn detach(&self) {
        let mut st = self.state.lock();
        st.link = None;
        st.pending.clear();
    }

    /// The live link, for lookups and the close.
    pub fn link(&self) -> Option<Link> {
        self.state.lock().link.clone()
    }

    /// Empties the table (the client closes); the removals go on the live session if any.
    pub fn drain(&self) {
        let mut st = self.state.lock();
        let ops = st.table.drain();
        self.send(&mut st, ops, false);
        st.link = None;
    }
}

impl Sink for Engine {
    fn acked(&self, request_id: u64, regist_id: &str, acked: Acked) {
        if request_id == 0 {
            // Acks of redo and drop frames: nobody waits; a refusal is worth a log line.
            if let Err(e) = acked.into_result(regist_id) {
                tracing::warn!("{e}");
            }
            return;
        }
        if let Some(waiter) = self.state.lock().pending.remove(&request_id) {
            let _ = waiter.send(acked);
        }
    }

    fn pushed(
        &self,
        mut data: Changed,
        subscriber_ids: &[String],
        handles: &[u32],
    ) -> Option<Arc<SubscriberData>> {
        // Stored before the first user subscriber's readers wake (see `Slot::offer_changed`).
        self.read(|t| {
            t.deliver(&mut data, subscriber_ids, handles, |taken| {
                if let Some(snapshots) = &self.snapshots {
                    snapshots.store(taken.clone());
                }
            })
        });
        data.shared()
    }

    fn members(&self, view: MemberView) {
        self.members.update(view);
    }
}
