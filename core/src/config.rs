//! Client configuration and its builder.

use std::path::PathBuf;
use std::time::Duration;

use roster_proto::rules;

use crate::error::{Error, Result};
use crate::model::{PublishMode, SubscribeMode};
use crate::protocol::Protocol;

pub const DEFAULT_ZONE: &str = "DEFAULT_ZONE";
pub const DEFAULT_DATA_CENTER: &str = "DefaultDataCenter";
/// The endpoint of the embedded default server (`roster-server` with no arguments).
pub const DEFAULT_ENDPOINT: &str = "127.0.0.1:9600";

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Bootstrap endpoints; their scheme names the registry: `host:port` (or
    /// `roster://host:port`) a Roster server, merged with the members it reports;
    /// `sofa://host[:port]` a SOFARegistry session server's HTTP port (default 9603), where
    /// the client finds the session servers. One client talks to one kind of registry.
    pub endpoints: Vec<String>,
    pub app_name: String,
    pub zone: String,
    pub data_center: String,
    /// The default tenant of this client's registrations.
    pub instance_id: String,
    /// How long an operation waits for the registry's acknowledgement.
    pub request_timeout: Duration,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// Shortest and longest wait between reconnect attempts (exponential, with jitter).
    pub reconnect_min_delay: Duration,
    pub reconnect_max_delay: Duration,
    /// Where the node list and the failover snapshots are kept. `None` keeps them in memory.
    pub cache_dir: Option<PathBuf>,
    /// Which level publishers go to (see [`PublishMode`]); changeable at run time.
    pub publish_mode: PublishMode,
    /// How subscribers find providers (see [`SubscribeMode`]); changeable at run time.
    pub subscribe_mode: SubscribeMode,
    /// The share of the interface-level list the application-level list must hold before
    /// a subscriber moves to `ForceApplication` (1.0: all of it).
    pub migration_threshold: f64,
    /// Ask a Roster registry for incremental pushes: after a view's first full push, only
    /// what changed (the client rebuilds the full list). Off: every push is the full list,
    /// as from a registry that does not know deltas.
    pub incremental_pushes: bool,
    /// TLS to the registry. `None`: plain text (loopback and tests).
    pub tls: Option<TlsOptions>,
    /// The access key the registry authenticates this client with (see
    /// `roster_proto::auth`). `None`: no credentials (a registry without a keys file).
    pub credentials: Option<Credentials>,
}

/// How the client verifies the registry, and the certificate it presents if asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA bundle the registry's certificate must chain to. `None`: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and its key, for a registry that requires mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The name the registry's certificate must carry. `None`: the host of the endpoint.
    pub server_name: Option<String>,
}

/// An access key and its secret key. The secret signs each session start and never
/// leaves the process; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoints: vec![DEFAULT_ENDPOINT.into()],
            app_name: "default".into(),
            zone: DEFAULT_ZONE.into(),
            data_center: DEFAULT_DATA_CENTER.into(),
            instance_id: rules::DEFAULT_INSTANCE_ID.into(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            reconnect_min_delay: Duration::from_millis(50),
            reconnect_max_delay: Duration::from_secs(3),
            cache_dir: None,
            publish_mode: PublishMode::Interface,
            subscribe_mode: SubscribeMode::ForceInterface,
            migration_threshold: 1.0,
            incremental_pushes: true,
            tls: None,
            credentials: None,
        }
    }
}

