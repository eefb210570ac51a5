//! A value loaded from files and loaded again when they change: the TLS certificate, key
//! and client CA, and the keys file. Checked when the value is used (a handshake, a Hello),
//! at most once per `every`, by each file's modification time and length, so a rotation
//! needs no restart, no signal and no background task. A change that does not load (a
//! half-written file, a bad key) is logged and the last good value kept.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

type Stamp = Vec<Option<(SystemTime, u64)>>;
type Loader<T> = Box<dyn Fn(&[PathBuf]) -> Result<T, String> + Send + Sync>;

pub struct Reloading<T> {
    what: &'static str,
    paths: Vec<PathBuf>,
    load: Loader<T>,
    every: Duration,
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Arc<T>,
    stamp: Stamp,
    checked: Instant,
}

fn stamp(paths: &[PathBuf]) -> Stamp {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

impl<T> Reloading<T> {
    /// Loads the value now: an error here stops the server from starting.
    pub fn new(
        what: &'static str,
        paths: Vec<PathBuf>,
        every: Duration,
        load: impl Fn(&[PathBuf]) -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let stamp = stamp(&paths);
        let value = Arc::new(load(&paths)?);
        Ok(Reloading {
            what,
            paths,
            load: Box::new(load),
            every,
            state: Mutex::new(State {
                value,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The current value, loaded again first if a file changed since the last check.
    pub fn get(&self) -> Arc<T> {
        let mut state = self.state.lock();
        if state.checked.elapsed() >= self.every {
            state.checked = Instant::now();
            let now = stamp(&self.paths);
            if now != state.stamp {
                state.stamp = now;
                match (self.load)(&self.paths) {
                    Ok(v) => {
                        state.value = Arc::new(v);
                        tracing::info!(what = self.what, "reloaded after its files changed");
                    }
                    Err(e) => tracing::warn!(
                        what = self.what,
                        "changed but does not load ({e}); keeping the previous one"
                    ),
                }
            }
        }
        state.value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(paths: &[PathBuf]) -> Result<String, String> {
        let s = std::fs::read_to_string(&paths[0]).map_err(|e| e.to_string())?;
        if s.starts_with("bad") {
            return Err("bad".into());
        }
        Ok(s)
    }

    #[test]
    fn a_changed_file_is_loaded_again_and_a_bad_change_keeps_the_last_good_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let r = Reloading::new("f", vec![path.clone()], Duration::ZERO, read).unwrap();
        assert_eq!(*r.get(), "one");
        std::fs::write(&path, "two!").unwrap();
        assert_eq!(*r.get(), "two!");
        std::fs::write(&path, "bad change").unwrap();
        assert_eq!(*r.get(), "two!");
        std::fs::write(&path, "three").unwrap();
        assert_eq!(*r.get(), "three");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(*r.get(), "three", "a removed file keeps the last value");
    }

    #[test]
    fn files_are_checked_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let r = Reloading::new("f", vec![path.clone()], Duration::from_secs(3600), read).unwrap();
        std::fs::write(&path, "two!").unwrap();
        assert_eq!(*r.get(), "one");
    }

    #[test]
    fn a_value_that_does_not_load_at_start_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(Reloading::new("f", vec![missing], Duration::ZERO, read).is_err());
    }
}
