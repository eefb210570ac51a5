//! The Raft log and vote, persisted in an embedded redb database in the data directory.
//!
//! Every write goes, in order, to one writer thread, which commits whatever has queued up
//! meanwhile in one durable redb transaction (one fsync for many writes: group commit) and
//! then reports each write done. So `append` returns once the entries are queued and tells
//! openraft when they are on disk (its storage API allows exactly that), and openraft goes on
//! replicating and accepting writes while the disk syncs, instead of one fsync per round.
//! Entries appended but not yet committed are read from memory. The vote is saved durably
//! before `save_vote` returns, as Raft requires; the committed index (optional in openraft)
//! is queued without waiting.

// openraft's traits return its `StorageError`, large as it is.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{mpsc, Arc, Weak};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use parking_lot::Mutex;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use super::TypeConfig;

const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

type Result<T> = std::result::Result<T, StorageError<u64>>;

fn error(
    subject: ErrorSubject<u64>,
    verb: ErrorVerb,
    e: impl std::fmt::Display,
) -> StorageError<u64> {
    let e = AnyError::error(e.to_string());
    StorageError::IO {
        source: StorageIOError::new(subject, verb, e),
    }
}

/// Entries appended and not yet committed to redb, by index.
type Pending = Arc<Mutex<BTreeMap<u64, Entry<TypeConfig>>>>;

#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    pending: Pending,
    writes: mpsc::Sender<Write>,
}

/// A change to the database, applied by the writer thread in the order sent.
enum Op {
    Append(Vec<(LogId<u64>, Vec<u8>)>),
    Meta(&'static str, Vec<u8>),
    Delete {
        range: (Bound<u64>, Bound<u64>),
        purged: Option<Vec<u8>>,
    },
}

/// Who hears that a write is on disk.
enum Done {
    Flushed(LogFlushed<TypeConfig>),
    Reply(oneshot::Sender<std::result::Result<(), String>>),
    Nobody,
}

struct Write {
    op: Op,
    done: Done,
}

impl LogStore {
    pub fn open(path: &Path) -> std::io::Result<LogStore> {
        // A node restarted in the same process may find its predecessor's writer thread
        // still finishing a commit (it holds the database until then): wait a moment.
        let mut tries = 0;
        let db = loop {
            match Database::create(path) {
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if tries < 40 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other.map_err(std::io::Error::other)?,
            }
        };
        let txn = db.begin_write().map_err(std::io::Error::other)?;
        txn.open_table(LOGS).map_err(std::io::Error::other)?;
        txn.open_table(META).map_err(std::io::Error::other)?;
        txn.commit().map_err(std::io::Error::other)?;
        let db = Arc::new(db);
        let pending = Pending::default();
        let (writes, queue) = mpsc::channel();
        // The writer holds the database weakly: once the node drops its store (it stops),
        // the file is closed at once and a restarted node can open it again.
        let (weak, p) = (Arc::downgrade(&db), pending.clone());
        std::thread::Builder::new()
            .name("roster-raft-log".into())
            .spawn(move || write_loop(weak, p, queue))?;
        Ok(LogStore {
            db,
            pending,
            writes,
        })
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database, &Pending) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (db, pending) = (self.db.clone(), self.pending.clone());
        tokio::task::spawn_blocking(move || f(&db, &pending))
            .await
            .map_err(|e| error(ErrorSubject::Store, ErrorVerb::Write, e))?
    }

    /// Queues a write.
    fn send(&self, op: Op, done: Done) -> std::result::Result<(), String> {
        self.writes
            .send(Write { op, done })
            .map_err(|_| "the Raft log's writer has stopped".to_owned())
    }

    /// Queues a write and waits until it is on disk.
    async fn write(&self, op: Op, subject: ErrorSubject<u64>, verb: ErrorVerb) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let result = match self.send(op, Done::Reply(tx)) {
            Ok(()) => rx
                .await
                .unwrap_or_else(|_| Err("the Raft log's writer has stopped".into())),
            Err(e) => Err(e),
        };
        result.map_err(|e| error(subject, verb, e))
    }

    async fn get_meta<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        name: &'static str,
        subject: ErrorSubject<u64>,
    ) -> Result<Option<T>> {
        self.blocking(move |db, _| {
            let read = |e: &dyn std::fmt::Display| error(subject.clone(), ErrorVerb::Read, e);
            let txn = db.begin_read().map_err(|e| read(&e))?;
            let table = txn.open_table(META).map_err(|e| read(&e))?;
            let Some(v) = table.get(name).map_err(|e| read(&e))? else {
                return Ok(None);
            };
            postcard::from_bytes(v.value())
                .map(Some)
                .map_err(|e| read(&e))
        })
        .await
    }

    fn meta<T: serde::Serialize>(
        name: &'static str,
        value: &T,
        subject: ErrorSubject<u64>,
    ) -> Result<Op> {
        postcard::to_allocvec(value)
            .map(|bytes| Op::Meta(name, bytes))
            .map_err(|e| error(subject, ErrorVerb::Write, e))
    }

    /// Deletes the entries in `range` (used by truncate and purge), pending ones at once.
    async fn delete(
        &self,
        range: (Bound<u64>, Bound<u64>),
        purged: Option<LogId<u64>>,
    ) -> Result<()> {
        let purged = purged
            .map(|p| postcard::to_allocvec(&p))
            .transpose()
            .map_err(|e| error(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        self.pending.lock().retain(|i, _| !range.contains(i));
        self.write(
            Op::Delete { range, purged },
            ErrorSubject::Logs,
            ErrorVerb::Delete,
        )
        .await
    }
}

/// The writer thread: takes the first queued write and every one queued behind it, commits
/// them in one transaction, then reports them all.
fn write_loop(db: Weak<Database>, pending: Pending, queue: mpsc::Receiver<Write>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let result = match db.upgrade() {
            Some(db) => commit(&db, &batch).map_err(|e| e.to_string()),
            None => Err("the Raft log is closed".to_owned()),
        };
        {
            let mut pending = pending.lock();
            for w in &batch {
                if let Op::Append(entries) = &w.op {
                    for (id, _) in entries {
                        if pending.get(&id.index).is_some_and(|e| e.log_id == *id) {
                            pending.remove(&id.index);
                        }
                    }
                }
            }
        }
        for w in batch {
            match w.done {
                Done::Flushed(callback) => {
                    callback.log_io_completed(result.clone().map_err(std::io::Error::other))
                }
                Done::Reply(tx) => {
                    let _ = tx.send(result.clone());
                }
                Done::Nobody => {
                    if let Err(e) = &result {
                        tracing::warn!("could not save the committed index: {e}");
                    }
                }
            }
        }
    }
}

