//! The node-list cache: bootstrap endpoints merged with the members the registry reports
//! (for SOFARegistry: the session servers), persisted in the cache directory so a client
//! still finds the registry when its bootstrap endpoints are gone.

use std::path::PathBuf;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::cache_file;
use crate::error::{Error, Result};

/// The nodes a registry reported: where to connect, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberView {
    pub members: Vec<String>,
    pub leader: Option<String>,
}

/// `host:port` from `host:port` or `http://host:port`.
pub(crate) fn normalize(endpoint: &str) -> Result<String> {
    let e = endpoint.trim();
    let e = e.strip_prefix("http://").unwrap_or(e).trim_end_matches('/');
    let valid = e
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !valid {
        return Err(Error::invalid(format!(
            "endpoint {endpoint:?} is not host:port"
        )));
    }
    Ok(e.to_owned())
}

#[derive(Default, Serialize, Deserialize, PartialEq, Eq, Clone, Debug)]
struct Cached {
    members: Vec<String>,
    leader: Option<String>,
}

pub(crate) struct Members {
    bootstrap: Vec<String>,
    cached: Mutex<Cached>,
    file: Option<PathBuf>,
}

impl Members {
    pub fn new(bootstrap: &[String], cache_dir: Option<&std::path::Path>) -> Result<Self> {
        let bootstrap = bootstrap
            .iter()
            .map(|e| normalize(e))
            .collect::<Result<Vec<_>>>()?;
        let file = cache_dir.map(|d| d.join("members.json"));
        let cached = file
            .as_deref()
            .and_then(cache_file::read_json)
            .unwrap_or_default();
        Ok(Self {
            bootstrap,
            cached: Mutex::new(cached),
            file,
        })
    }

    /// Where to try next, best first: the known leader, the reported members, then the
    /// bootstrap endpoints; without duplicates.
    pub fn candidates(&self) -> Vec<String> {
        let c = self.cached.lock();
        let mut out: Vec<String> = Vec::new();
        for e in c.leader.iter().chain(&c.members).chain(&self.bootstrap) {
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
        out
    }

    /// A node named the leader (a redirect): try it first from now on.
    pub fn set_leader(&self, leader: &str) {
        let next = {
            let mut c = self.cached.lock();
            if c.leader.as_deref() == Some(leader) {
                return;
            }
            c.leader = Some(leader.to_owned());
            if !c.members.iter().any(|m| m == leader) {
                c.members.push(leader.to_owned());
            }
            c.clone()
        };
        self.persist(&next);
    }

    fn persist(&self, cached: &Cached) {
        if let Some(file) = &self.file {
            if let Err(e) = cache_file::write_json(file, cached) {
                tracing::warn!("cannot persist the node list: {e}");
            }
        }
    }

    /// Takes the registry's member list; persists it when it changed.
    pub fn update(&self, view: MemberView) {
        if view.members.is_empty() {
            return;
        }
        let next = Cached {
            members: view.members,
            leader: view.leader,
        };
        let changed = {
            let mut c = self.cached.lock();
            let changed = *c != next;
            *c = next.clone();
            changed
        };
        if changed {
            self.persist(&next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_endpoints() {
        assert_eq!(
            normalize("http://127.0.0.1:9600/").unwrap(),
            "127.0.0.1:9600"
        );
        assert_eq!(normalize("localhost:1").unwrap(), "localhost:1");
        assert!(normalize("localhost")
            .unwrap_err()
            .to_string()
            .contains("\"localhost\" is not host:port"));
        assert!(normalize(":9600").is_err());
    }

    #[test]
    fn cache_survives_restart_and_orders_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let m = Members::new(&["10.0.0.9:1".into()], Some(dir.path())).unwrap();
        m.update(MemberView {
            members: vec!["127.0.0.1:2".into(), "127.0.0.1:3".into()],
            leader: Some("127.0.0.1:3".into()),
        });
        let again = Members::new(&["10.0.0.9:1".into()], Some(dir.path())).unwrap();
        assert_eq!(
            again.candidates(),
            ["127.0.0.1:3", "127.0.0.1:2", "10.0.0.9:1"]
        );
    }
}
