//! Authentication (AK/SK, see `roster_proto::auth`) and what each key may do.
//!
//! The keys file (TOML; loaded again when it changes, so a key added or removed takes
//! effect at the next session; sessions already open keep what they were granted):
//!
//! ```toml
//! [[keys]]
//! access_key = "orders-service"
//! secret_key = "a long random string"
//! tenants = ["orders"]                 # instanceIds this key may use
//! publish = ["com.acme.orders.*"]      # dataIds it may publish
//! subscribe = ["com.acme.*"]           # dataIds it may subscribe to
//! ```
//!
//! Tenants and dataIds are patterns: `*` matches any run of characters, `?` one. The
//! registry's own groups follow the same rules: an application publisher (group `SOFA_APP`)
//! publishes its application name as dataId, the interface -> applications lists (group
//! `ROSTER_INTERFACE_APPS/...`) are subscribed to under the interface's dataId, and a
//! revision may only name interfaces the key may publish.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use roster_proto::auth;
use serde::Deserialize;
use tonic::Status;
use wildmatch::WildMatch;

use super::reload::Reloading;
use crate::metrics::Metrics;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    access_key: String,
    secret_key: String,
    tenants: Vec<String>,
    #[serde(default)]
    publish: Vec<String>,
    #[serde(default)]
    subscribe: Vec<String>,
}

/// What one access key may do.
#[derive(Debug)]
pub struct Grants {
    pub access_key: String,
    tenants: Vec<WildMatch>,
    publish: Vec<WildMatch>,
    subscribe: Vec<WildMatch>,
}

/// The two things a key may be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Publish,
    Subscribe,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

impl Grants {
    /// `Err` names what the key may not do.
    pub fn allows(&self, action: Action, data_id: &str, instance_id: &str) -> Result<(), String> {
        let patterns = match action {
            Action::Publish => &self.publish,
            Action::Subscribe => &self.subscribe,
        };
        if !self.tenants.iter().any(|t| t.matches(instance_id)) {
            return Err(format!(
                "access key {:?} may not use instanceId {instance_id:?}",
                self.access_key
            ));
        }
        if !patterns.iter().any(|p| p.matches(data_id)) {
            return Err(format!(
                "access key {:?} may not {} dataId {data_id:?}",
                self.access_key,
                action.as_str()
            ));
        }
        Ok(())
    }
}

struct Key {
    /// Never logged: `Key` has no `Debug`.
    secret: String,
    grants: Arc<Grants>,
}

struct Keys(HashMap<String, Key>);

fn load(paths: &[PathBuf]) -> Result<Keys, String> {
    let path = &paths[0];
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(text: &str) -> Result<Keys, String> {
    // The error names the line, never the text of a secret.
    let file: KeysFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!(" at line {}", text[..s.start].lines().count().max(1)))
            .unwrap_or_default();
        format!("not a keys file{at}: {}", e.message())
    })?;
    let mut keys = HashMap::new();
    for (i, k) in file.keys.into_iter().enumerate() {
        let name = format!("keys[{i}] ({:?})", k.access_key);
        if k.access_key.is_empty() {
            return Err(format!("keys[{i}]: access_key is empty"));
        }
        if k.secret_key.len() < 16 {
            return Err(format!(
                "{name}: secret_key must be at least 16 bytes (it signs every session)"
            ));
        }
        if k.tenants.is_empty() {
            return Err(format!("{name}: tenants is empty (use [\"*\"] for all)"));
        }
        let patterns = |v: Vec<String>| v.iter().map(|p| WildMatch::new(p)).collect();
        let grants = Grants {
            access_key: k.access_key.clone(),
            tenants: patterns(k.tenants),
            publish: patterns(k.publish),
            subscribe: patterns(k.subscribe),
        };
        let key = Key {
            secret: k.secret_key,
            grants: Arc::new(grants),
        };
        if keys.insert(k.access_key, key).is_some() {
            return Err(format!("{name}: this access_key appears twice"));
        }
    }
    Ok(Keys(keys))
}

/// The credentials a client presented.
pub struct Presented<'a> {
    pub access_key: &'a str,
    pub client_id: &'a str,
    pub timestamp_ms: u64,
    pub signature: &'a str,
}

