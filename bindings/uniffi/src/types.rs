//! Records and enums, and their conversions to and from the core's.

use std::collections::HashMap;

use roster_bindings::options::{self, OptionError, Value};
use roster_bindings::registration;
use roster_core::ClientBuilder;

use crate::error::{Result, RosterError};

/// Which publishers a subscriber sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Scope {
    /// Only publishers in the client's zone.
    Zone,
    /// Publishers of every zone in the client's data center.
    DataCenter,
    /// Publishers of every zone.
    Global,
}

impl From<Scope> for roster_core::Scope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Zone => roster_core::Scope::Zone,
            Scope::DataCenter => roster_core::Scope::DataCenter,
            Scope::Global => roster_core::Scope::Global,
        }
    }
}

impl From<roster_core::Scope> for Scope {
    fn from(s: roster_core::Scope) -> Self {
        match s {
            roster_core::Scope::Zone => Scope::Zone,
            roster_core::Scope::DataCenter => Scope::DataCenter,
            roster_core::Scope::Global => Scope::Global,
        }
    }
}

/// Which level a client publishes at (the migration to application-level discovery).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PublishMode {
    Interface,
    Application,
    All,
}

impl From<PublishMode> for roster_core::PublishMode {
    fn from(m: PublishMode) -> Self {
        match m {
            PublishMode::Interface => roster_core::PublishMode::Interface,
            PublishMode::Application => roster_core::PublishMode::Application,
            PublishMode::All => roster_core::PublishMode::All,
        }
    }
}

impl From<roster_core::PublishMode> for PublishMode {
    fn from(m: roster_core::PublishMode) -> Self {
        match m {
            roster_core::PublishMode::Interface => PublishMode::Interface,
            roster_core::PublishMode::Application => PublishMode::Application,
            roster_core::PublishMode::All => PublishMode::All,
        }
    }
}

/// How a subscriber finds providers (a consumer's migration step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SubscribeMode {
    ForceInterface,
    ApplicationFirst,
    ForceApplication,
}

impl From<SubscribeMode> for roster_core::SubscribeMode {
    fn from(m: SubscribeMode) -> Self {
        match m {
            SubscribeMode::ForceInterface => roster_core::SubscribeMode::ForceInterface,
            SubscribeMode::ApplicationFirst => roster_core::SubscribeMode::ApplicationFirst,
            SubscribeMode::ForceApplication => roster_core::SubscribeMode::ForceApplication,
        }
    }
}

impl From<roster_core::SubscribeMode> for SubscribeMode {
    fn from(m: roster_core::SubscribeMode) -> Self {
        match m {
            roster_core::SubscribeMode::ForceInterface => SubscribeMode::ForceInterface,
            roster_core::SubscribeMode::ApplicationFirst => SubscribeMode::ApplicationFirst,
            roster_core::SubscribeMode::ForceApplication => SubscribeMode::ForceApplication,
        }
    }
}

/// Where a subscription's migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MigrationStatus {
    ForceInterface,
    ApplicationFirst,
    /// Asked for force-application, still merging both levels until the threshold.
    Pending {
        application: u64,
        interface: u64,
    },
    ForceApplication,
}

impl From<roster_core::MigrationStatus> for MigrationStatus {
    fn from(s: roster_core::MigrationStatus) -> Self {
        match s {
            roster_core::MigrationStatus::ForceInterface => MigrationStatus::ForceInterface,
            roster_core::MigrationStatus::ApplicationFirst => MigrationStatus::ApplicationFirst,
            roster_core::MigrationStatus::Pending {
                application,
                interface,
            } => MigrationStatus::Pending {
                application: application as u64,
                interface: interface as u64,
            },
            roster_core::MigrationStatus::ForceApplication => MigrationStatus::ForceApplication,
        }
    }
}

/// A client's settings; `endpoints` is required, the rest default as in every Roster
/// language. No `Debug`: it holds the secret key.
#[derive(Clone, Default, uniffi::Record)]
pub struct ClientOptions {
    /// `host:port` of Roster servers, or `sofa://host[:port]` of a SOFARegistry.
    pub endpoints: Vec<String>,
    #[uniffi(default)]
    pub app_name: Option<String>,
    #[uniffi(default)]
    pub zone: Option<String>,
    #[uniffi(default)]
    pub data_center: Option<String>,
    /// The default tenant of this client's registrations.
    #[uniffi(default)]
    pub instance_id: Option<String>,
    #[uniffi(default)]
    pub publish_mode: Option<PublishMode>,
    #[uniffi(default)]
    pub subscribe_mode: Option<SubscribeMode>,
    #[uniffi(default)]
    pub migration_threshold: Option<f64>,
    /// Where the node list and the failover snapshots are kept.
    #[uniffi(default)]
    pub cache_dir: Option<String>,
    #[uniffi(default)]
    pub request_timeout_ms: Option<u64>,
    #[uniffi(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Speak TLS to the registry (implied by the other `tls_` options); without
    /// `tls_ca_file` the system's roots are trusted.
    #[uniffi(default)]
    pub tls: Option<bool>,
    /// PEM CA bundle the registry's certificate must chain to.
    #[uniffi(default)]
    pub tls_ca_file: Option<String>,
    /// PEM client certificate and key, for a registry that requires mutual TLS.
    #[uniffi(default)]
    pub tls_cert_file: Option<String>,
    #[uniffi(default)]
    pub tls_key_file: Option<String>,
    /// The name the registry's certificate must carry (default: the endpoint's host).
    #[uniffi(default)]
    pub tls_server_name: Option<String>,
    /// The access key the registry authenticates this client with, and its secret key
    /// (it signs each session start and is never sent).
    #[uniffi(default)]
    pub access_key: Option<String>,
    #[uniffi(default)]
    pub secret_key: Option<String>,
}

