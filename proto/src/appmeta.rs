//! Application-level service discovery: the revision metadata, its canonical form and
//! revision hash, and the two conversions between interface-level entries (one URL per
//! service) and application-level ones (one entry per instance address plus the shared
//! metadata). Pure functions, shared by the client core and the reference server so both
//! convert exactly alike; the revision is computed in Rust only, so it is identical for
//! every language binding.
//!
//! # Parameter rules
//!
//! An instance publishes service URLs `protocol://host:port[/path]?k=v&...`. Converting the
//! instance to application level splits each URL's parameters three ways:
//!
//! 1. **instance params**: keys listed in [`INSTANCE_KEYS`] (per-instance values such as
//!    `weight`) that have the same value in every URL of the instance. They travel in the
//!    application publisher's data, so instances that differ only in them share a revision.
//! 2. **base params**: other keys with the same value in every URL of the instance.
//! 3. **service params**: the rest, per service.
//!
//! Each service records the protocol and port it is served on; converting back gives an
//! instance address the services of its revision with that protocol and port.
//!
//! Converting back merges them with **instance > service > base** precedence (the most
//! specific wins) and rebuilds the URL with its query sorted by key and percent-escaped
//! (`application/x-www-form-urlencoded`), the same canonical form [`ServiceUrl`] prints for
//! interface-level data, so the two levels compare equal entry for entry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The group of application publishers (dataId = the application name).
pub const APP_GROUP: &str = "SOFA_APP";
/// The group of the registry-maintained dataInfoIds that list, for an interface dataInfoId
/// (used as the dataId), the applications providing it.
pub const MAPPING_GROUP: &str = "ROSTER_INTERFACE_APPS";
/// The parameter of an application publisher's item that names its revision.
pub const REVISION_PARAM: &str = "roster.revision";
/// Parameters that belong to an instance rather than to its services' shared metadata.
pub const INSTANCE_KEYS: &[&str] = &["weight", "timestamp", "pid", "startTime", "warmup", "host"];

/// Why a string is not a service URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

/// `protocol://host:port[/path]?params`, with the parameters sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceUrl {
    pub protocol: String,
    /// `host:port` (or `[v6]:port`).
    pub authority: String,
    /// Empty, or starting with `/`.
    pub path: String,
    pub params: BTreeMap<String, String>,
}

impl ServiceUrl {
    pub fn parse(s: &str) -> Result<ServiceUrl, UrlError> {
        let bad = |why: &str| {
            UrlError(format!(
                "{s:?} is not a service URL (protocol://host:port?params): {why}"
            ))
        };
        let (protocol, rest) = s.split_once("://").ok_or_else(|| bad("no \"://\""))?;
        if protocol.is_empty()
            || !protocol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(bad("bad protocol"));
        }
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match before_query.find('/') {
            Some(i) => before_query.split_at(i),
            None => (before_query, ""),
        };
        let port_ok = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(bad("no host:port"));
        }
        let params = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Ok(ServiceUrl {
            protocol: protocol.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            params,
        })
    }

    /// The port of the authority.
    pub fn port(&self) -> u16 {
        self.authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("checked by parse")
    }

    /// `protocol://host:port`: what de-duplicates entries across the two levels.
    pub fn address(&self) -> String {
        format!("{}://{}", self.protocol, self.authority)
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.protocol, self.authority, self.path)?;
        if !self.params.is_empty() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.params)
                .finish();
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// What de-duplicates an item across the two levels: `protocol://host:port` for a service
/// URL, the item itself otherwise.
pub fn address_of(item: &str) -> String {
    ServiceUrl::parse(item).map_or_else(|_| item.to_owned(), |u| u.address())
}

/// The group of the registry-maintained dataInfoId that lists the applications providing
/// an interface of `group` (same dataId and instanceId as the interface).
pub fn mapping_group(group: &str) -> String {
    format!("{MAPPING_GROUP}/{group}")
}

/// The interface group a mapping group stands for; `None` for any other group.
pub fn mapped_group(group: &str) -> Option<&str> {
    group.strip_prefix(MAPPING_GROUP)?.strip_prefix('/')
}

