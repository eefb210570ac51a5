//! A hand-driven session, for publishing thousands of application-level instances from
//! one connection (each `Client` is one instance, and 7,000 connections would measure
//! the machine rather than the conversion).

use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, server_frame};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

pub struct Raw {
    tx: mpsc::UnboundedSender<v1::ClientFrame>,
    rx: tonic::Streaming<v1::ServerFrame>,
    next: u64,
}

impl Raw {
    pub async fn open(endpoint: &str, client_id: &str) -> Raw {
        let mut grpc = RegistryClient::connect(format!("http://{endpoint}"))
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let hello = v1::Hello {
            client_id: client_id.into(),
            app_name: "bench".into(),
            zone: roster_core::DEFAULT_ZONE.into(),
            data_center: roster_core::DEFAULT_DATA_CENTER.into(),
            ..Default::default()
        };
        tx.send(v1::ClientFrame {
            request_id: 0,
            body: Some(Body::Hello(hello)),
        })
        .unwrap();
        let mut rx = grpc
            .session(UnboundedReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        rx.message().await.unwrap().unwrap(); // Welcome
                                              // Keep-alive pings, so the session outlives a long wait between calls; their
                                              // pongs are skipped by `call_all`.
        let pings = tx.clone();
        tokio::spawn(async move {
            let mut nonce = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                nonce += 1;
                let ping = Body::Ping(v1::Ping { nonce });
                let frame = v1::ClientFrame {
                    request_id: 0,
                    body: Some(ping),
                };
                if pings.send(frame).is_err() {
                    return;
                }
            }
        });
        Raw { tx, rx, next: 1 }
    }

    /// Sends frames and waits for all their acks.
    pub async fn call_all(&mut self, bodies: Vec<Body>) {
        let first = self.next;
        for body in bodies {
            self.tx
                .send(v1::ClientFrame {
                    request_id: self.next,
                    body: Some(body),
                })
                .unwrap();
            self.next += 1;
        }
        let mut acked = 0;
        while acked < self.next - first {
            if let Some(server_frame::Body::Ack(a)) = self.rx.message().await.unwrap().unwrap().body
            {
                assert!(a.code <= 1, "refused: {}", a.message);
                acked += 1;
            }
        }
    }
}

pub fn publish(regist_id: String, key: v1::DataKey, version: u64, item: String) -> Body {
    Body::Publish(v1::Publish {
        regist_id,
        key: Some(key),
        version,
        data: vec![item.into()],
    })
}
