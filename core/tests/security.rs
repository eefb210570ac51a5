//! Security against a real server over real sockets: TLS with certificates made here
//! (rcgen), AK/SK authentication, tenants and dataId patterns, and the abuse limits.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
    KeyUsagePurpose,
};
use roster_core::{
    Client, ClientBuilder, ErrorKind, PublisherRegistration, Scope, SubscriberRegistration,
    TlsOptions,
};
use roster_proto::appmeta::{ServiceUrl, APP_GROUP};
use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, AckCode};
use roster_proto::DataInfoId;
use roster_server::{AbuseLimits, Config, DialTls, Server, ServerTls};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

// ---------------------------------------------------------------------------------------
// Certificates and files

struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Ca(CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap())
    }

    /// A certificate for `names` (DNS names or IP addresses): (certificate PEM, key PEM).
    fn issue(&self, names: &[&str], expired: bool) -> (String, String) {
        let sans: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        if expired {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.0).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Files {
        Files(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn ca(&self, name: &str, ca: &Ca) -> PathBuf {
        self.write(name, &ca.0.pem())
    }

    /// A server certificate for 127.0.0.1 and localhost signed by `ca`.
    fn server_tls(&self, ca: &Ca, expired: bool) -> ServerTls {
        let (cert, key) = ca.issue(&["127.0.0.1", "localhost"], expired);
        ServerTls {
            cert: self.write("server.pem", &cert),
            key: self.write("server.key", &key),
            client_ca: None,
            require_client_cert: false,
            peer_ca: None,
            peer_server_name: None,
        }
    }
}

async fn start(config: Config) -> Server {
    Server::start(config).await.expect("server starts")
}

fn tls_config(tls: ServerTls) -> Config {
    Config {
        tls: Some(tls),
        reload_every: Duration::ZERO,
        ..config(Duration::from_secs(2))
    }
}

fn with_ca(b: ClientBuilder, ca: PathBuf) -> ClientBuilder {
    b.tls(TlsOptions {
        ca_file: Some(ca),
        ..TlsOptions::default()
    })
}

/// The error a client built from `b` reports when it cannot connect.
async fn refused(b: ClientBuilder) -> roster_core::Error {
    let c = b.build().expect("valid config");
    let e = c
        .wait_connected(Duration::from_secs(3))
        .await
        .expect_err("must not connect");
    c.close().await;
    e
}

/// A publish and its subscriber's push through `c`: the session works.
async fn round_trip(c: &Client, data_id: &str) {
    let _p = c
        .publish(PublisherRegistration::new(data_id).data(["bolt://10.0.0.1:1"]))
        .await
        .unwrap();
    let s = c
        .subscribe(SubscriberRegistration::new(data_id).scope(Scope::Global))
        .await
        .unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
}

// ---------------------------------------------------------------------------------------
// TLS

#[tokio::test]
async fn a_client_trusting_the_ca_works_over_tls_and_plain_text_is_refused() {
    let (files, ca) = (Files::new(), Ca::new("Roster test CA"));
    let server = start(tls_config(files.server_tls(&ca, false))).await;
    let c = connected(with_ca(
        builder(&server.endpoint()),
        files.ca("ca.pem", &ca),
    ))
    .await;
    round_trip(&c, "svc.Tls").await;
    c.close().await;

    let e = refused(builder(&server.endpoint())).await;
    assert_eq!(e.kind(), ErrorKind::NotConnected, "{e}");
    assert!(metric(&server, "roster_tls_handshake_failures_total") >= 1.0);
}

#[tokio::test]
async fn a_wrong_ca_an_expired_certificate_and_a_wrong_name_are_refused_clearly() {
    let (files, ca) = (Files::new(), Ca::new("Roster test CA"));
    let server = start(tls_config(files.server_tls(&ca, false))).await;
    let other = files.ca("other.pem", &Ca::new("Someone else's CA"));
    let e = refused(with_ca(builder(&server.endpoint()), other)).await;
    assert_eq!(e.kind(), ErrorKind::NotConnected);
    assert!(
        e.message()
            .contains("not signed by a CA this client trusts"),
        "{e}"
    );

    let b = builder(&server.endpoint()).tls(TlsOptions {
        ca_file: Some(files.ca("ca.pem", &ca)),
        server_name: Some("registry.example.com".into()),
        ..TlsOptions::default()
    });
    let e = refused(b).await;
    assert!(e.message().contains("does not name the host dialed"), "{e}");

    let expired_files = Files::new();
    let expired = start(tls_config(expired_files.server_tls(&ca, true))).await;
    let e = refused(with_ca(
        builder(&expired.endpoint()),
        files.ca("ca.pem", &ca),
    ))
    .await;
    assert!(e.message().contains("certificate has expired"), "{e}");
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate_of_its_ca() {
    let (files, ca) = (Files::new(), Ca::new("Roster test CA"));
    let clients_ca = Ca::new("Roster clients CA");
    let mut tls = files.server_tls(&ca, false);
    tls.client_ca = Some(files.ca("clients-ca.pem", &clients_ca));
    tls.require_client_cert = true;
    let server = start(tls_config(tls)).await;
    let ca_file = files.ca("ca.pem", &ca);

    let e = refused(with_ca(builder(&server.endpoint()), ca_file.clone())).await;
    assert!(e.message().contains("requires a client certificate"), "{e}");

    let with_cert = |ca: &Ca, name: &str| {
        let (cert, key) = ca.issue(&["client.example"], false);
        builder(&server.endpoint()).tls(TlsOptions {
            ca_file: Some(ca_file.clone()),
            cert_file: Some(files.write(&format!("{name}.pem"), &cert)),
            key_file: Some(files.write(&format!("{name}.key"), &key)),
            server_name: None,
        })
    };
    let e = refused(with_cert(&Ca::new("Another CA"), "stranger")).await;
    assert!(
        e.message().contains("refused this client's certificate"),
        "{e}"
    );
    let c = connected(with_cert(&clients_ca, "client")).await;
    round_trip(&c, "svc.Mtls").await;
    c.close().await;
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_without_a_restart() {
    let (files, first) = (Files::new(), Ca::new("First CA"));
    let tls = files.server_tls(&first, false);
    let server = start(tls_config(tls.clone())).await;
    let first_ca = files.ca("first.pem", &first);
    connected(with_ca(builder(&server.endpoint()), first_ca.clone()))
        .await
        .close()
        .await;

    // Rotated to a certificate of another CA: new connections get it.
    let second = Ca::new("Second CA");
    let (cert, key) = second.issue(&["127.0.0.1"], false);
    std::fs::write(&tls.key, key).unwrap();
    std::fs::write(&tls.cert, cert).unwrap();
    let c = connected(with_ca(
        builder(&server.endpoint()),
        files.ca("second.pem", &second),
    ))
    .await;
    round_trip(&c, "svc.Rotated").await;
    c.close().await;
    let e = refused(with_ca(builder(&server.endpoint()), first_ca)).await;
    assert!(
        e.message()
            .contains("not signed by a CA this client trusts"),
        "{e}"
    );
}

#[tokio::test]
async fn a_tls_cluster_elects_and_replicates_and_its_raft_service_wants_a_node_certificate() {
    let (files, ca) = (Arc::new(Files::new()), Ca::new("Cluster CA"));
    let mut tls = files.server_tls(&ca, false);
    let ca_file = files.ca("ca.pem", &ca);
    tls.client_ca = Some(ca_file.clone());
    tls.peer_ca = Some(ca_file.clone());
    let tweak_tls = tls.clone();
    let cluster = Cluster::with(
        3,
        Duration::from_secs(3),
        Some(Arc::new(move |c: &mut Config| {
            c.tls = Some(tweak_tls.clone())
        })),
    )
    .await;
    let endpoints = cluster.endpoints();
    let c = connected(with_ca(
        builder(&endpoints[0]).endpoints(endpoints.clone()),
        ca_file.clone(),
    ))
    .await;
    round_trip(&c, "svc.TlsCluster").await;
    cluster.wait_replicated(1).await;
    cluster.assert_replicas_identical().await;

    // A caller of the Raft service without a node certificate is refused; with one it is
    // served (here: removing a node that is not a member changes nothing but is answered).
    let anonymous = DialTls {
        ca: Some(ca_file.clone()),
        ..DialTls::default()
    };
    let e = roster_server::admin::remove_member(&endpoints, Some(&anonymous), 99)
        .await
        .unwrap_err();
    assert!(e.contains("requires a client certificate"), "{e}");
    let node = tls.dial();
    let answered = roster_server::admin::remove_member(&endpoints, Some(&node), 99).await;
    assert!(
        answered
            .as_ref()
            .map_or_else(|e| !e.contains("certificate"), |_| true),
        "{answered:?}"
    );
    c.close().await;
}

#[tokio::test]
async fn a_connection_that_never_starts_is_closed_at_the_handshake_deadline() {
    let (files, ca) = (Files::new(), Ca::new("Roster test CA"));
    let mut config = tls_config(files.server_tls(&ca, false));
    config.abuse.handshake_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let mut silent = tokio::net::TcpStream::connect(server.grpc_addr())
        .await
        .unwrap();
    // Others are served meanwhile.
    let c = connected(with_ca(
        builder(&server.endpoint()),
        files.ca("ca.pem", &ca),
    ))
    .await;
    use tokio::io::AsyncReadExt;
    let read = tokio::time::timeout(WAIT, silent.read(&mut [0u8; 16]))
        .await
        .expect("closed by the server");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(metric_labeled(&server, "roster_limit_refusals_total", "handshake_deadline") >= 1.0);
    round_trip(&c, "svc.Deadline").await;
    c.close().await;
}

#[tokio::test]
async fn a_session_that_never_says_hello_is_closed_at_the_deadline() {
    let mut config = config(Duration::from_secs(2));
    config.abuse.handshake_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let mut grpc = RegistryClient::connect(format!("http://{}", server.endpoint()))
        .await
        .unwrap();
    let (_tx, rx) = mpsc::unbounded_channel::<v1::ClientFrame>();
    let started = std::time::Instant::now();
    let refused = grpc.session(UnboundedReceiverStream::new(rx)).await;
    let status = match refused {
        Ok(mut stream) => stream.get_mut().message().await.unwrap_err(),
        Err(status) => status,
    };
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status}");
    assert!(status.message().contains("no Hello within"), "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(metric_labeled(&server, "roster_limit_refusals_total", "handshake_deadline") >= 1.0);
}

// ---------------------------------------------------------------------------------------
// Authentication

const KEYS: &str = r#"
[[keys]]
access_key = "orders"
secret_key = "orders-secret-0123456789"
tenants = ["shop"]
publish = ["com.acme.orders.*"]
subscribe = ["com.acme.*"]

[[keys]]
access_key = "ops"
secret_key = "ops-secret-0123456789ab"
tenants = ["*"]
publish = ["*"]
subscribe = ["*"]
"#;

fn keys_config(files: &Files, keys: &str) -> Config {
    Config {
        keys_file: Some(files.write("keys.toml", keys)),
        reload_every: Duration::ZERO,
        ..config(Duration::from_secs(2))
    }
}

fn keyed(endpoint: &str, ak: &str, sk: &str) -> ClientBuilder {
    builder(endpoint).credentials(ak, sk)
}

#[tokio::test]
async fn the_right_key_is_accepted_and_a_wrong_missing_or_unknown_one_refused() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let ep = server.endpoint();
    let c = connected(keyed(&ep, "ops", "ops-secret-0123456789ab")).await;
    round_trip(&c, "anything").await;
    c.close().await;

    let e = refused(keyed(&ep, "ops", "not-the-secret-at-all")).await;
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("signature does not match"), "{e}");
    let e = refused(builder(&ep)).await;
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("requires authentication"), "{e}");
    let e = refused(keyed(&ep, "nobody", "whatever-secret-value")).await;
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("not known"), "{e}");
    for reason in ["bad_signature", "missing", "unknown_key"] {
        assert!(
            metric_labeled(&server, "roster_auth_failures_total", reason) >= 1.0,
            "{reason} not counted"
        );
    }
}