/// One way an application serves one interface.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub protocol: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    pub params: BTreeMap<String, String>,
}

/// The revision metadata of an application: what its instances of one revision serve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppMetadata {
    pub application: String,
    pub revision: String,
    pub base_params: BTreeMap<String, String>,
    /// Interface dataInfoId to the ways it is served (sorted).
    pub services: BTreeMap<String, Vec<ServiceInfo>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Canonical<'a> {
    application: &'a str,
    base_params: &'a BTreeMap<String, String>,
    services: &'a BTreeMap<String, Vec<ServiceInfo>>,
}

impl AppMetadata {
    /// Builds the metadata and computes its revision.
    pub fn new(
        application: &str,
        base_params: BTreeMap<String, String>,
        mut services: BTreeMap<String, Vec<ServiceInfo>>,
    ) -> AppMetadata {
        services.values_mut().for_each(|v| {
            v.sort();
            v.dedup();
        });
        let mut m = AppMetadata {
            application: application.to_owned(),
            revision: String::new(),
            base_params,
            services,
        };
        m.revision = m.compute_revision();
        m
    }

    /// The canonical form: JSON of everything but the revision, keys sorted, no spaces.
    pub fn canonical(&self) -> String {
        serde_json::to_string(&Canonical {
            application: &self.application,
            base_params: &self.base_params,
            services: &self.services,
        })
        .expect("maps of strings always serialize")
    }

