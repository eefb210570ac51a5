//! A client from a map of option names to values: the one constructor every binding calls
//! (as OpenDAL's bindings all pass `(scheme, map)`). Names are camelCase as in the JS and
//! Java APIs; snake_case spellings are accepted too (`app_name`). Durations are milliseconds
//! (`requestTimeoutMs`).

use std::collections::BTreeMap;
use std::time::Duration;

use roster_core::{ClientBuilder, Credentials, Error, ErrorKind, TlsOptions};

/// An option's value as a host hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    List(Vec<String>),
    Num(f64),
    Bool(bool),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::List(_) => "a list of strings",
            Value::Num(_) => "a number",
            Value::Bool(_) => "a boolean",
        }
    }
}

/// Why options were refused: a value of the wrong type (hosts raise their type error), or a
/// value the core refuses (`INVALID_ARGUMENT`, naming it).
#[derive(Debug)]
pub enum OptionError {
    Type(String),
    Invalid(Error),
}

impl From<Error> for OptionError {
    fn from(e: Error) -> Self {
        OptionError::Invalid(e)
    }
}

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionError::Type(m) => f.write_str(m),
            OptionError::Invalid(e) => e.fmt(f),
        }
    }
}

/// Every option, with what it takes.
pub const OPTIONS: &[(&str, &str)] = &[
    ("endpoints", "registry endpoints: host:port (Roster) or sofa://host[:port] (SOFARegistry); a string or a list"),
    ("appName", "this application's name"),
    ("zone", "this client's zone"),
    ("dataCenter", "this client's data center"),
    ("instanceId", "the default tenant of its registrations"),
    ("publishMode", "interface, application or all"),
    ("subscribeMode", "force-interface, application-first or force-application"),
    ("migrationThreshold", "share of the interface level before force-application (0..1)"),
    ("cacheDir", "where the node list and failover snapshots are kept"),
    ("requestTimeoutMs", "how long an operation waits for the registry (ms)"),
    ("connectTimeoutMs", "how long one connection attempt may take (ms)"),
    ("reconnectMinDelayMs", "shortest wait between reconnects (ms)"),
    ("reconnectMaxDelayMs", "longest wait between reconnects (ms)"),
    ("tls", "speak TLS to the registry (implied by any tls... option); without tlsCaFile the system's roots are trusted"),
    ("tlsCaFile", "PEM CA bundle the registry's certificate must chain to"),
    ("tlsCertFile", "PEM client certificate, for a registry that requires mutual TLS (with tlsKeyFile)"),
    ("tlsKeyFile", "PEM private key of tlsCertFile"),
    ("tlsServerName", "the name the registry's certificate must carry (default: the endpoint's host)"),
    ("accessKey", "the access key the registry authenticates this client with (with secretKey)"),
    ("secretKey", "the secret key of accessKey; it signs each session start and is never sent"),
];

/// `app_name`, `appName` and `APPNAME` are one option.
fn canonical(name: &str) -> Option<&'static str> {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    OPTIONS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.to_ascii_lowercase() == folded)
}

/// The canonical name of option `name`, or `INVALID_ARGUMENT` listing the options.
fn known(name: &str) -> Result<&'static str, Error> {
    canonical(name).ok_or_else(|| {
        let all: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "unknown option {name:?}; the options are {}",
                all.join(", ")
            ),
        )
    })
}

/// An option given as text (C's `roster_options_set`): `endpoints` is a comma-separated
/// list, the `...Ms` options and `migrationThreshold` are numbers, `tls` is true or false,
/// the rest strings. An
/// unknown name or a number that does not parse is `INVALID_ARGUMENT`, naming it.
pub fn from_text(name: &str, text: &str) -> Result<(&'static str, Value), Error> {
    let key = known(name)?;
    let value = if key == "endpoints" {
        Value::List(
            text.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    } else if key == "tls" {
        Value::Bool(match text.trim() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("tls must be true or false, got {other:?}"),
                ))
            }
        })
    } else if key.ends_with("Ms") || key == "migrationThreshold" {
        Value::Num(text.trim().parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("{key} must be a number, got {text:?}"),
            )
        })?)
    } else {
        Value::Str(text.to_owned())
    };
    Ok((key, value))
}

