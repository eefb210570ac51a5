//! Warnings at start when the node is reachable by others without TLS or access keys.

use std::net::SocketAddr;

use crate::config::Config;

/// Plain text or no authentication on an address other clients can reach is a mistake
/// outside a test: say so at start.
pub(crate) fn warn_if_exposed(config: &Config, addr: SocketAddr) {
    for warning in exposure_warnings(config, addr) {
        tracing::warn!(%addr, "{warning}");
    }
}

/// What is exposed on `addr` (nothing on loopback).
fn exposure_warnings(config: &Config, addr: SocketAddr) -> Vec<&'static str> {
    let mut warnings = Vec::new();
    if addr.ip().is_loopback() {
        return warnings;
    }
    if config.tls.is_none() {
        warnings.push(
            "listening in plain text on an address that is not loopback: anyone on the \
             network can read and change the registry's traffic (give --tls-cert and --tls-key)",
        );
    }
    if config.keys_file.is_none() {
        warnings.push(
            "no keys file: any client that reaches this address may publish anything (give --keys-file)",
        );
    }
    if config.is_cluster() && config.tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
        warnings.push(
            "the Raft service accepts any caller: give --tls-client-ca so only nodes holding a \
             certificate of the cluster's CA can call it",
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerTls;

    #[test]
    fn plain_text_and_open_access_are_warned_of_off_loopback_only() {
        let config = Config::default();
        assert!(exposure_warnings(&config, "127.0.0.1:9600".parse().unwrap()).is_empty());
        let open = exposure_warnings(&config, "10.0.0.5:9600".parse().unwrap());
        assert_eq!(open.len(), 2, "{open:?}");
        assert!(open[0].contains("plain text"));
        let secured = Config {
            tls: Some(ServerTls {
                cert: "c.pem".into(),
                key: "k.pem".into(),
                client_ca: Some("ca.pem".into()),
                require_client_cert: false,
                peer_ca: None,
                peer_server_name: None,
            }),
            keys_file: Some("keys.toml".into()),
            peers: [(1, "10.0.0.5:9600".to_owned())].into(),
            ..Config::default()
        };
        assert!(exposure_warnings(&secured, "10.0.0.5:9600".parse().unwrap()).is_empty());
        let no_client_ca = Config {
            tls: secured.tls.clone().map(|t| ServerTls {
                client_ca: None,
                ..t
            }),
            ..secured.clone()
        };
        let w = exposure_warnings(&no_client_ca, "10.0.0.5:9600".parse().unwrap());
        assert!(w.len() == 1 && w[0].contains("Raft service"), "{w:?}");
    }
}
