//! TLS on the gRPC port, for client sessions and for Raft between nodes (one port serves
//! both). The server terminates TLS itself with tokio-rustls rather than through tonic's
//! `ServerTlsConfig`, for three things tonic's does not do: the certificate, key and client
//! CA are loaded again when their files change ([`Reloading`]), every connection must
//! finish its handshake (or, in plain text, send its first byte) within a deadline, and
//! each connection records whether it presented a verified client certificate (the Raft
//! service requires one when a client CA is configured).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::reload::Reloading;
use crate::config::{DialTls, ServerTls};
use crate::Replica;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
    }
    Ok(roots)
}

/// The rustls server configuration the files describe.
fn server_config(tls: &ServerTls) -> Result<ServerConfig, String> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match &tls.client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider());
            // Without `require_client_cert` a certificate is optional for sessions (they
            // authenticate with an access key); the Raft service still requires one.
            let verifier = if tls.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key)?)
        .map_err(|e| format!("{}: no PEM private key: {e}", tls.key.display()))?;
    let mut config = builder
        .with_single_cert(certs(&tls.cert)?, key)
        .map_err(|e| format!("{} and {}: {e}", tls.cert.display(), tls.key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The server side, reloading its files when they change.
pub struct Acceptor {
    config: Reloading<ServerConfig>,
}

impl Acceptor {
    pub fn new(tls: &ServerTls, reload_every: Duration) -> Result<Acceptor, String> {
        let mut paths = vec![tls.cert.clone(), tls.key.clone()];
        paths.extend(tls.client_ca.clone());
        let tls = tls.clone();
        let config = Reloading::new("TLS certificate", paths, reload_every, move |_| {
            server_config(&tls)
        })?;
        Ok(Acceptor { config })
    }
}

/// What the gRPC service knows of a connection (in each request's extensions).
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub remote: Option<SocketAddr>,
    /// The client presented a certificate that the client CA verified.
    pub client_cert: bool,
}

/// An accepted connection, in plain text or TLS.
pub struct Conn {
    io: Either<TcpStream, Box<TlsStream<TcpStream>>>,
    info: ConnInfo,
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Accepts connections, each finishing its TLS handshake (or, in plain text, sending its
/// first byte) within `deadline` in a task of its own, so a slow or silent peer holds up
/// nobody. A connection that does not is closed and counted.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<Acceptor>>,
    deadline: Duration,
    stop: CancellationToken,
    replica: Arc<Replica>,
) -> impl tokio_stream::Stream<Item = io::Result<Conn>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, remote) = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, most often: wait rather than spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Pushes are small frames that must leave at once: no Nagle delay.
            let _ = tcp.set_nodelay(true);
            let (tx, tls, replica) = (tx.clone(), tls.clone(), replica.clone());
            tokio::spawn(async move {
                let secure = tls.is_some();
                let opened = tokio::time::timeout(deadline, open(tcp, remote, tls)).await;
                match opened {
                    Ok(Ok(conn)) => {
                        let _ = tx.send(conn).await;
                    }
                    Ok(Err(e)) if secure => {
                        replica.metrics.tls_failures.inc();
                        tracing::info!(%remote, "TLS handshake failed: {e}");
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, "connection failed before its first byte: {e}");
                    }
                    Err(_) => {
                        replica.metrics.limit("handshake_deadline");
                        tracing::info!(%remote, "closed a connection that did not start within {deadline:?}");
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx).map(Ok)
}

async fn open(tcp: TcpStream, remote: SocketAddr, tls: Option<Arc<Acceptor>>) -> io::Result<Conn> {
    let Some(tls) = tls else {
        // Plain text: wait for the peer's first byte, so a connection that never speaks
        // is closed at the deadline.
        tcp.peek(&mut [0u8; 1]).await?;
        return Ok(Conn {
            io: Either::Left(tcp),
            info: ConnInfo {
                remote: Some(remote),
                client_cert: false,
            },
        });
    };
    let stream = TlsAcceptor::from(tls.config.get()).accept(tcp).await?;
    let client_cert = stream.get_ref().1.peer_certificates().is_some();
    Ok(Conn {
        io: Either::Right(Box::new(stream)),
        info: ConnInfo {
            remote: Some(remote),
            client_cert,
        },
    })
}

/// The Raft service's gate: when a client CA is configured, only callers that presented a
/// certificate it verified (the other nodes, `roster-server member`) may call it.
pub fn peers_only(
    req: tonic::Request<()>,
    need_cert: bool,
) -> Result<tonic::Request<()>, tonic::Status> {
    let has_cert = req
        .extensions()
        .get::<ConnInfo>()
        .is_some_and(|c| c.client_cert);
    if need_cert && !has_cert {
        return Err(tonic::Status::unauthenticated(
            "the cluster service requires a client certificate signed by the cluster's client CA",
        ));
    }
    Ok(req)
}

/// How a node (or `roster-server member`) dials a node: tonic's client TLS from the files
/// named, read now (so a channel made after a rotation uses the new files).
pub fn dial_config(tls: &DialTls, host: &str) -> Result<ClientTlsConfig, String> {
    let mut config = ClientTlsConfig::new()
        .domain_name(tls.server_name.clone().unwrap_or_else(|| host.to_owned()));
    config = match &tls.ca {
        Some(ca) => config.ca_certificate(Certificate::from_pem(read(ca)?)),
        None => config.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}

/// The host of `host:port` (or `[v6]:port`).
pub fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}
