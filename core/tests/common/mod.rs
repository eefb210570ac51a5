//! Helpers for the integration tests: a real server on a free loopback port, clients
//! wired to it, a raw protocol session, and a TCP proxy that can cut connections.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use roster_core::{Client, ClientBuilder};
use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, server_frame};
use roster_server::{Config, Server};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// Deadline for things that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn config(grace: Duration) -> Config {
    init_tracing();
    Config {
        grace_period: grace,
        keepalive_interval: Duration::from_secs(1),
        ..Config::ephemeral()
    }
}

pub async fn server() -> Server {
    Server::start(config(Duration::from_secs(2)))
        .await
        .expect("server starts")
}

pub fn builder(endpoint: &str) -> ClientBuilder {
    Client::builder()
        .endpoints([endpoint])
        .app_name("test")
        .request_timeout(Duration::from_secs(5))
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(300))
}

/// A client connected to `endpoint`.
pub async fn client(endpoint: &str) -> Client {
    connected(builder(endpoint)).await
}

pub async fn connected(b: ClientBuilder) -> Client {
    let c = b.build().expect("valid config");
    c.wait_connected(WAIT).await.expect("connects");
    c
}

/// A hand-driven session: sends frames as given and collects what comes back.
pub struct Raw {
    pub tx: mpsc::UnboundedSender<v1::ClientFrame>,
    pub rx: tonic::Streaming<v1::ServerFrame>,
    next: u64,
}

impl Raw {
    pub async fn open(endpoint: &str, client_id: &str, zone: &str) -> Raw {
        let mut grpc = RegistryClient::connect(format!("http://{endpoint}"))
            .await
            .expect("connects");
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(frame(
            0,
            Body::Hello(v1::Hello {
                client_id: client_id.into(),
                app_name: "raw".into(),
                zone: zone.into(),
                data_center: "dc".into(),
            }),
        ))
        .unwrap();
        let mut rx = grpc
            .session(UnboundedReceiverStream::new(rx))
            .await
            .expect("session")
            .into_inner();
        let welcome = rx.message().await.unwrap().unwrap();
        assert!(matches!(welcome.body, Some(server_frame::Body::Welcome(_))));
        Raw { tx, rx, next: 1 }
    }

    /// Sends a frame and returns its ack; pushes that arrive first are returned too.
    pub async fn call(&mut self, body: Body) -> (v1::Ack, Vec<v1::Push>) {
        let id = self.next;
        self.next += 1;
        self.tx.send(frame(id, body)).unwrap();
        let (ack, pushes) = self
            .until(|f| matches!(f, server_frame::Body::Ack(a) if a.request_id == id))
            .await;
        match ack {
            server_frame::Body::Ack(a) => (a, pushes),
            _ => unreachable!("matched above"),
        }
    }

    /// Collects pushes until a ping round trip completes: everything the server sent
    /// before answering the ping.
    pub async fn drain_pushes(&mut self) -> Vec<v1::Push> {
        self.tx
            .send(frame(0, Body::Ping(v1::Ping { nonce: 42 })))
            .unwrap();
        self.until(|f| matches!(f, server_frame::Body::Pong(_)))
            .await
            .1
    }

    /// Reads frames until one satisfies `done`; returns it and the pushes before it.
    async fn until(
        &mut self,
        done: impl Fn(&server_frame::Body) -> bool,
    ) -> (server_frame::Body, Vec<v1::Push>) {
        let mut pushes = Vec::new();
        loop {
            let f = tokio::time::timeout(WAIT, self.rx.message())
                .await
                .expect("an answer")
                .unwrap()
                .unwrap();
            match f.body {
                Some(body) if done(&body) => return (body, pushes),
                Some(server_frame::Body::Push(p)) => pushes.push(p),
                _ => {}
            }
        }
    }
}

pub fn frame(request_id: u64, body: Body) -> v1::ClientFrame {
    v1::ClientFrame {
        request_id,
        body: Some(body),
    }
}

pub fn key(data_id: &str) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: data_id.into(),
        ..Default::default()
    })
}

pub fn publish(regist_id: &str, data_id: &str, version: u64, data: &[&str]) -> Body {
    Body::Publish(v1::Publish {
        regist_id: regist_id.into(),
        key: key(data_id),
        version,
        data: data
            .iter()
            .map(|d| bytes::Bytes::copy_from_slice(d.as_bytes()))
            .collect(),
    })
}

/// A TCP proxy in front of a server, so a test can cut every connection (a network blip)
/// or refuse new ones, while the server keeps running.
pub struct Proxy {
    pub addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

/// A server whose member list names a proxy in front of it, so that clients that learn the
/// member list also go through the proxy.
pub async fn proxied_server(grace: Duration) -> (Server, Proxy) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let server = Server::start(Config {
        advertise: Some(proxy_addr.to_string()),
        ..config(grace)
    })
    .await
    .unwrap();
    let proxy = Proxy::serve(listener, server.grpc_addr());
    (server, proxy)
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        Proxy::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), target)
    }

    fn serve(listener: TcpListener, target: SocketAddr) -> Proxy {
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().push(task);
            }
        });
        Proxy {
            addr,
            conns,
            accept,
        }
    }

    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Drops every open connection (both sides see a reset); new ones are still accepted.
    pub fn cut(&self) {
        for t in self.conns.lock().drain(..) {
            t.abort();
        }
    }

    /// Cuts and stops accepting: the client can no longer reach the server at all.
    pub fn kill(self) {
        self.accept.abort();
        self.cut();
    }
}

/// Reads a counter or gauge from the server's Prometheus text.
pub fn metric(server: &Server, name: &str) -> f64 {
    server
        .metrics_text()
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("metric {name} not found"))
}
