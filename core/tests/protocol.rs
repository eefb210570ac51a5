//! Versions, idempotence and bad input, driven frame by frame over a real session stream.

mod common;

use common::*;
use roster_core::{ErrorKind, PublisherRegistration, SubscriberRegistration};
use roster_proto::v1::{self, client_frame::Body, AckCode};

const SVC: &str = "svc.Idem:1.0";

fn code(a: &v1::Ack) -> AckCode {
    AckCode::try_from(a.code).unwrap()
}

#[tokio::test]
async fn resent_and_older_versions_change_nothing() {
    let server = server().await;
    let mut publisher = Raw::open(&server.endpoint(), "pub-1", "z").await;
    let mut watcher = Raw::open(&server.endpoint(), "sub-1", "z").await;
    let (ack, _) = watcher
        .call(Body::Subscribe(v1::Subscribe {
            regist_id: "s".into(),
            key: key(SVC),
            version: 1,
            scope: v1::Scope::Global.into(),
            ..Default::default()
        }))
        .await;
    assert_eq!(code(&ack), AckCode::Ok);
    watcher.drain_pushes().await;

    let (ack, _) = publisher.call(publish("p", SVC, 2, &["v2"])).await;
    assert_eq!(code(&ack), AckCode::Ok);
    let pushes = watcher.drain_pushes().await;
    assert_eq!(pushes.len(), 1);
    let v = pushes[0].version;

    // The same version again (a redo): acknowledged, nothing pushed.
    let (ack, _) = publisher.call(publish("p", SVC, 2, &["v2"])).await;
    assert_eq!(code(&ack), AckCode::Ok);
    // An older version arriving late: refused as stale, nothing changes.
    let (ack, _) = publisher.call(publish("p", SVC, 1, &["v1"])).await;
    assert_eq!(code(&ack), AckCode::Stale, "{}", ack.message);
    assert!(ack.message.contains("older"), "{}", ack.message);
    assert!(
        watcher.drain_pushes().await.is_empty(),
        "no push for a re-send or an older version"
    );

    // Unregister at v3, then a late register at v2: the tombstone keeps it gone.
    let (ack, _) = publisher
        .call(Body::Unregister(v1::Unregister {
            regist_id: "p".into(),
            version: 3,
        }))
        .await;
    assert_eq!(code(&ack), AckCode::Ok);
    let gone = watcher.drain_pushes().await;
    assert!(gone.len() == 1 && gone[0].zones.is_empty() && gone[0].version > v);
    let (ack, _) = publisher.call(publish("p", SVC, 2, &["late"])).await;
    assert_eq!(code(&ack), AckCode::Stale);
    let (ack, _) = publisher
        .call(Body::Unregister(v1::Unregister {
            regist_id: "p".into(),
            version: 3,
        }))
        .await;
    assert_eq!(
        code(&ack),
        AckCode::Ok,
        "a repeated unregister is idempotent"
    );
    assert!(watcher.drain_pushes().await.is_empty());
    assert_eq!(server.stats().publishers, 0);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_server_keeps_serving() {
    let server = server().await;
    let good = client(&server.endpoint()).await;
    let sub = good
        .subscribe(SubscriberRegistration::new(SVC))
        .await
        .unwrap();
    let _p = good
        .publish(PublisherRegistration::new(SVC).data(["bolt://ok:1"]))
        .await
        .unwrap();
    sub.wait_for(|d| d.len() == 1, WAIT).await.unwrap();

    let mut bad = Raw::open(&server.endpoint(), "bad", "z").await;
    let cases: Vec<(Body, AckCode, &str)> = vec![
        (
            publish("r1", "", 1, &["x"]),
            AckCode::InvalidArgument,
            "dataId must not be empty",
        ),
        (
            publish("r2", &"d".repeat(600), 1, &["x"]),
            AckCode::LimitExceeded,
            "dataId is 600 bytes, longer than the limit of 512",
        ),
        (
            publish("r3", "a\u{7}b", 1, &["x"]),
            AckCode::InvalidArgument,
            "dataId contains the control character",
        ),
        (
            publish("r4", SVC, 1, &vec!["x"; 129]),
            AckCode::LimitExceeded,
            "data has 129 items, more than the limit of 128",
        ),
        (
            publish("r5", SVC, 1, &[&"y".repeat(70_000)]),
            AckCode::LimitExceeded,
            "data is 70000 bytes",
        ),
        (
            publish("r6", SVC, 1, &["ok", "nul\u{0}"]),
            AckCode::InvalidArgument,
            "data[1] contains the control character",
        ),
        (
            Body::Publish(v1::Publish {
                regist_id: "r7".into(),
                key: key(SVC),
                version: 1,
                data: vec![bytes::Bytes::from_static(b"\xff\xfe")],
            }),
            AckCode::InvalidArgument,
            "data[0] is not valid UTF-8",
        ),
        (
            publish("", SVC, 1, &["x"]),
            AckCode::InvalidArgument,
            "registId must not be empty",
        ),
        (
            Body::Unregister(v1::Unregister {
                regist_id: "never".into(),
                version: 2,
            }),
            AckCode::NotFound,
            "registId never is not registered",
        ),
        (
            Body::Subscribe(v1::Subscribe {
                regist_id: "s9".into(),
                key: key(SVC),
                version: 1,
                scope: 9,
                ..Default::default()
            }),
            AckCode::InvalidArgument,
            "scope 9 is not a known scope",
        ),
    ];
    for (body, want, text) in cases {
        let (ack, _) = bad.call(body).await;
        assert_eq!(code(&ack), want, "{}", ack.message);
        assert!(
            ack.message.contains(text),
            "{:?} does not say {text:?}",
            ack.message
        );
    }
    // The same registId cannot be reused for another dataId.
    assert_eq!(
        code(&bad.call(publish("dup", "svc.A", 1, &["a"])).await.0),
        AckCode::Ok
    );
    let (ack, _) = bad.call(publish("dup", "svc.B", 2, &["b"])).await;
    assert!(
        code(&ack) == AckCode::InvalidArgument && ack.message.contains("already used"),
        "{}",
        ack.message
    );

    // Everyone else is still served, and nothing of theirs was lost.
    assert_eq!(
        sub.peek().unwrap().items().collect::<Vec<_>>(),
        ["bolt://ok:1"]
    );
    let p2 = good
        .publish(PublisherRegistration::new(SVC).data(["bolt://ok:2"]))
        .await
        .unwrap();
    sub.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    p2.unregister().await.unwrap();
    assert_eq!(
        server.stats().publishers,
        2,
        "the good client's one plus svc.A"
    );
}

#[tokio::test]
async fn a_session_must_start_with_hello() {
    let server = server().await;
    let mut grpc =
        v1::registry_client::RegistryClient::connect(format!("http://{}", server.endpoint()))
            .await
            .unwrap();
    let frames = tokio_stream::iter([frame(1, publish("r", SVC, 1, &["x"]))]);
    let status = grpc.session(frames).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status
        .message()
        .contains("first frame of a session must be Hello"));
    let hello = v1::Hello {
        client_id: "c\n1".into(),
        app_name: "a".into(),
        zone: "z".into(),
        data_center: "d".into(),
        ..Default::default()
    };
    let status = grpc
        .session(tokio_stream::iter([frame(0, Body::Hello(hello))]))
        .await
        .expect_err("refused");
    assert!(
        status
            .message()
            .contains("clientId contains the control character"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn the_client_refuses_bad_input_before_sending() {
    let server = server().await;
    let c = client(&server.endpoint()).await;
    let cases = [
        (PublisherRegistration::new(""), "dataId must not be empty"),
        (
            PublisherRegistration::new("a#@#b"),
            "dataId must not contain the separator",
        ),
        (
            PublisherRegistration::new(SVC).group("g\u{1b}"),
            "group contains the control character",
        ),
        (
            PublisherRegistration::new(SVC).data(vec!["x"; 200]),
            "data has 200 items",
        ),
    ];
    for (reg, text) in cases {
        let e = c.publish(reg).await.expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains(text), "{e}");
    }
    let e = c
        .subscribe(SubscriberRegistration::new(&*"x".repeat(513)))
        .await
        .err()
        .unwrap();
    assert!(e.message().contains("longer than the limit of 512"), "{e}");
    let p = c
        .publish(PublisherRegistration::new(SVC).data(["ok"]))
        .await
        .unwrap();
    let e = p.republish(["bad\u{0}"]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        p.current().unwrap(),
        (1, vec!["ok".to_owned()]),
        "a refused republish changes nothing"
    );
    let e = roster_core::Client::builder()
        .endpoints(["nohost"])
        .build()
        .err()
        .unwrap();
    assert!(e.message().contains("\"nohost\" is not host:port"), "{e}");
    assert_eq!(server.stats().publishers, 1);
}