impl ClientOptions {
    /// The core's builder, through the options map every binding uses.
    pub(crate) fn builder(self) -> Result<ClientBuilder> {
        let text = |name: &'static str, v: Option<String>| v.map(|s| (name, Value::Str(s)));
        let num = |name: &'static str, v: Option<f64>| v.map(|n| (name, Value::Num(n)));
        let map = [
            Some(("endpoints", Value::List(self.endpoints))),
            text("appName", self.app_name),
            text("zone", self.zone),
            text("dataCenter", self.data_center),
            text("instanceId", self.instance_id),
            text(
                "publishMode",
                self.publish_mode
                    .map(|m| roster_core::PublishMode::from(m).as_str().to_owned()),
            ),
            text(
                "subscribeMode",
                self.subscribe_mode
                    .map(|m| roster_core::SubscribeMode::from(m).as_str().to_owned()),
            ),
            num("migrationThreshold", self.migration_threshold),
            text("cacheDir", self.cache_dir),
            num(
                "requestTimeoutMs",
                self.request_timeout_ms.map(|v| v as f64),
            ),
            num(
                "connectTimeoutMs",
                self.connect_timeout_ms.map(|v| v as f64),
            ),
            self.tls.map(|v| ("tls", Value::Bool(v))),
            text("tlsCaFile", self.tls_ca_file),
            text("tlsCertFile", self.tls_cert_file),
            text("tlsKeyFile", self.tls_key_file),
            text("tlsServerName", self.tls_server_name),
            text("accessKey", self.access_key),
            text("secretKey", self.secret_key),
        ];
        options::builder(map.into_iter().flatten()).map_err(|e| match e {
            OptionError::Type(m) => RosterError::InvalidArgument(format!("INVALID_ARGUMENT: {m}")),
            OptionError::Invalid(e) => e.into(),
        })
    }
}

/// Where a publisher goes besides its dataId.
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct PublishOptions {
    #[uniffi(default)]
    pub group: Option<String>,
    #[uniffi(default)]
    pub instance_id: Option<String>,
}

/// What a subscriber sees and how it finds providers.
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct SubscribeOptions {
    /// Default: `Zone`.
    #[uniffi(default)]
    pub scope: Option<Scope>,
    #[uniffi(default)]
    pub group: Option<String>,
    #[uniffi(default)]
    pub instance_id: Option<String>,
    /// Its own subscribe mode (default: the client's).
    #[uniffi(default)]
    pub mode: Option<SubscribeMode>,
}

impl From<PublishOptions> for registration::PublishOptions {
    fn from(o: PublishOptions) -> Self {
        registration::PublishOptions {
            group: o.group,
            instance_id: o.instance_id,
        }
    }
}

impl From<SubscribeOptions> for registration::SubscribeOptions {
    fn from(o: SubscribeOptions) -> Self {
        registration::SubscribeOptions {
            scope: o.scope.map(Into::into),
            group: o.group,
            instance_id: o.instance_id,
            mode: o.mode.map(Into::into),
        }
    }
}

/// What a publisher holds now (`Publisher::current`).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PublisherState {
    pub version: u64,
    pub data: Vec<String>,
}

/// One version of a subscription's data: zone name to items.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SubscriberData {
    /// `dataId#@#instanceId#@#group`.
    pub data_info_id: String,
    pub data_id: String,
    /// Grows with every change; a subscriber never goes back to an older one.
    pub version: u64,
    pub scope: Scope,
    pub zones: HashMap<String, Vec<String>>,
    /// True while this is the failover snapshot from the cache directory.
    pub from_cache: bool,
    /// Items not in the previous data this subscriber's listener or flow was given (every
    /// item for the first data; an address published twice counts twice).
    pub added: Vec<String>,
    /// Items of that previous data that are gone.
    pub removed: Vec<String>,
}

impl From<&roster_core::SubscriberData> for SubscriberData {
    fn from(d: &roster_core::SubscriberData) -> Self {
        SubscriberData {
            data_info_id: d.data_info_id.to_string(),
            data_id: d.data_info_id.data_id.clone(),
            version: d.version,
            scope: d.scope.into(),
            zones: d.zones_owned().into_iter().collect(),
            from_cache: d.from_cache,
            added: d.added().map(str::to_owned).collect(),
            removed: d.removed().to_vec(),
        }
    }
}

/// What a test server holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ServerCounts {
    pub sessions: u64,
    pub publishers: u64,
    pub subscribers: u64,
}
