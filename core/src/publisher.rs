//! Publisher handles.

use std::sync::Arc;

use crate::engine::Inner;
use crate::error::Result;
use crate::model::DataInfoId;

/// A live publisher. Dropping it unregisters.
pub struct Publisher {
    pub(crate) inner: Arc<Inner>,
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

    /// Replaces the published data (a new version).
    pub async fn republish<I, S>(&self, data: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let data = data.into_iter().map(Into::into).collect();
        self.inner.republish(&self.regist_id, data).await
    }

    /// The data and version this publisher holds now.
    pub fn current(&self) -> Option<(u64, Vec<String>)> {
        self.inner.publisher_state(&self.regist_id)
    }

    /// Removes the publisher at the registry.
    pub async fn unregister(self) -> Result<()> {
        self.inner.unregister(&self.regist_id).await
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.inner.unregister_nowait(&self.regist_id);
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
