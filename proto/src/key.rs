//! [`DataInfoId`]: dataId, group and instanceId, the key of every registration, for the
//! client (`String` parts, `roster_core::DataInfoId`) and the server (shared `Arc<str>`
//! parts, one copy per key, `roster_server::registry::Key`). One definition, so the
//! defaults, the checks, the wire form and the printed form are the same on both sides.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::{self, Limits, RuleError, DEFAULT_GROUP, DEFAULT_INSTANCE_ID};
use crate::v1;

/// `dataId`, `group` and `instanceId`: together the dataInfoId
/// `dataId#@#instanceId#@#group`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataInfoId<S = String> {
    pub data_id: S,
    pub group: S,
    pub instance_id: S,
}

impl DataInfoId<String> {
    /// A dataInfoId in the default group and instance.
    pub fn new(data_id: impl Into<String>) -> Self {
        Self {
            data_id: data_id.into(),
            group: DEFAULT_GROUP.into(),
            instance_id: DEFAULT_INSTANCE_ID.into(),
        }
    }
}

impl<S: AsRef<str>> DataInfoId<S> {
    /// Checks the parts against the limits; the error names the part.
    pub fn check(&self, limits: &Limits) -> Result<(), RuleError> {
        rules::check_key(
            self.data_id.as_ref(),
            self.group.as_ref(),
            self.instance_id.as_ref(),
            limits,
        )
    }

    pub fn to_proto(&self) -> v1::DataKey {
        v1::DataKey {
            data_id: self.data_id.as_ref().to_owned(),
            group: self.group.as_ref().to_owned(),
            instance_id: self.instance_id.as_ref().to_owned(),
        }
    }
}

impl<S: AsRef<str> + for<'a> From<&'a str>> DataInfoId<S> {
    /// From the wire: an empty group or instanceId is the default one; then checked.
    pub fn from_proto(key: Option<&v1::DataKey>, limits: &Limits) -> Result<Self, RuleError> {
        let empty = v1::DataKey::default();
        let k = key.unwrap_or(&empty);
        let or = |v: &'_ str, default: &'static str| -> S {
            if v.is_empty() {
                default.into()
            } else {
                v.into()
            }
        };
        let id = DataInfoId {
            data_id: S::from(k.data_id.as_str()),
            group: or(&k.group, DEFAULT_GROUP),
            instance_id: or(&k.instance_id, DEFAULT_INSTANCE_ID),
        };
        id.check(limits)?;
        Ok(id)
    }

    /// The printed form `dataId#@#instanceId#@#group` back into its parts (unchecked);
    /// `None` when it does not have three.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(rules::DATA_INFO_SEPARATOR);
        let (data_id, instance_id, group) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(DataInfoId {
            data_id: data_id.into(),
            group: group.into(),
            instance_id: instance_id.into(),
        })
    }
}

impl<S: AsRef<str>> fmt::Display for DataInfoId<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = rules::DATA_INFO_SEPARATOR;
        write!(
            f,
            "{}{sep}{}{sep}{}",
            self.data_id.as_ref(),
            self.instance_id.as_ref(),
            self.group.as_ref()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn wire(data_id: &str, group: &str, instance_id: &str) -> v1::DataKey {
        v1::DataKey {
            data_id: data_id.into(),
            group: group.into(),
            instance_id: instance_id.into(),
        }
    }

    #[test]
    fn from_the_wire_defaults_checks_and_prints_alike_on_both_sides() {
        let limits = Limits::default();
        // (wire key, printed form, or the part the error names)
        let long = "x".repeat(limits.max_data_id_bytes + 1);
        let cases: Vec<(v1::DataKey, Result<&str, &str>)> = vec![
            (
                wire("svc", "", ""),
                Ok("svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"),
            ),
            (wire("svc", "G", "I"), Ok("svc#@#I#@#G")),
            (wire("", "G", "I"), Err("dataId")),
            (wire(&long, "", ""), Err("dataId")),
            (wire("svc", &long, ""), Err("group")),
            (wire("svc", "", &long), Err("instanceId")),
        ];
        for (key, want) in cases {
            let client = DataInfoId::<String>::from_proto(Some(&key), &limits);
            let server = DataInfoId::<Arc<str>>::from_proto(Some(&key), &limits);
            match want {
                Ok(printed) => {
                    let (client, server) = (client.unwrap(), server.unwrap());
                    assert_eq!(client.to_string(), printed);
                    assert_eq!(server.to_string(), printed);
                    assert_eq!(client.to_proto(), server.to_proto());
                }
                Err(part) => {
                    let (c, s) = (
                        client.unwrap_err().to_string(),
                        server.unwrap_err().to_string(),
                    );
                    assert!(c.contains(part), "{key:?}: {c}");
                    assert_eq!(c, s);
                }
            }
        }
        assert_eq!(
            DataInfoId::new("svc").to_proto(),
            wire("svc", DEFAULT_GROUP, DEFAULT_INSTANCE_ID)
        );
    }
}