    /// The first 128 bits of the SHA-256 of the canonical form, in hex.
    pub fn compute_revision(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when `revision` is the hash of the rest (a server checks what it stores).
    pub fn is_consistent(&self) -> bool {
        self.revision == self.compute_revision()
    }

    /// The interface entries one instance item of this revision stands for, for
    /// `interface` (a dataInfoId). Empty when this revision does not serve it over the
    /// item's protocol.
    pub fn entries_for(&self, interface: &str, instance: &ServiceUrl) -> Vec<String> {
        let Some(infos) = self.services.get(interface) else {
            return Vec::new();
        };
        infos
            .iter()
            .filter(|s| s.protocol == instance.protocol && s.port == instance.port())
            .map(|s| {
                let mut params = self.base_params.clone();
                params.extend(s.params.iter().map(|(k, v)| (k.clone(), v.clone())));
                params.extend(
                    instance
                        .params
                        .iter()
                        .filter(|(k, _)| *k != REVISION_PARAM)
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                ServiceUrl {
                    protocol: instance.protocol.clone(),
                    authority: instance.authority.clone(),
                    path: s.path.clone(),
                    params,
                }
                .to_string()
            })
            .collect()
    }
}

impl From<&AppMetadata> for crate::v1::AppRevision {
    fn from(m: &AppMetadata) -> Self {
        let services = m
            .services
            .iter()
            .map(|(interface, infos)| {
                let infos = infos
                    .iter()
                    .map(|s| crate::v1::ServiceInfo {
                        protocol: s.protocol.clone(),
                        port: s.port.into(),
                        path: s.path.clone(),
                        params: s.params.clone().into_iter().collect(),
                    })
                    .collect();
                (interface.clone(), crate::v1::ServiceInfos { infos })
            })
            .collect();
        Self {
            application: m.application.clone(),
            revision: m.revision.clone(),
            base_params: m.base_params.clone().into_iter().collect(),
            services,
        }
    }
}

impl From<&crate::v1::AppRevision> for AppMetadata {
    /// Keeps the revision as sent; check it with [`AppMetadata::is_consistent`].
    fn from(r: &crate::v1::AppRevision) -> Self {
        let services = r
            .services
            .iter()
            .map(|(interface, infos)| {
                let mut infos: Vec<ServiceInfo> = infos
                    .infos
                    .iter()
                    .map(|s| ServiceInfo {
                        protocol: s.protocol.clone(),
                        port: u16::try_from(s.port).unwrap_or(0),
                        path: s.path.clone(),
                        params: s.params.clone().into_iter().collect(),
                    })
                    .collect();
                infos.sort();
                (interface.clone(), infos)
            })
            .collect();
        AppMetadata {
            application: r.application.clone(),
            revision: r.revision.clone(),
            base_params: r.base_params.clone().into_iter().collect(),
            services,
        }
    }
}

/// An instance converted to application level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub metadata: AppMetadata,
    /// The application publisher's data: one item per address, carrying the revision and
    /// the instance params.
    pub items: Vec<String>,
}

/// Converts the interface publishers of one application instance (`(interface dataInfoId,
/// URL)` pairs; every item must be a service URL) into its revision metadata and the data
/// of its one application publisher. `None` when there is nothing to convert.
pub fn instance_from_services(
    application: &str,
    services: &[(String, ServiceUrl)],
) -> Option<Instance> {
    let first = &services.first()?.1;
    // Keys with one value across every URL of the instance.
    let common: BTreeMap<String, String> = first
        .params
        .iter()
        .filter(|(k, v)| services.iter().all(|(_, u)| u.params.get(*k) == Some(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (instance_params, base_params): (BTreeMap<_, _>, BTreeMap<_, _>) = common
        .into_iter()
        .partition(|(k, _)| INSTANCE_KEYS.contains(&k.as_str()));
    let mut infos: BTreeMap<String, Vec<ServiceInfo>> = BTreeMap::new();
    let mut addresses: BTreeMap<String, ServiceUrl> = BTreeMap::new();
    for (interface, url) in services {
        let params = url
            .params
            .iter()
            .filter(|(k, _)| !instance_params.contains_key(*k) && !base_params.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        infos
            .entry(interface.clone())
            .or_default()
            .push(ServiceInfo {
                protocol: url.protocol.clone(),
                port: url.port(),
                path: url.path.clone(),
                params,
            });
        addresses
            .entry(url.address())
            .or_insert_with(|| ServiceUrl {
                params: BTreeMap::new(),
                path: String::new(),
                ..url.clone()
            });
    }
    let metadata = AppMetadata::new(application, base_params, infos);
    let items = addresses
        .into_values()
        .map(|mut a| {
            a.params = instance_params.clone();
            a.params
                .insert(REVISION_PARAM.to_owned(), metadata.revision.clone());
            a.to_string()
        })
        .collect();
    Some(Instance { metadata, items })
}

/// The revision an application publisher's item refers to.
pub fn item_revision(item: &ServiceUrl) -> Option<&str> {
    item.params.get(REVISION_PARAM).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(pairs: &[(&str, &str)]) -> Vec<(String, ServiceUrl)> {
        pairs
            .iter()
            .map(|(i, u)| (i.to_string(), ServiceUrl::parse(u).unwrap()))
            .collect()
    }

    #[test]
    fn urls_parse_and_print_canonically() {
        let u = ServiceUrl::parse("bolt://10.0.0.1:12200/svc?b=2&a=x%20y&a2=").unwrap();
        assert_eq!(u.address(), "bolt://10.0.0.1:12200");
        assert_eq!(u.path, "/svc");
        assert_eq!(u.to_string(), "bolt://10.0.0.1:12200/svc?a=x+y&a2=&b=2");
        assert_eq!(
            ServiceUrl::parse("dubbo://[::1]:20880?z=1&y=2")
                .unwrap()
                .to_string(),
            "dubbo://[::1]:20880?y=2&z=1"
        );
        assert_eq!(
            address_of("dubbo://[::1]:20880/p?z=1"),
            "dubbo://[::1]:20880"
        );
        assert_eq!(address_of("not a url"), "not a url");
        assert_eq!(mapping_group("G"), format!("{MAPPING_GROUP}/G"));
        assert_eq!(mapped_group(&mapping_group("G")), Some("G"));
        assert_eq!(mapped_group("G"), None);
        assert!(ServiceUrl::parse("bolt://host")
            .unwrap_err()
            .to_string()
            .contains("no host:port"));
    }

    #[test]
    fn revision_is_order_independent_and_change_sensitive() {
        let a = urls(&[
            (
                "A#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP",
                "bolt://h1:1?timeout=3000&weight=100&x=1",
            ),
            (
                "B#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP",
                "bolt://h1:1?timeout=3000&weight=100&x=2",
            ),
        ]);
        let mut b = a.clone();
        b.reverse();
        let ia = instance_from_services("app", &a).unwrap();
        let ib = instance_from_services("app", &b).unwrap();
        assert_eq!(ia.metadata.revision, ib.metadata.revision);
        assert_eq!(ia.metadata.revision.len(), 32);
        assert!(ia.metadata.is_consistent());
        // Another host with another weight: same revision (weight is an instance param).
        let other_host = urls(&[
            (
                "A#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP",
                "bolt://h2:1?timeout=3000&weight=50&x=1",
            ),
            (
                "B#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP",
                "bolt://h2:1?timeout=3000&weight=50&x=2",
            ),
        ]);
        let ih = instance_from_services("app", &other_host).unwrap();
        assert_eq!(ih.metadata.revision, ia.metadata.revision);
        assert_eq!(
            ih.items,
            [format!(
                "bolt://h2:1?{REVISION_PARAM}={}&weight=50",
                ia.metadata.revision
            )]
        );
        // Any change of a service param, a service or the application: a new revision.
        let mut changed = a.clone();
        changed[1].1.params.insert("x".into(), "3".into());
        assert_ne!(
            instance_from_services("app", &changed)
                .unwrap()
                .metadata
                .revision,
            ia.metadata.revision
        );
        assert_ne!(
            instance_from_services("app", &a[..1])
                .unwrap()
                .metadata
                .revision,
            ia.metadata.revision
        );
        assert_ne!(
            instance_from_services("app2", &a)
                .unwrap()
                .metadata
                .revision,
            ia.metadata.revision
        );
        assert_eq!(
            ia.metadata.base_params,
            [("timeout".to_owned(), "3000".to_owned())].into()
        );
    }

    #[test]
    fn converting_back_gives_the_interface_entries() {
        let services = urls(&[
            ("A", "bolt://10.0.0.1:12200?timeout=3000&weight=100&x=1"),
            ("B", "bolt://10.0.0.1:12200/b?timeout=3000&weight=100&x=2"),
            ("C", "dubbo://10.0.0.1:20880?timeout=3000&weight=100"),
            ("D", "bolt://10.0.0.1:12201?timeout=3000&weight=100"),
        ]);
        let inst = instance_from_services("app", &services).unwrap();
        assert_eq!(
            inst.items.len(),
            3,
            "one item per address: {:?}",
            inst.items
        );
        for (interface, url) in &services {
            let entries: Vec<String> = inst
                .items
                .iter()
                .flat_map(|i| {
                    inst.metadata
                        .entries_for(interface, &ServiceUrl::parse(i).unwrap())
                })
                .collect();
            assert_eq!(entries, [url.to_string()], "{interface}");
        }
        assert!(inst
            .metadata
            .entries_for("D", &ServiceUrl::parse(&inst.items[0]).unwrap())
            .is_empty());
    }

    #[test]
    fn metadata_survives_the_wire() {
        let inst = instance_from_services(
            "app",
            &urls(&[("A", "bolt://h:1?x=1&weight=3"), ("B", "dubbo://h:2/p?x=1")]),
        )
        .unwrap();
        let wire = crate::v1::AppRevision::from(&inst.metadata);
        let back = AppMetadata::from(&wire);
        assert_eq!(back, inst.metadata);
        assert!(back.is_consistent());
    }

    #[test]
    fn instance_params_win_over_service_and_base_params() {
        let mut m = AppMetadata::new(
            "app",
            [
                ("timeout".into(), "1".into()),
                ("weight".into(), "1".into()),
            ]
            .into(),
            [(
                "A".into(),
                vec![ServiceInfo {
                    protocol: "bolt".into(),
                    port: 1,
                    path: String::new(),
                    params: [("timeout".into(), "2".into())].into(),
                }],
            )]
            .into(),
        );
        m.revision = m.compute_revision();
        let item = ServiceUrl::parse(&format!(
            "bolt://h:1?{REVISION_PARAM}={}&weight=9",
            m.revision
        ))
        .unwrap();
        assert_eq!(m.entries_for("A", &item), ["bolt://h:1?timeout=2&weight=9"]);
    }
}