/// A session opened with `hello` as its first frame: its Welcome, or the refusal.
async fn hello(endpoint: &str, hello: v1::Hello) -> Result<(), tonic::Status> {
    let mut grpc = RegistryClient::connect(format!("http://{endpoint}"))
        .await
        .expect("connects");
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(frame(0, Body::Hello(hello))).unwrap();
    let mut stream = grpc
        .session(UnboundedReceiverStream::new(rx))
        .await?
        .into_inner();
    stream.message().await?;
    drop(tx);
    Ok(())
}

fn signed_hello(client_id: &str, timestamp_ms: u64) -> v1::Hello {
    v1::Hello {
        client_id: client_id.into(),
        app_name: "raw".into(),
        zone: "z".into(),
        data_center: "dc".into(),
        access_key: "ops".into(),
        timestamp_ms,
        signature: roster_proto::auth::sign(
            "ops-secret-0123456789ab",
            "ops",
            client_id,
            timestamp_ms,
        ),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_replayed_or_stale_signature_is_refused() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let ep = server.endpoint();
    let now = roster_proto::auth::now_ms();
    hello(&ep, signed_hello("c1", now))
        .await
        .expect("first use");
    let replay = hello(&ep, signed_hello("c1", now)).await.unwrap_err();
    assert_eq!(replay.code(), tonic::Code::Unauthenticated);
    assert!(replay.message().contains("replay"), "{}", replay.message());
    let stale = hello(&ep, signed_hello("c2", now - 10 * 60 * 1000))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), tonic::Code::Unauthenticated);
    assert!(
        stale.message().contains("from the registry's clock"),
        "{}",
        stale.message()
    );
    assert!(metric_labeled(&server, "roster_auth_failures_total", "replayed") >= 1.0);
    assert!(metric_labeled(&server, "roster_auth_failures_total", "stale") >= 1.0);
}

