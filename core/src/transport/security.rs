//! TLS to a Roster registry and the AK/SK signatures (`roster_proto::auth`): the client's
//! TLS configuration is read once, when the client is built (a missing or malformed file
//! is an error naming it then, not a reconnect loop later), and a TLS failure is described
//! in words a user can act on.

use std::sync::atomic::{AtomicU64, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::config::{Credentials, TlsOptions};
use crate::error::{Error, Result};

fn read(field: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::invalid(format!("tls.{field} {}: {e}", path.display())))
}

/// tonic's client TLS from the options, each file read and checked now.
pub(crate) fn client_tls(o: &TlsOptions) -> Result<ClientTlsConfig> {
    let mut config = ClientTlsConfig::new();
    config = match &o.ca_file {
        Some(path) => {
            let pem = read("caFile", path)?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| {
                    Error::invalid(format!("tls.caFile {}: not PEM: {e}", path.display()))
                })?;
            if certs.is_empty() {
                return Err(Error::invalid(format!(
                    "tls.caFile {}: holds no PEM certificate",
                    path.display()
                )));
            }
            config.ca_certificate(Certificate::from_pem(pem))
        }
        None => config.with_native_roots(),
    };
    if let (Some(cert_path), Some(key_path)) = (&o.cert_file, &o.key_file) {
        let cert = read("certFile", cert_path)?;
        let key = read("keyFile", key_path)?;
        if CertificateDer::pem_slice_iter(&cert).next().is_none() {
            return Err(Error::invalid(format!(
                "tls.certFile {}: holds no PEM certificate",
                cert_path.display()
            )));
        }
        PrivateKeyDer::from_pem_slice(&key).map_err(|e| {
            Error::invalid(format!(
                "tls.keyFile {}: no PEM private key: {e}",
                key_path.display()
            ))
        })?;
        config = config.identity(Identity::from_pem(cert, key));
    }
    if let Some(name) = &o.server_name {
        config = config.domain_name(name.clone());
    }
    Ok(config)
}

/// Signs session starts and unary calls with the client's access key. Timestamps only grow
/// (two signatures in one millisecond differ), since the registry refuses a signature it
/// has seen. `Debug` prints the access key only (see `Credentials`).
#[derive(Debug)]
pub(crate) struct Signer {
    credentials: Credentials,
    last_ms: AtomicU64,
}

/// One signature: the access key, the time it was made at and the hex HMAC.
pub(crate) struct Signed {
    pub access_key: String,
    pub timestamp_ms: u64,
    pub signature: String,
}

impl Signer {
    pub fn new(credentials: Credentials) -> Signer {
        Signer {
            credentials,
            last_ms: AtomicU64::new(0),
        }
    }

    pub fn sign(&self, client_id: &str) -> Signed {
        let now = roster_proto::auth::now_ms();
        let previous = self
            .last_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .expect("the closure always returns Some");
        let timestamp_ms = now.max(previous + 1);
        let c = &self.credentials;
        Signed {
            access_key: c.access_key.clone(),
            timestamp_ms,
            signature: roster_proto::auth::sign(
                &c.secret_key,
                &c.access_key,
                client_id,
                timestamp_ms,
            ),
        }
    }
}

/// What went wrong in a TLS handshake, if `e`'s chain holds a rustls error. An alert
/// that arrives after the handshake (TLS 1.3 refuses a client certificate then) reaches
/// us as an `io::Error` holding only rustls' text, so that text is read too.
pub(crate) fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        let io = err.downcast_ref::<std::io::Error>();
        let rustls_error = err.downcast_ref::<rustls::Error>().or_else(|| {
            io.and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = rustls_error {
            return Some(describe(r));
        }
        if let Some(alert) = io.and_then(|io| alert_in(&io.to_string())) {
            return Some(describe(&rustls::Error::AlertReceived(alert)));
        }
        next = err.source();
    }
    None
}

/// The alert named in rustls' text "received fatal alert: <Alert>".
fn alert_in(text: &str) -> Option<rustls::AlertDescription> {
    use rustls::AlertDescription as A;
    let name = text.strip_prefix("received fatal alert: ")?;
    [
        A::CertificateRequired,
        A::UnknownCA,
        A::BadCertificate,
        A::CertificateExpired,
    ]
    .into_iter()
    .find(|a| format!("{a:?}") == name)
}

fn describe(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the registry's certificate is not signed by a CA this client trusts (tls.caFile)"
                .into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the registry's certificate has expired".into()
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the registry's certificate is not valid yet (is this machine's clock right?)".into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the registry's certificate does not name the host dialed (the endpoint, or tls.serverName)"
                .into()
        }
        E::AlertReceived(A::CertificateRequired) => {
            "the registry requires a client certificate (tls.certFile and tls.keyFile)".into()
        }
        E::AlertReceived(A::UnknownCA | A::BadCertificate) => {
            "the registry refused this client's certificate (not signed by its client CA)".into()
        }
        E::AlertReceived(A::CertificateExpired) => {
            "the registry refused this client's certificate: it has expired".into()
        }
        other => format!("TLS failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_never_repeat_a_timestamp() {
        let s = Signer::new(Credentials {
            access_key: "ak".into(),
            secret_key: "sk".into(),
        });
        let times: Vec<u64> = (0..1000).map(|_| s.sign("c1").timestamp_ms).collect();
        assert!(times.windows(2).all(|w| w[1] > w[0]));
        let one = s.sign("c1");
        assert!(roster_proto::auth::verify(
            "sk",
            "ak",
            "c1",
            one.timestamp_ms,
            &one.signature
        ));
    }

    #[test]
    fn an_alert_known_only_by_its_text_is_still_named() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received fatal alert: CertificateRequired",
        );
        let why = tls_failure(&e).unwrap();
        assert!(why.contains("requires a client certificate"), "{why}");
        let other = std::io::Error::other("connection reset");
        assert_eq!(tls_failure(&other), None);
    }

    #[test]
    fn tls_files_are_checked_when_the_client_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsOptions {
            ca_file: Some(dir.path().join("nope.pem")),
            ..TlsOptions::default()
        };
        let e = client_tls(&missing).unwrap_err();
        assert!(e.message().starts_with("tls.caFile "), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = client_tls(&TlsOptions {
            ca_file: Some(junk),
            ..TlsOptions::default()
        })
        .unwrap_err();
        assert!(e.message().contains("holds no PEM certificate"), "{e}");
    }
}
