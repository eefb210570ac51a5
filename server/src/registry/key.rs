//! The registry's key: a dataInfoId (dataId, group, instanceId) with its defaults applied
//! and its parts checked, shared (`Arc<str>`) by every registration of it.

use std::sync::Arc;

use roster_proto::rules::{self, Limits, RuleError};
use roster_proto::v1;

/// dataId, group and instanceId, with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub data_id: Arc<str>,
    pub group: Arc<str>,
    pub instance_id: Arc<str>,
}

impl Key {
    /// Applies the defaults and checks the parts; errors name the field.
    pub fn from_proto(key: Option<&v1::DataKey>, limits: &Limits) -> Result<Key, RuleError> {
        let empty = v1::DataKey::default();
        let k = key.unwrap_or(&empty);
        let or = |v: &str, d: &'static str| {
            if v.is_empty() {
                d.to_owned()
            } else {
                v.to_owned()
            }
        };
        let group = or(&k.group, rules::DEFAULT_GROUP);
        let instance_id = or(&k.instance_id, rules::DEFAULT_INSTANCE_ID);
        rules::check_key(&k.data_id, &group, &instance_id, limits)?;
        Ok(Key {
            data_id: k.data_id.as_str().into(),
            group: group.into(),
            instance_id: instance_id.into(),
        })
    }

    pub(super) fn to_proto(&self) -> v1::DataKey {
        v1::DataKey {
            data_id: self.data_id.to_string(),
            group: self.group.to_string(),
            instance_id: self.instance_id.to_string(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = rules::DATA_INFO_SEPARATOR;
        write!(
            f,
            "{}{sep}{}{sep}{}",
            self.data_id, self.instance_id, self.group
        )
    }
}
