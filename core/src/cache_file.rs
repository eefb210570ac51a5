//! Files in the cache directory, written atomically (a temporary file in the same
//! directory, then renamed over the old one) so a crash never leaves half a file.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot write {}: {e}", path.display()),
        )
        .with_source(e)
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    serde_json::to_writer(&mut tmp, value)
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    tmp.as_file_mut().flush().map_err(io)?;
    tmp.as_file().sync_data().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Reads a cache file; a missing or unreadable one is `None` (the cache is best effort).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("ignoring unreadable cache file {}: {e}", path.display());
            None
        }
    }
}
