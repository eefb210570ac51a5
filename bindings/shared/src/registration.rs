//! A publish's and a subscribe's options as every host hands them over (each field
//! optional, modes and scopes by name), and the core registration they become: written
//! once, so a default or a check cannot differ between languages.

use roster_core::{PublisherRegistration, Result, Scope, SubscribeMode, SubscriberRegistration};

/// `publish(dataId, data, options)`: group and instanceId default to the client's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PublishOptions {
    pub group: Option<String>,
    pub instance_id: Option<String>,
}

/// `subscribe(dataId, options)`: scope defaults to `zone`, mode to the client's
/// subscribe mode, group and instanceId to the client's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscribeOptions {
    pub scope: Option<Scope>,
    pub group: Option<String>,
    pub instance_id: Option<String>,
    pub mode: Option<SubscribeMode>,
}

impl SubscribeOptions {
    /// The options from names as hosts give them (`"dataCenter"`, `"force-interface"`);
    /// an unknown name is `INVALID_ARGUMENT` listing the valid ones.
    pub fn parse(
        scope: Option<&str>,
        group: Option<String>,
        instance_id: Option<String>,
        mode: Option<&str>,
    ) -> Result<SubscribeOptions> {
        Ok(SubscribeOptions {
            scope: scope.map(str::parse).transpose()?,
            group,
            instance_id,
            mode: mode.map(str::parse).transpose()?,
        })
    }
}

impl PublishOptions {
    pub fn registration(self, data_id: String, data: Vec<String>) -> PublisherRegistration {
        let mut reg = PublisherRegistration::new(data_id).data(data);
        if let Some(g) = self.group {
            reg = reg.group(g);
        }
        if let Some(i) = self.instance_id {
            reg = reg.instance_id(i);
        }
        reg
    }
}

impl SubscribeOptions {
    pub fn registration(self, data_id: String) -> SubscriberRegistration {
        let mut reg = SubscriberRegistration::new(data_id).scope(self.scope.unwrap_or_default());
        if let Some(g) = self.group {
            reg = reg.group(g);
        }
        if let Some(i) = self.instance_id {
            reg = reg.instance_id(i);
        }
        if let Some(m) = self.mode {
            reg = reg.mode(m);
        }
        reg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::ErrorKind;

    #[test]
    fn names_parse_and_unknown_ones_list_the_valid_ones() {
        let o = SubscribeOptions::parse(Some("global"), None, None, Some("force-application"));
        let o = o.unwrap();
        assert_eq!(o.scope, Some(Scope::Global));
        assert_eq!(o.mode, Some(SubscribeMode::ForceApplication));
        assert_eq!(
            SubscribeOptions::parse(None, None, None, None).unwrap(),
            SubscribeOptions::default()
        );
        let e = SubscribeOptions::parse(Some("planet"), None, None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.message().contains("\"planet\"") && e.message().contains("dataCenter"),
            "{e}"
        );
        let e = SubscribeOptions::parse(None, None, None, Some("fast")).unwrap_err();
        assert!(e.message().contains("force-interface"), "{e}");
    }
}
