//! Frames captured from a real SOFARegistry 6.3.0 session server, stored in `testdata/` and
//! decoded by the codec and the message mapping as they are. `capture` (ignored; run it
//! against a server started with `scripts/sofa-registry.sh start`) records them again:
//!
//! ```text
//! ROSTER_SOFA_CAPTURE=1 cargo test -p roster-core capture -- --ignored
//! ```

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::bolt::{BoltCodec, Frame, Kind};
use super::messages;
use crate::transport::Acked;

fn decode_one(bytes: &[u8]) -> Frame {
    let mut codec = BoltCodec { max_frame: 1 << 20 };
    let mut buf = BytesMut::from(bytes);
    let frame = codec.decode(&mut buf).unwrap().expect("a whole frame");
    assert!(buf.is_empty(), "exactly one frame");
    frame
}

#[test]
fn a_heartbeat_answer() {
    let f = decode_one(include_bytes!("testdata/heartbeat-response.bin"));
    assert_eq!((f.kind, f.command, f.status), (Kind::Response, 0, 0));
}

#[test]
fn a_registration_answer() {
    let f = decode_one(include_bytes!("testdata/register-response.bin"));
    assert_eq!(
        (f.kind, f.command),
        (Kind::Response, super::bolt::CMD_RESPONSE)
    );
    assert_eq!(messages::simple(&f.class), "RegisterResponsePb");
    assert_eq!(f.codec, super::bolt::CODEC_PROTOBUF);
    assert_eq!(messages::acked(f.status, &f.class, &f.content), Acked::Ok);
}

#[test]
fn a_push_with_data_and_an_empty_one() {
    let f = decode_one(include_bytes!("testdata/push.bin"));
    assert_eq!(
        (f.kind, f.command),
        (Kind::Request, super::bolt::CMD_REQUEST)
    );
    // Pushes come with the Hessian codec byte but a protobuf body.
    assert_eq!(f.codec, super::bolt::CODEC_HESSIAN2);
    assert_eq!(messages::simple(&f.class), messages::RECEIVED_DATA);
    let (data, ids) = messages::push(&f.content).unwrap();
    assert_eq!(data.data_info_id.data_id, "roster.capture.Svc:1.0");
    assert_eq!(
        data.items().collect::<Vec<_>>(),
        ["bolt://10.9.8.7:12200?capture=1"]
    );
    assert_eq!(ids, ["capture-subscriber"]);
    assert!(data.version > 1);

    let f = decode_one(include_bytes!("testdata/push-empty.bin"));
    let (data, _) = messages::push(&f.content).unwrap();
    assert!(data.is_empty());
}

/// Records the frames above from a real server (see the module documentation).
#[tokio::test]
#[ignore = "needs a real SOFARegistry; ROSTER_SOFA_CAPTURE=1 to overwrite testdata/"]
async fn capture() {
    use futures_util::{SinkExt, StreamExt};
    use std::sync::Arc;

    use crate::model::{DataInfoId, Scope};
    use crate::transport::{Op, Reg};

    if std::env::var_os("ROSTER_SOFA_CAPTURE").is_none() {
        panic!("set ROSTER_SOFA_CAPTURE=1 to overwrite the captured frames");
    }
    let discovery = super::Discovery::new(
        &["127.0.0.1:9603".into()],
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let server = discovery
        .query()
        .await
        .expect("a running SOFARegistry")
        .members[0]
        .clone();
    let stream = tokio::net::TcpStream::connect(&server).await.unwrap();
    // Raw bytes in, so what is stored is exactly what the server sent.
    let mut raw = tokio_util::codec::Framed::new(stream, Raw(BoltCodec { max_frame: 1 << 20 }));
    let ctx = messages::Context {
        client_id: "capture".into(),
        app_name: "capture".into(),
        zone: "DEFAULT_ZONE".into(),
        process_id: "1".into(),
        ip: "127.0.0.1".into(),
        port: 1,
    };
    let reg = |id: &str, version| Reg {
        regist_id: Arc::from(id),
        key: DataInfoId::new("roster.capture.Svc:1.0"),
        version,
    };
    let request = |id: u32, op: Op| {
        let (class, content) = messages::encode(&ctx, &op).unwrap();
        Frame::request(id, &messages::class(class), content, 3000)
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/transport/sofa/testdata");
    std::fs::create_dir_all(&dir).unwrap();
    let save = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    raw.send(Frame::heartbeat(1, 3000)).await.unwrap();
    let (_, bytes) = raw.next().await.unwrap().unwrap();
    save("heartbeat-response.bin", &bytes);

    let subscribe = Op::Subscribe {
        reg: reg("capture-subscriber", 1),
        scope: Scope::Global,
        convert: false,
        handle: 1,
    };
    raw.send(request(2, subscribe)).await.unwrap();
    let publish = Op::Publish {
        reg: reg("capture-publisher", 1),
        data: vec!["bolt://10.9.8.7:12200?capture=1".into()],
    };
    let mut published = false;
    let mut saved_empty = false;
    loop {
        let (frame, bytes) = raw.next().await.unwrap().unwrap();
        if frame.kind == Kind::Response && frame.id == 2 {
            save("register-response.bin", &bytes);
        }
        if frame.kind == Kind::Request {
            let (data, _) = messages::push(&frame.content).unwrap();
            let answer = Frame::response(
                frame.id,
                super::bolt::CMD_RESPONSE,
                0,
                &messages::class(messages::RESULT),
                messages::result(true, ""),
            );
            raw.send(answer).await.unwrap();
            if data.is_empty() && !saved_empty {
                save("push-empty.bin", &bytes);
                saved_empty = true;
            } else if !data.is_empty() {
                save("push.bin", &bytes);
                break;
            }
            if !published {
                raw.send(request(3, publish.clone())).await.unwrap();
                published = true;
            }
        }
    }
}

/// The Bolt codec, also handing out each frame's raw bytes.
struct Raw(BoltCodec);

impl Decoder for Raw {
    type Item = (Frame, bytes::Bytes);
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let before = src.clone();
        match self.0.decode(src)? {
            Some(frame) => {
                let used = before.len() - src.len();
                Ok(Some((frame, before.freeze().slice(..used))))
            }
            None => Ok(None),
        }
    }
}

impl tokio_util::codec::Encoder<Frame> for Raw {
    type Error = std::io::Error;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), Self::Error> {
        self.0.encode(item, dst)
    }
}