fn commit(db: &Database, batch: &[Write]) -> std::result::Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut logs = txn.open_table(LOGS)?;
        let mut meta = txn.open_table(META)?;
        for w in batch {
            match &w.op {
                Op::Append(entries) => {
                    for (id, bytes) in entries {
                        logs.insert(id.index, bytes.as_slice())?;
                    }
                }
                Op::Meta(name, bytes) => {
                    meta.insert(*name, bytes.as_slice())?;
                }
                Op::Delete { range, purged } => {
                    logs.retain_in(*range, |_, _| false)?;
                    if let Some(p) = purged {
                        meta.insert("purged", p.as_slice())?;
                    }
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>> {
        let range = (range.start_bound().cloned(), range.end_bound().cloned());
        self.blocking(move |db, pending| {
            let read = |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Read, e);
            // Under the lock, so that an entry the writer commits meanwhile is either still
            // pending here or already in this read transaction.
            let (queued, txn) = {
                let pending = pending.lock();
                let queued: Vec<_> = pending.range(range).map(|(_, e)| e.clone()).collect();
                (queued, db.begin_read().map_err(|e| read(&e))?)
            };
            let table = txn.open_table(LOGS).map_err(|e| read(&e))?;
            let mut out = BTreeMap::new();
            for item in table.range(range).map_err(|e| read(&e))? {
                let (k, v) = item.map_err(|e| read(&e))?;
                let entry: Entry<TypeConfig> =
                    postcard::from_bytes(v.value()).map_err(|e| read(&e))?;
                out.insert(k.value(), entry);
            }
            out.extend(queued.into_iter().map(|e| (e.log_id.index, e)));
            Ok(out.into_values().collect())
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>> {
        let purged: Option<LogId<u64>> = self.get_meta("purged", ErrorSubject::Logs).await?;
        let queued = self.pending.lock().last_key_value().map(|(_, e)| e.log_id);
        let last = self
            .blocking(|db, _| {
                let read =
                    |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Read, e);
                let txn = db.begin_read().map_err(|e| read(&e))?;
                let table = txn.open_table(LOGS).map_err(|e| read(&e))?;
                let last = match table.last().map_err(|e| read(&e))? {
                    Some((_, v)) => postcard::from_bytes::<Entry<TypeConfig>>(v.value())
                        .map(|e| Some(e.log_id))
                        .map_err(|e| read(&e)),
                    None => Ok(None),
                };
                last
            })
            .await?;
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: queued.max(last).or(purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<()> {
        let op = Self::meta("vote", vote, ErrorSubject::Vote)?;
        self.write(op, ErrorSubject::Vote, ErrorVerb::Write).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>> {
        self.get_meta("vote", ErrorSubject::Vote).await
    }

    /// Queued, not awaited: a committed index lost in a crash only means a restarted node
    /// applies a little less of its log before the leader tells it more.
    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<()> {
        let op = Self::meta("committed", &committed, ErrorSubject::Store)?;
        self.send(op, Done::Nobody)
            .map_err(|e| error(ErrorSubject::Store, ErrorVerb::Write, e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>> {
        Ok(self
            .get_meta::<Option<LogId<u64>>>("committed", ErrorSubject::Store)
            .await?
            .flatten())
    }

    /// Returns once the entries are readable (in memory); `callback` hears when they are on
    /// disk.
    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let write = |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Write, e);
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let encoded = entries
            .iter()
            .map(|e| Ok((e.log_id, postcard::to_allocvec(e).map_err(|e| write(&e))?)))
            .collect::<Result<Vec<_>>>()?;
        // In memory before the writer can commit (and so drop) them.
        self.pending
            .lock()
            .extend(entries.into_iter().map(|e| (e.log_id.index, e)));
        self.send(Op::Append(encoded), Done::Flushed(callback))
            .map_err(|e| write(&e))
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<()> {
        self.delete((Bound::Included(log_id.index), Bound::Unbounded), None)
            .await
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<()> {
        self.delete(
            (Bound::Unbounded, Bound::Included(log_id.index)),
            Some(log_id),
        )
        .await
    }
}
