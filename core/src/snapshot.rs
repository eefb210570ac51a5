//! The failover snapshot: the last data of each subscription, kept in the cache directory
//! so that a client started while the registry is unreachable still gives its subscribers
//! the addresses they had (marked `from_cache`).
//!
//! Writes are coalesced: a push marks its subscription dirty and a background task writes
//! the newest data of each dirty subscription at most every `FLUSH_EVERY`, so pushes never
//! wait on the disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::cache_file;
use crate::model::{DataInfoId, Scope, SubscriberData};

const FLUSH_EVERY: Duration = Duration::from_millis(200);

pub(crate) struct Snapshots {
    dir: PathBuf,
    dirty: Mutex<HashMap<PathBuf, Arc<SubscriberData>>>,
    wake: Notify,
}

/// FNV-1a: a stable hash for file names (std's hasher may change between releases).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Snapshots {
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("snapshots"),
            dirty: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        }
    }

    fn path(&self, key: &DataInfoId, scope: Scope) -> PathBuf {
        let readable: String = key
            .data_id
            .chars()
            .take(48)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let hash = fnv1a(&format!("{key}#{}", scope.as_str()));
        self.dir.join(format!("{readable}-{hash:016x}.json"))
    }

    pub fn load(&self, key: &DataInfoId, scope: Scope) -> Option<SubscriberData> {
        let mut data: SubscriberData = cache_file::read_json(&self.path(key, scope))?;
        // Guard against a hash collision or a hand-edited file.
        if data.data_info_id != *key || data.scope != scope {
            return None;
        }
        data.from_cache = true;
        Some(data)
    }

    pub fn store(&self, data: Arc<SubscriberData>) {
        let path = self.path(&data.data_info_id, data.scope);
        self.dirty.lock().insert(path, data);
        self.wake.notify_one();
    }

    fn flush(&self) {
        let batch = std::mem::take(&mut *self.dirty.lock());
        for (path, data) in batch {
            if let Err(e) = cache_file::write_json(&path, &*data) {
                tracing::warn!("cannot write the failover snapshot: {e}");
            }
        }
    }

    /// Writes dirty snapshots until `stop`, then writes what is left.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let stopping = tokio::select! {
                _ = stop.cancelled() => true,
                _ = self.wake.notified() => false,
            };
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || this.flush()).await;
            if stopping {
                return;
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Items;

    #[test]
    fn round_trip_marks_cached() {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshots::new(dir.path());
        let key = DataInfoId::new("com.example/Svc:1.0");
        let mut data = SubscriberData {
            data_info_id: key.clone(),
            version: 7,
            scope: Scope::Global,
            zones: [("z1".to_owned(), Items::from(vec!["bolt://a:1"]))].into(),
            from_cache: false,
            changes: Default::default(),
        };
        s.store(Arc::new(data.clone()));
        s.flush();
        assert!(
            s.load(&key, Scope::Zone).is_none(),
            "another scope is another snapshot"
        );
        data.from_cache = true;
        assert_eq!(s.load(&key, Scope::Global), Some(data));
    }
}
