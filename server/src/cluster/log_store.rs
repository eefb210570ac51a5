//! The Raft log and vote, persisted in an embedded redb database in the data directory.
//! Every write commits durably (fsync) before openraft is told it is done, as Raft requires.
//! redb is blocking, so each call runs on tokio's blocking pool.

// openraft's traits return its `StorageError`, large as it is.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

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

#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
}

impl LogStore {
    pub fn open(path: &Path) -> std::io::Result<LogStore> {
        let db = Database::create(path).map_err(std::io::Error::other)?;
        let txn = db.begin_write().map_err(std::io::Error::other)?;
        txn.open_table(LOGS).map_err(std::io::Error::other)?;
        txn.open_table(META).map_err(std::io::Error::other)?;
        txn.commit().map_err(std::io::Error::other)?;
        Ok(LogStore { db: Arc::new(db) })
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| error(ErrorSubject::Store, ErrorVerb::Write, e))?
    }

    async fn get_meta<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        name: &'static str,
        subject: ErrorSubject<u64>,
    ) -> Result<Option<T>> {
        self.blocking(move |db| {
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

    async fn put_meta<T: serde::Serialize>(
        &self,
        name: &'static str,
        value: &T,
        subject: ErrorSubject<u64>,
    ) -> Result<()> {
        let write = move |e: &dyn std::fmt::Display| error(subject.clone(), ErrorVerb::Write, e);
        let bytes = postcard::to_allocvec(value).map_err(|e| write(&e))?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| write(&e))?;
            txn.open_table(META)
                .map_err(|e| write(&e))?
                .insert(name, bytes.as_slice())
                .map_err(|e| write(&e))?;
            txn.commit().map_err(|e| write(&e))
        })
        .await
    }

    /// Deletes the entries in `range` (used by truncate and purge).
    async fn delete(
        &self,
        range: (Bound<u64>, Bound<u64>),
        purged: Option<LogId<u64>>,
    ) -> Result<()> {
        let write = |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Delete, e);
        let purged = purged
            .map(|p| postcard::to_allocvec(&p))
            .transpose()
            .map_err(|e| write(&e))?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| write(&e))?;
            {
                let mut logs = txn.open_table(LOGS).map_err(|e| write(&e))?;
                logs.retain_in(range, |_, _| false).map_err(|e| write(&e))?;
                if let Some(p) = purged {
                    txn.open_table(META)
                        .map_err(|e| write(&e))?
                        .insert("purged", p.as_slice())
                        .map_err(|e| write(&e))?;
                }
            }
            txn.commit().map_err(|e| write(&e))
        })
        .await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>> {
        let range = (range.start_bound().cloned(), range.end_bound().cloned());
        self.blocking(move |db| {
            let read = |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Read, e);
            let txn = db.begin_read().map_err(|e| read(&e))?;
            let table = txn.open_table(LOGS).map_err(|e| read(&e))?;
            let mut out = Vec::new();
            for item in table.range(range).map_err(|e| read(&e))? {
                let (_, v) = item.map_err(|e| read(&e))?;
                out.push(postcard::from_bytes(v.value()).map_err(|e| read(&e))?);
            }
            Ok(out)
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>> {
        let purged: Option<LogId<u64>> = self.get_meta("purged", ErrorSubject::Logs).await?;
        let last = self
            .blocking(|db| {
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
            last_log_id: last.or(purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<()> {
        self.put_meta("vote", vote, ErrorSubject::Vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>> {
        self.get_meta("vote", ErrorSubject::Vote).await
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<()> {
        self.put_meta("committed", &committed, ErrorSubject::Store)
            .await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>> {
        Ok(self
            .get_meta::<Option<LogId<u64>>>("committed", ErrorSubject::Store)
            .await?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let write = |e: &dyn std::fmt::Display| error(ErrorSubject::Logs, ErrorVerb::Write, e);
        let encoded = entries
            .into_iter()
            .map(|e| {
                Ok((
                    e.log_id.index,
                    postcard::to_allocvec(&e).map_err(|e| write(&e))?,
                ))
            })
            .collect::<Result<Vec<(u64, Vec<u8>)>>>()?;
        let written = self
            .blocking(move |db| {
                let txn = db.begin_write().map_err(|e| write(&e))?;
                {
                    let mut logs = txn.open_table(LOGS).map_err(|e| write(&e))?;
                    for (index, bytes) in &encoded {
                        logs.insert(index, bytes.as_slice())
                            .map_err(|e| write(&e))?;
                    }
                }
                txn.commit().map_err(|e| write(&e))
            })
            .await;
        callback.log_io_completed(
            written
                .as_ref()
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string())),
        );
        written
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
