//! Publisher handles.

use std::future::Future;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::Result;
use crate::model::DataInfoId;

/// A live publisher. Dropping it unregisters.
pub struct Publisher {
    pub(crate) engine: Arc<Engine>,
    pub(crate) regist_id: Arc<str>,
    pub(crate) key: DataInfoId,
}

impl Publisher {
    pub fn regist_id(&self) -> &str {
        &self.regist_id
    }

    pub fn data_info_id(&self) -> &DataInfoId {
        &self.key
    }

    /// Replaces the published data (a new version). It takes effect when called, so calls
    /// made one after another apply in that order whether or not each is awaited; the
    /// future waits for the registry's acknowledgement.
    pub fn republish<I, S>(&self, data: I) -> impl Future<Output = Result<()>> + Send + 'static
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let data = data.into_iter().map(Into::into).collect();
        let started = self.engine.republish(&self.regist_id, data);
        let (engine, id) = (self.engine.clone(), self.regist_id.clone());
        async move {
            let (waits, change) = started?;
            engine.finish_republish(&id, waits, change).await
        }
    }

    /// The data and version this publisher holds now.
    pub fn current(&self) -> Option<(u64, Vec<String>)> {
        self.engine.publisher_state(&self.regist_id)
    }

    /// Removes the publisher at the registry (now; the future waits for the registry).
    pub fn unregister(self) -> impl Future<Output = Result<()>> + Send + 'static {
        let started = self.engine.unregister(&self.regist_id);
        let engine = self.engine.clone();
        async move { engine.await_all(started?, "the unregister").await }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.engine.unregister_nowait(&self.regist_id);
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("regist_id", &self.regist_id)
            .field("data_info_id", &self.key.to_string())
            .finish()
    }
}