/// Checks credentials against the keys file; remembers the signatures it accepted for as
/// long as their timestamp is within the allowed skew, to refuse them again.
pub struct Authenticator {
    keys: Reloading<Keys>,
    max_skew: Duration,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    signatures: HashSet<String>,
    /// In the order accepted, with when each may be forgotten (ms since the epoch).
    order: VecDeque<(u64, String)>,
}

impl Authenticator {
    pub fn new(path: PathBuf, max_skew: Duration, reload_every: Duration) -> Result<Self, String> {
        Ok(Authenticator {
            keys: Reloading::new("keys file", vec![path], reload_every, load)?,
            max_skew,
            seen: Mutex::default(),
        })
    }

    /// The key's grants, or UNAUTHENTICATED naming what was wrong (never a secret).
    /// `once`: the signature may not be used again (a session; not a read-only call).
    pub fn check(
        &self,
        p: &Presented<'_>,
        once: bool,
        metrics: &Metrics,
    ) -> Result<Arc<Grants>, Status> {
        self.verify(p, once).map_err(|(reason, message)| {
            metrics.auth_failure(reason);
            tracing::info!(
                access_key = p.access_key,
                client_id = p.client_id,
                reason,
                "authentication failed"
            );
            Status::unauthenticated(message)
        })
    }