#[tokio::test]
async fn a_key_removed_from_the_file_is_refused_at_its_next_session() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let ep = server.endpoint();
    let c = connected(keyed(&ep, "orders", "orders-secret-0123456789")).await;
    // Only "ops" left.
    let only_ops = KEYS
        .split("\n[[keys]]")
        .filter(|k| !k.contains("orders"))
        .collect::<Vec<_>>();
    files.write(
        "keys.toml",
        &format!("[[keys]]{}", only_ops.join("")).replace("[[keys]]\n[[keys]]", "[[keys]]"),
    );
    let e = refused(keyed(&ep, "orders", "orders-secret-0123456789")).await;
    assert!(e.message().contains("not known"), "{e}");
    // The open session keeps what it was granted.
    let p = c
        .publish(
            PublisherRegistration::new("com.acme.orders.Api")
                .instance_id("shop")
                .data(["x"]),
        )
        .await;
    assert!(p.is_ok(), "{p:?}");
    connected(keyed(&ep, "ops", "ops-secret-0123456789ab"))
        .await
        .close()
        .await;
    c.close().await;
}

// ---------------------------------------------------------------------------------------
// Authorization and tenants

#[tokio::test]
async fn a_key_publishes_and_subscribes_only_within_its_tenants_and_patterns() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let c = connected(
        keyed(&server.endpoint(), "orders", "orders-secret-0123456789").instance_id("shop"),
    )
    .await;
    round_trip(&c, "com.acme.orders.Api").await;
    let e = c
        .publish(PublisherRegistration::new("com.acme.pay.Api").data(["x"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.message()
            .contains("may not publish dataId \"com.acme.pay.Api\""),
        "{e}"
    );
    // Subscribing is wider than publishing for this key.
    c.subscribe(SubscriberRegistration::new("com.acme.pay.Api"))
        .await
        .unwrap();
    let e = c
        .subscribe(SubscriberRegistration::new("org.other.Api"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    // Another tenant: neither.
    let other = |r: PublisherRegistration| r.instance_id("bank");
    let e = c
        .publish(other(
            PublisherRegistration::new("com.acme.orders.Api").data(["x"]),
        ))
        .await
        .unwrap_err();
    assert!(
        e.message().contains("may not use instanceId \"bank\""),
        "{e}"
    );
    let e = c
        .subscribe(SubscriberRegistration::new("com.acme.orders.Api").instance_id("bank"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(metric_labeled(&server, "roster_permission_denied_total", "publish") >= 2.0);
    assert!(metric_labeled(&server, "roster_permission_denied_total", "subscribe") >= 2.0);
    c.close().await;
}

/// An application publisher of `app` in tenant `tenant`, whose revision names `interface`,
/// over a raw session; returns the Ack codes of the revision and the publisher.
async fn application_claiming(
    raw: &mut Raw,
    app: &str,
    tenant: &str,
    interface: &DataInfoId,
) -> (i32, i32) {
    let services = vec![(
        interface.to_string(),
        ServiceUrl::parse("bolt://10.9.9.9:1?x=1").unwrap(),
    )];
    let inst = roster_proto::appmeta::instance_from_services(app, &services).unwrap();
    let revision = Body::RegisterRevision(v1::RegisterRevision {
        revision: Some((&inst.metadata).into()),
    });
    let revision = raw.call(revision).await.0.code;
    let publisher = Body::Publish(v1::Publish {
        regist_id: format!("{app}-app"),
        key: Some(v1::DataKey {
            data_id: app.into(),
            group: APP_GROUP.into(),
            instance_id: tenant.into(),
        }),
        version: 1,
        data: inst
            .items
            .iter()
            .map(|i| bytes::Bytes::copy_from_slice(i.as_bytes()))
            .collect(),
    });
    (revision, raw.call(publisher).await.0.code)
}

#[tokio::test]
async fn an_application_of_one_tenant_never_reaches_another_through_conversion() {
    // No keys at all: tenant isolation is the registry's own rule.
    let server = server().await;
    let ep = server.endpoint();
    let interface = |tenant: &str| DataInfoId {
        instance_id: tenant.into(),
        ..DataInfoId::new("com.acme.orders.Api")
    };
    let mut raw = Raw::open(&ep, "provider", roster_core::DEFAULT_ZONE).await;
    // An application of tenant "a" claims tenant "b"'s interface, and its own.
    let (r, p) = application_claiming(&mut raw, "intruder", "a", &interface("b")).await;
    assert_eq!((r, p), (AckCode::Ok as i32, AckCode::Ok as i32));
    let (r, p) = application_claiming(&mut raw, "honest", "a", &interface("a")).await;
    assert_eq!((r, p), (AckCode::Ok as i32, AckCode::Ok as i32));

    let mut watcher = Raw::open(&ep, "watcher", roster_core::DEFAULT_ZONE).await;
    let converted = |tenant: &str, id: &str| {
        Body::Subscribe(v1::Subscribe {
            regist_id: id.into(),
            key: Some(interface(tenant).to_proto()),
            version: 1,
            scope: v1::Scope::Global as i32,
            convert_application: true,
            ..Default::default()
        })
    };
    let (ack, mut pushes) = watcher.call(converted("a", "sa")).await;
    assert_eq!(ack.code, AckCode::Ok as i32);
    pushes.extend(watcher.drain_pushes().await);
    let items = |pushes: &[v1::Push]| -> usize {
        pushes
            .iter()
            .flat_map(|p| &p.zones)
            .map(|z| z.data.len())
            .sum()
    };
    assert_eq!(
        items(&pushes),
        1,
        "tenant a's own application converts: {pushes:?}"
    );
    let (ack, mut pushes) = watcher.call(converted("b", "sb")).await;
    assert_eq!(ack.code, AckCode::Ok as i32);
    pushes.extend(watcher.drain_pushes().await);
    assert_eq!(
        items(&pushes),
        0,
        "tenant b sees nothing of tenant a: {pushes:?}"
    );
}

#[tokio::test]
async fn a_key_may_not_register_a_revision_naming_an_interface_it_may_not_publish() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let c = connected(
        keyed(&server.endpoint(), "orders", "orders-secret-0123456789")
            .instance_id("shop")
            .publish_mode(roster_core::PublishMode::Application),
    )
    .await;
    // Its own interface, published at application level: allowed (its application
    // publisher's dataId is its appName, "test", so the key needs that too).
    let e = c
        .publish(PublisherRegistration::new("com.acme.orders.Api").data(["bolt://10.0.0.1:1?x=1"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.message().contains("may not publish dataId \"test\""),
        "{e}"
    );
    c.close().await;

    let keys = format!(
        "{KEYS}\n[[keys]]\naccess_key = \"app\"\nsecret_key = \"app-secret-0123456789abc\"\n\
         tenants = [\"shop\"]\npublish = [\"com.acme.orders.*\", \"test\"]\nsubscribe = [\"*\"]\n"
    );
    files.write("keys.toml", &keys);
    let c = connected(
        keyed(&server.endpoint(), "app", "app-secret-0123456789abc")
            .instance_id("shop")
            .publish_mode(roster_core::PublishMode::Application),
    )
    .await;
    c.publish(PublisherRegistration::new("com.acme.orders.Api").data(["bolt://10.0.0.1:1?x=1"]))
        .await
        .unwrap();
    let e = c
        .publish(PublisherRegistration::new("com.acme.pay.Api").data(["bolt://10.0.0.1:1?x=1"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.message().contains("a revision naming com.acme.pay.Api"),
        "{e}"
    );
    c.close().await;
}

#[tokio::test]
async fn application_level_discovery_works_with_keys_and_revisions_are_only_read_signed() {
    let files = Files::new();
    let keys = format!(
        "{KEYS}\n[[keys]]\naccess_key = \"app\"\nsecret_key = \"app-secret-0123456789abc\"\n\
         tenants = [\"shop\"]\npublish = [\"com.acme.orders.*\", \"test\"]\nsubscribe = [\"*\"]\n"
    );
    let server = start(keys_config(&files, &keys)).await;
    let ep = server.endpoint();
    let provider = connected(
        keyed(&ep, "app", "app-secret-0123456789abc")
            .instance_id("shop")
            .publish_mode(roster_core::PublishMode::Application),
    )
    .await;
    let _p = provider
        .publish(PublisherRegistration::new("com.acme.orders.Api").data(["bolt://10.0.0.1:1?x=1"]))
        .await
        .unwrap();
    // The consumer resolves the application's revision through a signed GetRevisions. It
    // subscribes to the application publishers (dataId = the provider's appName) too, so
    // its key must allow those: here one that may subscribe to anything.
    let consumer = connected(
        keyed(&ep, "ops", "ops-secret-0123456789ab")
            .instance_id("shop")
            .subscribe_mode(roster_core::SubscribeMode::ForceApplication),
    )
    .await;
    let s = consumer
        .subscribe(SubscriberRegistration::new("com.acme.orders.Api"))
        .await
        .unwrap();
    let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(d.items().collect::<Vec<_>>(), ["bolt://10.0.0.1:1?x=1"]);
    // Unsigned, the same call is refused.
    let mut grpc = RegistryClient::connect(format!("http://{ep}"))
        .await
        .unwrap();
    let status = grpc
        .get_revisions(v1::GetRevisionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status}");
    provider.close().await;
    consumer.close().await;
}

// ---------------------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn sessions_per_address_are_capped_and_the_others_keep_being_served() {
    let config = Config {
        abuse: AbuseLimits {
            max_sessions_per_address: 2,
            ..AbuseLimits::default()
        },
        ..config(Duration::from_secs(2))
    };
    let server = start(config).await;
    let ep = server.endpoint();
    let a = client(&ep).await;
    let b = client(&ep).await;
    let e = refused(builder(&ep)).await;
    assert!(e.message().contains("already has 2 sessions open"), "{e}");
    assert!(
        metric_labeled(
            &server,
            "roster_limit_refusals_total",
            "sessions_per_address"
        ) >= 1.0
    );
    round_trip(&a, "svc.Capped").await;
    // A session ending gives its place back.
    b.close().await;
    let c = client(&ep).await;
    round_trip(&c, "svc.Capped2").await;
    a.close().await;
    c.close().await;
}

#[tokio::test]
async fn registrations_per_session_are_capped() {
    let mut config = config(Duration::from_secs(2));
    config.limits.max_registrations_per_session = 3;
    let server = start(config).await;
    let ep = server.endpoint();
    let c = client(&ep).await;
    let mut held = Vec::new();
    for i in 0..3 {
        held.push(
            c.publish(PublisherRegistration::new(format!("svc.{i}")).data(["x"]))
                .await
                .unwrap(),
        );
    }
    let e = c
        .publish(PublisherRegistration::new("svc.3").data(["x"]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(
        e.message().contains("3 registrations a session may hold"),
        "{e}"
    );
    // One given back makes room; other sessions have their own allowance.
    held.pop().unwrap().unregister().await.unwrap();
    c.publish(PublisherRegistration::new("svc.3").data(["x"]))
        .await
        .unwrap();
    let other = client(&ep).await;
    round_trip(&other, "svc.Other").await;
    let limited = server.metrics_text();
    assert!(limited.contains("result=\"limit\""), "{limited}");
    c.close().await;
    other.close().await;
}

#[tokio::test]
async fn frames_over_a_sessions_rate_are_refused_and_others_are_served() {
    let config = Config {
        abuse: AbuseLimits {
            max_frames_per_second: 5,
            frames_burst: 5,
            ..AbuseLimits::default()
        },
        ..config(Duration::from_secs(2))
    };
    let server = start(config).await;
    let ep = server.endpoint();
    let flood = client(&ep).await;
    let calls =
        (0..40).map(|i| flood.publish(PublisherRegistration::new(format!("svc.f{i}")).data(["x"])));
    let results = futures_util::future::join_all(calls).await;
    let limited: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(limited.len() >= 30, "{} of 40 refused", limited.len());
    for e in &limited {
        assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
        assert!(e.message().contains("more than 5 frames a second"), "{e}");
    }
    assert!(metric_labeled(&server, "roster_limit_refusals_total", "frames_per_second") >= 30.0);
    // Unregisters are never refused, however fast: what the client lets go, the registry does.
    let held: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
    assert!(!held.is_empty());
    for p in held {
        p.unregister().await.unwrap();
    }
    assert_eq!(server.stats().publishers, 0);
    let calm = client(&ep).await;
    round_trip(&calm, "svc.Calm").await;
    calm.close().await;
    flood.close().await;
}

#[tokio::test]
async fn a_session_can_be_resumed_only_with_the_access_key_it_started_with() {
    let files = Files::new();
    let server = start(keys_config(&files, KEYS)).await;
    let ep = server.endpoint();
    let now = roster_proto::auth::now_ms();
    let as_key = |ak: &str, sk: &str, ts: u64| v1::Hello {
        client_id: "shared-id".into(),
        app_name: "raw".into(),
        zone: "z".into(),
        data_center: "dc".into(),
        access_key: ak.into(),
        timestamp_ms: ts,
        signature: roster_proto::auth::sign(sk, ak, "shared-id", ts),
        ..Default::default()
    };
    hello(&ep, as_key("orders", "orders-secret-0123456789", now))
        .await
        .expect("the first session");
    // Another valid key with the same client id neither resumes nor replaces it.
    let taken = hello(&ep, as_key("ops", "ops-secret-0123456789ab", now + 1))
        .await
        .unwrap_err();
    assert!(
        taken
            .message()
            .contains("in use by a session of another access key"),
        "{taken}"
    );
    hello(&ep, as_key("orders", "orders-secret-0123456789", now + 2))
        .await
        .expect("its own key resumes it");
}
