//! Files in the cache directory, written atomically (a temporary file in the same
//! directory, then renamed over the old one) so a crash never leaves half a file, and
//! readable by their owner only (they list the services this process uses and where they
//! are): the directory is created 0700 and each file 0600.

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
    create_private_dir(dir).map_err(io)?;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    serde_json::to_writer(&mut tmp, value)
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    tmp.as_file_mut().flush().map_err(io)?;
    tmp.as_file().sync_data().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Elsewhere (Windows) a user's files already carry an ACL for their owner.
#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cache_files_and_their_directory_are_the_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache/roster");
        let path = dir.join("nodes.json");
        write_json(&path, &vec!["127.0.0.1:9600"]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        // Rewritten: still 0600.
        write_json(&path, &vec!["127.0.0.1:9601"]).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_json::<Vec<String>>(&path).unwrap(), ["127.0.0.1:9601"]);
    }
}