    fn verify(&self, p: &Presented<'_>, once: bool) -> Result<Arc<Grants>, (&'static str, String)> {
        if p.access_key.is_empty() || p.signature.is_empty() {
            return Err((
                "missing",
                "this registry requires authentication: configure the client's access key and secret key".into(),
            ));
        }
        let keys = self.keys.get();
        let Some(key) = keys.0.get(p.access_key) else {
            return Err((
                "unknown_key",
                format!(
                    "access key {:?} is not known to this registry",
                    p.access_key
                ),
            ));
        };
        if !auth::verify(
            &key.secret,
            p.access_key,
            p.client_id,
            p.timestamp_ms,
            p.signature,
        ) {
            return Err((
                "bad_signature",
                format!(
                    "access key {:?}: the signature does not match (is the secret key right?)",
                    p.access_key
                ),
            ));
        }
        let now = auth::now_ms();
        let skew = now.abs_diff(p.timestamp_ms);
        let max = self.max_skew.as_millis() as u64;
        if skew > max {
            return Err((
                "stale",
                format!(
                    "access key {:?}: the signature's time is {:.1} s from the registry's clock \
                     (at most {:.1} s allowed: is the client's clock right?)",
                    p.access_key,
                    skew as f64 / 1000.0,
                    max as f64 / 1000.0
                ),
            ));
        }
        if once {
            let mut seen = self.seen.lock();
            while seen.order.front().is_some_and(|(until, _)| *until < now) {
                let (_, s) = seen.order.pop_front().expect("checked");
                seen.signatures.remove(&s);
            }
            let id = format!("{}/{}", p.access_key, p.signature);
            if !seen.signatures.insert(id.clone()) {
                return Err((
                    "replayed",
                    format!(
                        "access key {:?}: this signature was already used (a replay)",
                        p.access_key
                    ),
                ));
            }
            // Valid until its time is out of the skew window: at most 2 × skew from now.
            seen.order.push_back((now + 2 * max, id));
        }
        Ok(key.grants.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        [[keys]]
        access_key = "orders"
        secret_key = "orders-secret-0123456789"
        tenants = ["shop"]
        publish = ["com.acme.orders.*"]
        subscribe = ["com.acme.*"]

        [[keys]]
        access_key = "admin"
        secret_key = "admin-secret-0123456789"
        tenants = ["*"]
        publish = ["*"]
        subscribe = ["*"]
    "#;

    fn authenticator(text: &str) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        std::fs::write(&path, text).unwrap();
        let a = Authenticator::new(path, Duration::from_secs(300), Duration::ZERO).unwrap();
        (dir, a)
    }

    fn signed<'a>(ak: &'a str, secret: &str, ts: u64, sig: &'a mut String) -> Presented<'a> {
        *sig = auth::sign(secret, ak, "c1", ts);
        Presented {
            access_key: ak,
            client_id: "c1",
            timestamp_ms: ts,
            signature: sig,
        }
    }

    fn reason(r: Result<Arc<Grants>, (&'static str, String)>) -> &'static str {
        r.err().map_or("ok", |e| e.0)
    }

    #[test]
    fn each_way_to_fail_has_its_reason() {
        let (_d, a) = authenticator(FILE);
        let now = auth::now_ms();
        let mut s = String::new();
        assert_eq!(
            reason(a.verify(
                &signed("orders", "orders-secret-0123456789", now, &mut s),
                true
            )),
            "ok"
        );
        assert_eq!(
            reason(a.verify(
                &signed("orders", "orders-secret-0123456789", now, &mut s),
                true
            )),
            "replayed"
        );
        assert_eq!(
            reason(a.verify(
                &signed("orders", "wrong-secret-0123456789", now, &mut s),
                true
            )),
            "bad_signature"
        );
        assert_eq!(
            reason(a.verify(
                &signed("nobody", "orders-secret-0123456789", now, &mut s),
                true
            )),
            "unknown_key"
        );
        let stale = now - 301_000;
        assert_eq!(
            reason(a.verify(
                &signed("orders", "orders-secret-0123456789", stale, &mut s),
                true
            )),
            "stale"
        );
        let future = now + 301_000;
        assert_eq!(
            reason(a.verify(
                &signed("orders", "orders-secret-0123456789", future, &mut s),
                true
            )),
            "stale"
        );
        let missing = Presented {
            access_key: "",
            client_id: "c1",
            timestamp_ms: now,
            signature: "",
        };
        assert_eq!(reason(a.verify(&missing, true)), "missing");
        // A read-only call may sign once and use it again.
        let p = signed("admin", "admin-secret-0123456789", now + 1, &mut s);
        assert_eq!(reason(a.verify(&p, false)), "ok");
        assert_eq!(reason(a.verify(&p, false)), "ok");
    }

    #[test]
    fn grants_bind_tenants_and_data_id_patterns() {
        let keys = parse(FILE).unwrap();
        let g = &keys.0["orders"].grants;
        assert!(g
            .allows(Action::Publish, "com.acme.orders.Api", "shop")
            .is_ok());
        assert!(g
            .allows(Action::Subscribe, "com.acme.pay.Api", "shop")
            .is_ok());
        let e = g
            .allows(Action::Publish, "com.acme.pay.Api", "shop")
            .unwrap_err();
        assert!(
            e.contains("may not publish dataId \"com.acme.pay.Api\""),
            "{e}"
        );
        let e = g
            .allows(Action::Subscribe, "com.acme.orders.Api", "other")
            .unwrap_err();
        assert!(e.contains("may not use instanceId \"other\""), "{e}");
        assert!(keys.0["admin"]
            .grants
            .allows(Action::Publish, "x", "y")
            .is_ok());
    }

    #[test]
    fn a_bad_keys_file_is_refused_with_where_and_never_the_secret() {
        for (text, wanted) in [
            ("[[keys]]\naccess_key = \"a\"\nsecret_key = \"s3cr3t-but-short\"\ntenants = []\n", "tenants is empty"),
            ("[[keys]]\naccess_key = \"a\"\nsecret_key = \"short\"\ntenants = [\"*\"]\n", "at least 16 bytes"),
            ("[[keys]]\naccess_key = \"a\"\nsecret_key = \"0123456789abcdef\"\ntenants = [\"*\"]\n[[keys]]\naccess_key = \"a\"\nsecret_key = \"0123456789abcdef\"\ntenants = [\"*\"]\n", "appears twice"),
            ("[[keys]]\naccess_key = \"a\"\nsecret_key = \"0123456789abcdef\"\ntenant = [\"*\"]\n", "at line"),
        ] {
            let e = parse(text).err().expect(wanted);
            assert!(e.contains(wanted), "{e:?} should say {wanted:?}");
            assert!(!e.contains("0123456789abcdef") && !e.contains("short\""), "{e}");
        }
    }
}
