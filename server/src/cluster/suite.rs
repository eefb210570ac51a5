//! openraft's own storage test suite (`openraft::testing::Suite`) against the redb log
//! store and the registry's state machine: the log's reads, purges and truncations, the
//! vote, the committed index, the membership and initial-state rules, and snapshots built
//! on one node and installed on another.

use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use tempfile::TempDir;

use super::log_store::LogStore;
use super::state_machine::StateMachine;
use super::TypeConfig;
use crate::Replica;

/// A fresh log store and state machine in a temporary data directory, per test.
struct Fresh;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Fresh {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = LogStore::open(&dir.path().join("raft.redb")).expect("the log store opens");
        let sm =
            StateMachine::open(Replica::for_tests(), dir.path()).expect("the state machine opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    if let Err(e) = Suite::test_all(Fresh) {
        panic!("openraft's storage suite failed: {e}");
    }
}
