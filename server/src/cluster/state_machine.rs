//! The Raft state machine: the registry itself (in the node's [`Replica`], which it holds;
//! the node's Raft handle is not reachable from here), fed committed commands through
//! `apply::apply`. The state lives in memory; snapshots are written to the data directory,
//! so a restarted node starts from its last snapshot and replays the log after it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, BasicNode, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use parking_lot::Mutex;
use roster_proto::prost::Message;
use roster_proto::v1;
use serde::{Deserialize, Serialize};

use super::{Cmd, TypeConfig};
use crate::apply::{self, Applied};
use crate::registry::Registry;
use crate::Replica;

type Result<T> = std::result::Result<T, StorageError<u64>>;

fn snapshot_error(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError<u64> {
    StorageError::IO {
        source: StorageIOError::new(ErrorSubject::Snapshot(None), verb, AnyError::error(e)),
    }
}

/// A snapshot as kept on disk and in memory: its meta and the encoded `RegistrySnapshot`.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    meta: SnapshotMeta<u64, BasicNode>,
    data: Vec<u8>,
}

pub struct StateMachine {
    replica: Arc<Replica>,
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, BasicNode>,
    current: Arc<Mutex<Option<Stored>>>,
    file: PathBuf,
    built: u64,
}

impl StateMachine {
    /// Opens the state machine, restoring the registry from the snapshot on disk if any.
    pub fn open(replica: Arc<Replica>, dir: &Path) -> std::io::Result<StateMachine> {
        let file = dir.join("snapshot.bin");
        let mut sm = StateMachine {
            replica,
            last_applied: None,
            membership: StoredMembership::default(),
            current: Arc::new(Mutex::new(None)),
            file,
            built: 0,
        };
        match std::fs::read(&sm.file) {
            Ok(bytes) => {
                let stored: Stored = postcard::from_bytes(&bytes)
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", sm.file.display())))?;
                sm.restore(&stored).map_err(std::io::Error::other)?;
                tracing::info!(last_log_id = ?stored.meta.last_log_id, "restored the registry from its snapshot");
                *sm.current.lock() = Some(stored);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(sm)
    }

    /// Replaces the registry with a snapshot's; closes the streams of the one it replaces.
    fn restore(&mut self, stored: &Stored) -> std::result::Result<(), String> {
        let snap = v1::RegistrySnapshot::decode(stored.data.as_slice())
            .map_err(|e| format!("cannot decode a registry snapshot: {e}"))?;
        let mut fresh = Registry::restore(self.replica.config.limits, snap);
        fresh.set_position(stored.meta.last_log_id.map_or(0, |l| l.index));
        let old = std::mem::replace(&mut *self.replica.registry.lock(), fresh);
        let mut old = old;
        for out in old.detach_all() {
            out.close();
        }
        self.last_applied = stored.meta.last_log_id;
        self.membership = stored.meta.last_membership.clone();
        Ok(())
    }
}

/// Writes `bytes` to `file` atomically (a temporary file, synced, then renamed).
fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = file.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Builds a snapshot from a copy taken when openraft asked for the builder.
pub struct Builder {
    stored: Stored,
    current: Arc<Mutex<Option<Stored>>>,
    file: PathBuf,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>> {
        let bytes =
            postcard::to_allocvec(&self.stored).map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || write_atomically(&file, &bytes))
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        tracing::info!(last_log_id = ?self.stored.meta.last_log_id, bytes = self.stored.data.len(), "snapshot taken");
        *self.current.lock() = Some(self.stored.clone());
        Ok(Snapshot {
            meta: self.stored.meta.clone(),
            snapshot: Box::new(Cursor::new(self.stored.data.clone())),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>)> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let position = entry.log_id.index;
            out.push(match entry.payload {
                EntryPayload::Blank => {
                    self.replica.registry.lock().set_position(position);
                    Applied::default()
                }
                EntryPayload::Normal(Cmd(bytes)) => match v1::Command::decode(bytes) {
                    Ok(cmd) => apply::apply(&self.replica, cmd, position),
                    Err(e) => {
                        // Cannot happen (the leader encoded it); skipping keeps replicas alike.
                        tracing::error!(log_id = %entry.log_id, "undecodable command: {e}");
                        self.replica.registry.lock().set_position(position);
                        Applied::default()
                    }
                },
                EntryPayload::Membership(m) => {
                    self.replica.registry.lock().set_position(position);
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    Applied::default()
                }
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        // Taken now, under the registry lock, between two applies: a consistent copy.
        let data = self.replica.registry.lock().snapshot().encode_to_vec();
        self.built += 1;
        let id = match self.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, self.built),
            None => format!("none-{}", self.built),
        };
        Builder {
            stored: Stored {
                meta: SnapshotMeta {
                    last_log_id: self.last_applied,
                    last_membership: self.membership.clone(),
                    snapshot_id: id,
                },
                data,
            },
            current: self.current.clone(),
            file: self.file.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<()> {
        let stored = Stored {
            meta: meta.clone(),
            data: snapshot.into_inner(),
        };
        self.restore(&stored)
            .map_err(|e| snapshot_error(ErrorVerb::Read, e))?;
        let bytes =
            postcard::to_allocvec(&stored).map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || write_atomically(&file, &bytes))
            .await
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?
            .map_err(|e| snapshot_error(ErrorVerb::Write, e))?;
        tracing::info!(last_log_id = ?meta.last_log_id, "installed a snapshot from the leader");
        *self.current.lock() = Some(stored);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>> {
        Ok(self.current.lock().clone().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