impl ClientConfig {
    /// Checks every setting; returns the protocol the endpoints name.
    pub(crate) fn check(&self) -> Result<Protocol> {
        if self.endpoints.is_empty() {
            return Err(Error::invalid(
                "endpoints must name at least one registry node",
            ));
        }
        let mut protocol: Option<Protocol> = None;
        for e in &self.endpoints {
            let (p, rest) = Protocol::split(e)?;
            if p == Protocol::Roster {
                crate::members::normalize(rest)?;
            }
            match protocol {
                Some(first) if first != p => {
                    return Err(Error::invalid(format!(
                        "endpoints mix protocols ({} and {}): one client talks to one registry",
                        first.as_str(),
                        p.as_str()
                    )))
                }
                _ => protocol = Some(p),
            }
        }
        rules::check_identifier("appName", &self.app_name, rules::MAX_ID_BYTES)?;
        rules::check_identifier("zone", &self.zone, rules::MAX_ID_BYTES)?;
        rules::check_identifier("dataCenter", &self.data_center, rules::MAX_ID_BYTES)?;
        rules::check_identifier("instanceId", &self.instance_id, rules::MAX_ID_BYTES)?;
        for (name, d) in [
            ("requestTimeout", self.request_timeout),
            ("connectTimeout", self.connect_timeout),
            ("reconnectMinDelay", self.reconnect_min_delay),
        ] {
            if d.is_zero() {
                return Err(Error::invalid(format!("{name} must be greater than zero")));
            }
        }
        if !(0.0..=1.0).contains(&self.migration_threshold) {
            return Err(Error::invalid(format!(
                "migrationThreshold must be between 0 and 1, got {}",
                self.migration_threshold
            )));
        }
        if self.reconnect_max_delay < self.reconnect_min_delay {
            return Err(Error::invalid(
                "reconnectMaxDelay must not be shorter than reconnectMinDelay",
            ));
        }
        let protocol = protocol.expect("at least one endpoint");
        if let Some(tls) = &self.tls {
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                return Err(Error::invalid(
                    "tls: certFile and keyFile go together (a client certificate needs its key)",
                ));
            }
        }
        if let Some(c) = &self.credentials {
            if c.access_key.is_empty() || c.secret_key.is_empty() {
                return Err(Error::invalid(
                    "credentials: accessKey and secretKey must both be given",
                ));
            }
        }
        if protocol != Protocol::Roster && (self.tls.is_some() || self.credentials.is_some()) {
            return Err(Error::invalid(format!(
                "tls and credentials are supported with Roster registries; this client's endpoints name a {} registry",
                protocol.as_str()
            )));
        }
        Ok(protocol)
    }
}

/// Builds a [`crate::Client`]; every setting has a default.
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    pub(crate) config: ClientConfig,
}

impl ClientBuilder {
    pub fn endpoints<I, S>(mut self, endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.endpoints = endpoints.into_iter().map(Into::into).collect();
        self
    }

    pub fn app_name(mut self, v: impl Into<String>) -> Self {
        self.config.app_name = v.into();
        self
    }

    pub fn zone(mut self, v: impl Into<String>) -> Self {
        self.config.zone = v.into();
        self
    }

    pub fn data_center(mut self, v: impl Into<String>) -> Self {
        self.config.data_center = v.into();
        self
    }

    pub fn instance_id(mut self, v: impl Into<String>) -> Self {
        self.config.instance_id = v.into();
        self
    }

    pub fn request_timeout(mut self, v: Duration) -> Self {
        self.config.request_timeout = v;
        self
    }

    pub fn connect_timeout(mut self, v: Duration) -> Self {
        self.config.connect_timeout = v;
        self
    }

    pub fn reconnect_delay(mut self, min: Duration, max: Duration) -> Self {
        self.config.reconnect_min_delay = min;
        self.config.reconnect_max_delay = max;
        self
    }

    pub fn cache_dir(mut self, v: impl Into<PathBuf>) -> Self {
        self.config.cache_dir = Some(v.into());
        self
    }

    pub fn publish_mode(mut self, v: PublishMode) -> Self {
        self.config.publish_mode = v;
        self
    }

    pub fn subscribe_mode(mut self, v: SubscribeMode) -> Self {
        self.config.subscribe_mode = v;
        self
    }

    pub fn migration_threshold(mut self, v: f64) -> Self {
        self.config.migration_threshold = v;
        self
    }

    pub fn incremental_pushes(mut self, v: bool) -> Self {
        self.config.incremental_pushes = v;
        self
    }

    pub fn tls(mut self, v: TlsOptions) -> Self {
        self.config.tls = Some(v);
        self
    }

    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.config.credentials = Some(Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        });
        self
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}
