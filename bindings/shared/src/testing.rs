//! The reference server in-process on loopback, for the tests of services that use Roster
//! (`roster.testing` in Python, `roster/testing` in Node, ...). A secure one speaks TLS with
//! a certificate of a CA made for it and requires access keys (see [`Secrets`]), so an
//! application's production settings can be tested as they are.

use std::path::PathBuf;
use std::time::Duration;

use parking_lot::Mutex;
use roster_core::{Error, ErrorKind, Result};
use roster_server::{Config, Server, ServerTls};

use crate::runtime;

/// A running reference server; `stop` ends it (clients redo on the next one).
pub struct TestServer {
    inner: Mutex<Option<Server>>,
    endpoint: String,
    http: Option<String>,
    secrets: Option<Secrets>,
}

/// What a client of a secure test server needs: the CA its certificate is signed by, and
/// two access keys: `ACCESS_KEY` may do anything, `READ_ONLY_KEY` only subscribe.
pub struct Secrets {
    dir: tempfile::TempDir,
    pub secret_key: String,
    pub read_only_secret_key: String,
}

impl Secrets {
    pub const ACCESS_KEY: &'static str = "test";
    pub const READ_ONLY_KEY: &'static str = "test-read-only";

    /// A CA, a certificate for 127.0.0.1 and localhost, and a keys file, in a temporary
    /// directory removed with this value.
    pub fn generate() -> Result<Secrets> {
        let failed = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot make test certificates: {e}"),
            )
        };
        let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
        let (ca_pem, cert_pem, key_pem) = certificates().map_err(|e| failed(&e))?;
        let secret = |tag: &str| format!("{tag}-{}", uuid::Uuid::new_v4().simple());
        let s = Secrets {
            secret_key: secret("secret"),
            read_only_secret_key: secret("read-only"),
            dir,
        };
        let keys = format!(
            "[[keys]]\naccess_key = \"{}\"\nsecret_key = \"{}\"\ntenants = [\"*\"]\npublish = [\"*\"]\nsubscribe = [\"*\"]\n\n\
             [[keys]]\naccess_key = \"{}\"\nsecret_key = \"{}\"\ntenants = [\"*\"]\nsubscribe = [\"*\"]\n",
            Self::ACCESS_KEY,
            s.secret_key,
            Self::READ_ONLY_KEY,
            s.read_only_secret_key
        );
        for (name, text) in [
            ("ca.pem", ca_pem),
            ("server.pem", cert_pem),
            ("server.key", key_pem),
            ("keys.toml", keys),
        ] {
            std::fs::write(s.dir.path().join(name), text).map_err(|e| failed(&e))?;
        }
        Ok(s)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where the files are (another process can serve them: [`Secrets::configure`]).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Makes `config` serve TLS and require keys with the files `generate` wrote in `dir`.
    pub fn configure(dir: &std::path::Path, config: &mut Config) {
        config.tls = Some(ServerTls {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: None,
            require_client_cert: false,
            peer_ca: None,
            peer_server_name: None,
        });
        config.keys_file = Some(dir.join("keys.toml"));
    }

    /// The PEM CA bundle a client should trust (its `tlsCaFile`).
    pub fn ca_file(&self) -> PathBuf {
        self.file("ca.pem")
    }
}

/// (CA, server certificate, server key), PEM.
fn certificates() -> std::result::Result<(String, String, String), rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Roster test server CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?
        .signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

impl TestServer {
    /// Starts one on free ports (or gRPC `port` when not 0), with a `grace` period for
    /// disconnected clients and a `keepalive` interval.
    pub async fn start(port: u16, grace: Duration, keepalive: Duration) -> Result<TestServer> {
        TestServer::launch(port, grace, keepalive, None).await
    }

    /// The same, speaking TLS only and requiring access keys (see [`Secrets`]).
    pub async fn start_secure(
        port: u16,
        grace: Duration,
        keepalive: Duration,
    ) -> Result<TestServer> {
        TestServer::launch(port, grace, keepalive, Some(Secrets::generate()?)).await
    }

    async fn launch(
        port: u16,
        grace: Duration,
        keepalive: Duration,
        secrets: Option<Secrets>,
    ) -> Result<TestServer> {
        let mut config = Config {
            grace_period: grace,
            keepalive_interval: keepalive.max(Duration::from_millis(100)),
            ..Config::ephemeral()
        };
        if let Some(s) = &secrets {
            Secrets::configure(s.dir(), &mut config);
        }
        config.listen.set_port(port);
        // On the process's runtime, whichever runtime (if any) the caller is on.
        let server = runtime::get()
            .spawn(Server::start(config))
            .await
            .map_err(|e| Error::new(ErrorKind::Internal, format!("the server task failed: {e}")))?
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the server: {e}")))?;
        Ok(TestServer {
            endpoint: server.endpoint(),
            http: server.http_addr().map(|a| a.to_string()),
            inner: Mutex::new(Some(server)),
            secrets,
        })
    }

    /// A secure server's CA and keys; `None` for a plain one.
    pub fn secrets(&self) -> Option<&Secrets> {
        self.secrets.as_ref()
    }

    /// `host:port` to give a client.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(0)
    }

    /// `host:port` of `/health` and `/metrics`.
    pub fn http_address(&self) -> Option<&str> {
        self.http.as_deref()
    }

    /// `(sessions, publishers, subscribers)` held now.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.inner.lock().as_ref().map_or((0, 0, 0), |s| {
            let st = s.stats();
            (st.sessions_attached, st.publishers, st.subscribers)
        })
    }

    /// Stops it; a second call does nothing.
    pub async fn stop(&self) {
        let server = self.inner.lock().take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}