/// Credentials being gathered from `accessKey` and `secretKey` (the core refuses one
/// without the other).
fn no_credentials() -> Credentials {
    Credentials {
        access_key: String::new(),
        secret_key: String::new(),
    }
}

/// The builder for `options` (absent options keep the core's defaults).
pub fn builder<I, K>(options: I) -> Result<ClientBuilder, OptionError>
where
    I: IntoIterator<Item = (K, Value)>,
    K: AsRef<str>,
{
    let mut by_name: BTreeMap<&'static str, Value> = BTreeMap::new();
    for (name, value) in options {
        by_name.insert(known(name.as_ref())?, value);
    }
    let mut b = roster_core::Client::builder();
    // TLS and credentials are gathered from several options, then set once.
    let mut tls: Option<TlsOptions> = None;
    let mut credentials: Option<Credentials> = None;
    for (key, value) in by_name {
        let wrong =
            |want: &str| OptionError::Type(format!("{key} must be {want}, not {}", value.kind()));
        let text = || match &value {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(wrong("a string")),
        };
        let number = || match &value {
            Value::Num(n) => Ok(*n),
            _ => Err(wrong("a number")),
        };
        let millis =
            || -> Result<Duration, OptionError> { Ok(crate::blocking::millis(key, number()?)?) };
        b = match key {
            "endpoints" => match &value {
                Value::Str(s) => b.endpoints([s.clone()]),
                Value::List(l) => b.endpoints(l.clone()),
                _ => return Err(wrong("a string or a list of strings")),
            },
            "appName" => b.app_name(text()?),
            "zone" => b.zone(text()?),
            "dataCenter" => b.data_center(text()?),
            "instanceId" => b.instance_id(text()?),
            "publishMode" => b.publish_mode(text()?.parse()?),
            "subscribeMode" => b.subscribe_mode(text()?.parse()?),
            "migrationThreshold" => b.migration_threshold(number()?),
            "cacheDir" => b.cache_dir(text()?),
            "requestTimeoutMs" => b.request_timeout(millis()?),
            "connectTimeoutMs" => b.connect_timeout(millis()?),
            "reconnectMinDelayMs" => {
                let max = b.config().reconnect_max_delay;
                let min = millis()?;
                b.reconnect_delay(min, max.max(min))
            }
            "reconnectMaxDelayMs" => {
                let min = b.config().reconnect_min_delay;
                b.reconnect_delay(min, millis()?)
            }
            "tls" => {
                match value {
                    Value::Bool(true) => {
                        tls.get_or_insert_with(TlsOptions::default);
                    }
                    Value::Bool(false) => {}
                    _ => return Err(wrong("a boolean")),
                }
                b
            }
            "tlsCaFile" => {
                tls.get_or_insert_with(TlsOptions::default).ca_file = Some(text()?.into());
                b
            }
            "tlsCertFile" => {
                tls.get_or_insert_with(TlsOptions::default).cert_file = Some(text()?.into());
                b
            }
            "tlsKeyFile" => {
                tls.get_or_insert_with(TlsOptions::default).key_file = Some(text()?.into());
                b
            }
            "tlsServerName" => {
                tls.get_or_insert_with(TlsOptions::default).server_name = Some(text()?);
                b
            }
            "accessKey" => {
                credentials.get_or_insert_with(no_credentials).access_key = text()?;
                b
            }
            "secretKey" => {
                credentials.get_or_insert_with(no_credentials).secret_key = text()?;
                b
            }
            _ => unreachable!("every canonical option is handled"),
        };
    }
    if let Some(tls) = tls {
        b = b.tls(tls);
    }
    if let Some(c) = credentials {
        b = b.credentials(c.access_key, c.secret_key);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[(&str, Value)]) -> Result<ClientBuilder, OptionError> {
        builder(list.iter().cloned())
    }

    #[test]
    fn options_reach_the_builder_in_either_spelling() {
        let b = opts(&[
            ("endpoints", Value::List(vec!["127.0.0.1:1".into()])),
            ("app_name", Value::Str("shop".into())),
            ("requestTimeoutMs", Value::Num(1500.0)),
            ("publishMode", Value::Str("all".into())),
        ])
        .unwrap();
        let c = b.config();
        assert_eq!(c.endpoints, ["127.0.0.1:1"]);
        assert_eq!(c.app_name, "shop");
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.publish_mode.as_str(), "all");
    }

    #[test]
    fn options_as_text_take_their_option_s_type() {
        assert_eq!(
            from_text("endpoints", "a:1, b:2,").unwrap(),
            ("endpoints", Value::List(vec!["a:1".into(), "b:2".into()]))
        );
        assert_eq!(
            from_text("request_timeout_ms", "250").unwrap(),
            ("requestTimeoutMs", Value::Num(250.0))
        );
        assert_eq!(
            from_text("zone", "42").unwrap(),
            ("zone", Value::Str("42".into()))
        );
        let e = from_text("migrationThreshold", "most").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            e.message(),
            "migrationThreshold must be a number, got \"most\""
        );
        assert!(from_text("colour", "red").is_err());
    }

    #[test]
    fn bad_options_say_which_and_why() {
        let Err(OptionError::Invalid(e)) = opts(&[("colour", Value::Str("red".into()))]) else {
            panic!("refused");
        };
        assert!(
            e.message()
                .starts_with("unknown option \"colour\"; the options are endpoints, appName"),
            "{e}"
        );
        let Err(OptionError::Type(m)) = opts(&[("zone", Value::Num(1.0))]) else {
            panic!("a type error");
        };
        assert_eq!(m, "zone must be a string, not a number");
        let Err(OptionError::Invalid(e)) = opts(&[("subscribeMode", Value::Str("later".into()))])
        else {
            panic!("refused");
        };
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("\"later\" is not one of"), "{e}");
        let Err(OptionError::Invalid(e)) = opts(&[("connectTimeoutMs", Value::Num(-5.0))]) else {
            panic!("refused");
        };
        assert!(
            e.message()
                .contains("connectTimeoutMs must be a non-negative"),
            "{e}"
        );
    }

    #[test]
    fn tls_and_credentials_gather_from_their_options() {
        let b = opts(&[
            ("endpoints", Value::Str("reg:9600".into())),
            ("tls_ca_file", Value::Str("/etc/roster/ca.pem".into())),
            ("tlsServerName", Value::Str("registry.internal".into())),
            ("accessKey", Value::Str("orders".into())),
            ("secret_key", Value::Str("s3cret".into())),
        ])
        .unwrap();
        let c = b.config();
        let tls = c.tls.as_ref().unwrap();
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/roster/ca.pem"))
        );
        assert_eq!(tls.server_name.as_deref(), Some("registry.internal"));
        assert_eq!(tls.cert_file, None);
        let creds = c.credentials.as_ref().unwrap();
        assert_eq!(
            (creds.access_key.as_str(), creds.secret_key.as_str()),
            ("orders", "s3cret")
        );
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the secret is never printed"
        );

        let plain = opts(&[("tls", Value::Bool(false))]).unwrap();
        assert!(plain.config().tls.is_none());
        let system_roots = opts(&[("tls", Value::Bool(true))]).unwrap();
        assert_eq!(system_roots.config().tls, Some(TlsOptions::default()));
        assert_eq!(from_text("tls", "on").unwrap(), ("tls", Value::Bool(true)));
        assert!(from_text("tls", "maybe").is_err());
        let Err(OptionError::Type(m)) = opts(&[("tls", Value::Str("yes".into()))]) else {
            panic!("a type error");
        };
        assert_eq!(m, "tls must be a boolean, not a string");
    }
}
