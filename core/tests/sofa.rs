//! The SOFARegistry transport. Two kinds of tests:
//!
//! - Against a real SOFARegistry 6.3.0 (ignored by a plain `cargo test`: `make sofa-test`
//!   starts one with `scripts/sofa-registry.sh` and runs them with `--ignored`, one at a
//!   time, since its ports are fixed). Its HTTP endpoint is `ROSTER_SOFA_ENDPOINT` (default
//!   `sofa://127.0.0.1:9603`).
//! - Against a Bolt server in this file that misbehaves on purpose (garbage, a frame cut
//!   off, requests of unknown classes), which always run.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use roster_core::{
    Client, ErrorKind, Protocol, PublishMode, PublisherRegistration, Scope, SubscribeMode,
    SubscriberRegistration,
};

/// Pushes take about 2 s with SOFARegistry's default debouncing.
const WAIT: Duration = Duration::from_secs(30);

fn endpoint() -> String {
    std::env::var("ROSTER_SOFA_ENDPOINT").unwrap_or_else(|_| "sofa://127.0.0.1:9603".into())
}

/// A dataId no earlier run used (the server keeps data between runs).
fn fresh(name: &str) -> String {
    format!("roster.test.{name}.{}:1.0", uuid::Uuid::new_v4().simple())
}

async fn client(zone: &str) -> Client {
    common::init_tracing();
    let c = Client::builder()
        .endpoints([endpoint()])
        .app_name("roster-sofa-test")
        .zone(zone)
        .request_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(c.protocol(), Protocol::Sofa);
    c.wait_connected(WAIT).await.unwrap();
    c
}

fn sub(data_id: &str, scope: Scope) -> SubscriberRegistration {
    SubscriberRegistration::new(data_id).scope(scope)
}

const ZONE: &str = "DEFAULT_ZONE";

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn publish_then_subscribe_and_subscribe_then_publish_both_deliver() {
    let (p, s) = (client(ZONE).await, client(ZONE).await);
    let first = fresh("pubfirst");
    let _pub1 = p
        .publish(PublisherRegistration::new(&first).data(["bolt://10.1.0.1:12200"]))
        .await
        .unwrap();
    let sub1 = s.subscribe(sub(&first, Scope::Global)).await.unwrap();
    let d = sub1.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(d.zones[ZONE], ["bolt://10.1.0.1:12200"]);
    assert_eq!(d.data_info_id.data_id, first);
    assert!(!d.from_cache);

    let second = fresh("subfirst");
    let sub2 = s.subscribe(sub(&second, Scope::Global)).await.unwrap();
    let empty = sub2.wait_for(|_| true, WAIT).await.unwrap();
    assert!(empty.is_empty(), "{empty:?}");
    let _pub2 = p
        .publish(PublisherRegistration::new(&second).data(["bolt://10.1.0.2:12200"]))
        .await
        .unwrap();
    let d = sub2.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert!(d.version > empty.version);
    p.close().await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn republish_and_unregister_are_pushed_down_to_an_empty_list() {
    let (p, s) = (client(ZONE).await, client(ZONE).await);
    let id = fresh("changes");
    let a = p
        .publish(PublisherRegistration::new(&id).data(["bolt://10.2.0.1:1"]))
        .await
        .unwrap();
    let b = p
        .publish(PublisherRegistration::new(&id).data(["bolt://10.2.0.2:1"]))
        .await
        .unwrap();
    let watch = s.subscribe(sub(&id, Scope::Global)).await.unwrap();
    let mut versions = Vec::new();
    let two = watch.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    versions.push(two.version);
    a.republish(["bolt://10.2.0.1:2", "bolt://10.2.0.1:3"])
        .await
        .unwrap();
    let three = watch.wait_for(|d| d.len() == 3, WAIT).await.unwrap();
    versions.push(three.version);
    a.unregister().await.unwrap();
    let one = watch
        .wait_for(|d| d.items().eq(["bolt://10.2.0.2:1"]), WAIT)
        .await
        .unwrap();
    versions.push(one.version);
    b.unregister().await.unwrap();
    let none = watch.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    versions.push(none.version);
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    p.close().await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn scopes_follow_the_session_servers_zone() {
    // SOFARegistry's zone is the session server's region (DEFAULT_ZONE here): a zone-scoped
    // subscriber sees the publishers registered in that zone, whatever its own; dataCenter
    // and global see every zone of the data center.
    let (home, away) = (client(ZONE).await, client("zone-b").await);
    let id = fresh("scopes");
    let _h = home
        .publish(PublisherRegistration::new(&id).data(["bolt://10.3.0.1:1"]))
        .await
        .unwrap();
    let _a = away
        .publish(PublisherRegistration::new(&id).data(["bolt://10.3.0.2:1"]))
        .await
        .unwrap();
    let watcher = client("zone-b").await;
    let global = watcher.subscribe(sub(&id, Scope::Global)).await.unwrap();
    let d = global.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    assert_eq!(d.zones[ZONE], ["bolt://10.3.0.1:1"]);
    assert_eq!(d.zones["zone-b"], ["bolt://10.3.0.2:1"]);
    let dc = watcher
        .subscribe(sub(&id, Scope::DataCenter))
        .await
        .unwrap();
    dc.wait_for(|d| d.len() == 2, WAIT).await.unwrap();
    let zone = watcher.subscribe(sub(&id, Scope::Zone)).await.unwrap();
    let d = zone.wait_for(|d| !d.is_empty(), WAIT).await.unwrap();
    assert_eq!(d.items().collect::<Vec<_>>(), ["bolt://10.3.0.1:1"]);
    for c in [home, away, watcher] {
        c.close().await;
    }
}

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn bad_input_is_refused_before_sending_as_on_the_roster_server() {
    let c = client(ZONE).await;
    let e = c.publish(PublisherRegistration::new("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("dataId"), "{e}");
    let e = c
        .publish(PublisherRegistration::new("a#@#b"))
        .await
        .unwrap_err();
    assert!(e.message().contains("#@#"), "{e}");
    let e = c
        .subscribe(SubscriberRegistration::new("x").group("bad\ngroup"))
        .await
        .unwrap_err();
    assert!(e.message().contains("group"), "{e}");
    // The session is unharmed.
    let id = fresh("afterbad");
    let _p = c
        .publish(PublisherRegistration::new(&id).data(["bolt://10.4.0.1:1"]))
        .await
        .unwrap();
    let s = c.subscribe(sub(&id, Scope::Global)).await.unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    c.close().await;
}

#[tokio::test]
async fn application_level_modes_are_refused_on_a_sofa_endpoint_with_the_reason() {
    let e = Client::builder()
        .endpoints(["sofa://127.0.0.1:1"])
        .publish_mode(PublishMode::All)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.message()
            .contains("publish mode all needs application-level discovery"),
        "{e}"
    );
    let rt_client = Client::builder()
        .endpoints(["sofa://127.0.0.1:1"])
        .build()
        .unwrap();
    let e = rt_client
        .subscribe(SubscriberRegistration::new("x").mode(SubscribeMode::ApplicationFirst))
        .await
        .unwrap_err();
    assert!(e.message().contains("sofa registry"), "{e}");
    let e = rt_client
        .set_publish_mode(PublishMode::Application)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // Mixing registries in one client is refused too.
    let e = Client::builder()
        .endpoints(["sofa://127.0.0.1", "127.0.0.1:9600"])
        .build()
        .unwrap_err();
    assert!(e.message().contains("endpoints mix protocols"), "{e}");
    let e = Client::builder()
        .endpoints(["etcd://127.0.0.1:2379"])
        .build()
        .unwrap_err();
    assert!(e.message().contains("scheme \"etcd\""), "{e}");
}

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn the_session_server_list_and_the_failover_snapshot_are_cached() {
    let cache = tempfile::tempdir().unwrap();
    let id = fresh("cached");
    let p = client(ZONE).await;
    let _pub = p
        .publish(PublisherRegistration::new(&id).data(["bolt://10.9.0.1:1"]))
        .await
        .unwrap();
    // A client with a cache directory learns the session servers and keeps the data.
    let first = Client::builder()
        .endpoints([endpoint()])
        .cache_dir(cache.path())
        .build()
        .unwrap();
    let s = first.subscribe(sub(&id, Scope::Global)).await.unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    first.close().await; // writes the last snapshots
    assert!(cache.path().join("members.json").exists());

    // Its HTTP endpoint is gone: the cached session servers still take it.
    let dead = "sofa://127.0.0.1:1";
    let again = Client::builder()
        .endpoints([dead])
        .cache_dir(cache.path())
        .build()
        .unwrap();
    again.wait_connected(WAIT).await.unwrap();
    let s = again.subscribe(sub(&id, Scope::Global)).await.unwrap();
    let d = s
        .wait_for(|d| d.len() == 1 && !d.from_cache, WAIT)
        .await
        .unwrap();
    assert_eq!(d.zones[ZONE], ["bolt://10.9.0.1:1"]);
    again.close().await;

    // No registry reachable at all: subscribers start from the failover snapshot.
    std::fs::remove_file(cache.path().join("members.json")).unwrap();
    let offline = Client::builder()
        .endpoints([dead])
        .cache_dir(cache.path())
        .build()
        .unwrap();
    let s = offline.subscribe(sub(&id, Scope::Global)).await.unwrap();
    let d = s.peek().expect("the snapshot");
    assert!(d.from_cache);
    assert_eq!(d.items().collect::<Vec<_>>(), ["bolt://10.9.0.1:1"]);
    offline.close().await;
    p.close().await;
}

/// SOFARegistry's own Java client, scripted over stdin (`tests/sofa-java`).
struct JavaPeer {
    child: Child,
    stdin: ChildStdin,
    lines: std_mpsc::Receiver<String>,
}

impl JavaPeer {
    fn start() -> JavaPeer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sofa-java/run.sh");
        let mut child = Command::new("bash")
            .args([script, "127.0.0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("tests/sofa-java/run.sh starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut peer = JavaPeer {
            child,
            stdin,
            lines,
        };
        peer.expect(|l| l == "ready", Duration::from_secs(120));
        peer
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits for a line that satisfies `pred`; an `error` line fails the test.
    fn expect(&mut self, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("the Java peer said nothing matching within {within:?}")
            });
            assert!(!line.starts_with("error"), "the Java peer: {line}");
            if pred(&line) {
                return line;
            }
        }
    }
}

impl Drop for JavaPeer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real SOFARegistry and Java (make sofa-test)"]
async fn a_java_publisher_is_seen_by_roster_and_a_roster_publisher_by_java() {
    let mut java = tokio::task::spawn_blocking(JavaPeer::start).await.unwrap();
    let roster = client(ZONE).await;

    // Java publishes, Roster subscribes.
    let from_java = fresh("fromjava");
    java.say(&format!(
        "publish {from_java} bolt://10.5.0.1:12200?lang=java"
    ));
    java.expect(|l| l == format!("published {from_java}"), WAIT);
    let s = roster
        .subscribe(sub(&from_java, Scope::Global))
        .await
        .unwrap();
    let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    assert_eq!(d.zones[ZONE], ["bolt://10.5.0.1:12200?lang=java"]);
    java.say(&format!("unpublish {from_java}"));
    s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();

    // Roster publishes, Java subscribes.
    let from_roster = fresh("fromroster");
    let p = roster
        .publish(PublisherRegistration::new(&from_roster).data(["bolt://10.5.0.2:12200?lang=rust"]))
        .await
        .unwrap();
    java.say(&format!("subscribe {from_roster} global"));
    let line = format!("push {from_roster} {ZONE}=bolt://10.5.0.2:12200?lang=rust");
    java.expect(|l| l == line, WAIT);
    p.republish(["bolt://10.5.0.3:12200?lang=rust"])
        .await
        .unwrap();
    let line = format!("push {from_roster} {ZONE}=bolt://10.5.0.3:12200?lang=rust");
    java.expect(|l| l == line, WAIT);
    p.unregister().await.unwrap();
    let line = format!("push {from_roster} ");
    java.expect(|l| l == line, WAIT);
    roster.close().await;
    tokio::task::spawn_blocking(move || drop(java))
        .await
        .unwrap();
}

/// The child half of the next test: publishes and waits to be killed.
const CHILD: &str = "ROSTER_SOFA_CHILD_PUBLISHES";

#[tokio::test]
#[ignore = "needs a real SOFARegistry (make sofa-test)"]
async fn a_killed_client_process_vanishes_from_other_subscribers() {
    if let Ok(data_id) = std::env::var(CHILD) {
        let c = client(ZONE).await;
        let _p = c
            .publish(PublisherRegistration::new(&data_id).data(["bolt://10.6.0.1:1"]))
            .await
            .unwrap();
        println!("child published");
        tokio::time::sleep(Duration::from_secs(600)).await;
        return;
    }
    let id = fresh("killed");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_killed_client_process_vanishes_from_other_subscribers",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, &id)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let published = tokio::task::spawn_blocking(move || {
        out.lines()
            .map_while(Result::ok)
            .any(|l| l.contains("child published"))
    });
    assert!(
        tokio::time::timeout(WAIT, published)
            .await
            .unwrap()
            .unwrap(),
        "the child process never published"
    );
    let watcher = client(ZONE).await;
    let s = watcher.subscribe(sub(&id, Scope::Global)).await.unwrap();
    s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    child.kill().unwrap(); // SIGKILL: no unregister, the connection just drops
    child.wait().unwrap();
    s.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    watcher.close().await;
}

/// Kills the server (SIGKILL) and starts it again with the script; run last (`z_`), it
/// takes a quarter of a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real SOFARegistry started by scripts/sofa-registry.sh (make sofa-test)"]
async fn z_every_registration_comes_back_after_the_registry_is_killed_and_restarted() {
    let (p, s) = (client(ZONE).await, client(ZONE).await);
    let ids: Vec<String> = (0..5).map(|i| fresh(&format!("restart{i}"))).collect();
    let mut pubs = Vec::new();
    let mut subs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let reg = PublisherRegistration::new(id).data([format!("bolt://10.7.0.{i}:1")]);
        pubs.push(p.publish(reg).await.unwrap());
        subs.push(s.subscribe(sub(id, Scope::Global)).await.unwrap());
    }
    for sub in &subs {
        sub.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/sofa-registry.sh");
    let status =
        tokio::task::spawn_blocking(move || Command::new("bash").args([script, "kill"]).status());
    assert!(
        status.await.unwrap().unwrap().success(),
        "sofa-registry.sh kill"
    );
    // Gone: the clients notice and retry; nothing is lost on their side.
    let deadline = std::time::Instant::now() + WAIT;
    while p.is_connected() || s.is_connected() {
        assert!(
            std::time::Instant::now() < deadline,
            "the clients never noticed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start =
        tokio::task::spawn_blocking(move || Command::new("bash").args([script, "start"]).status());
    assert!(
        start.await.unwrap().unwrap().success(),
        "sofa-registry.sh start"
    );
    // Every publisher is registered again and every subscriber sees it, with no user action.
    p.wait_connected(WAIT).await.unwrap();
    s.wait_connected(WAIT).await.unwrap();
    for (i, sub) in subs.iter().enumerate() {
        let want = format!("bolt://10.7.0.{i}:1");
        let seen = sub
            .wait_for(
                |d| d.items().eq([want.as_str()]) && !d.from_cache,
                Duration::from_secs(60),
            )
            .await;
        assert!(seen.is_ok(), "{}: {:?}", ids[i], sub.peek());
    }
    let fresh_eyes = client(ZONE).await;
    for (i, id) in ids.iter().enumerate() {
        let s = fresh_eyes.subscribe(sub(id, Scope::Global)).await.unwrap();
        let d = s.wait_for(|d| d.len() == 1, WAIT).await.unwrap();
        assert_eq!(d.zones[ZONE], [format!("bolt://10.7.0.{i}:1")]);
    }
    for c in [p, s, fresh_eyes] {
        c.close().await;
    }
}

/// A SOFARegistry stand-in that misbehaves on purpose: an HTTP endpoint listing its Bolt
/// port, and a Bolt server whose n-th connection follows `plan[n]` (the last one repeats).
mod fake {
    use std::sync::{Arc, Mutex};

    use roster_proto::prost::Message;
    use roster_proto::sofa as pb;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const PB: &str = "com.alipay.sofa.registry.common.model.client.pb.";

    /// What the n-th connection does after answering the opening heartbeat.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Plan {
        /// Answers the first registration with bytes that are not Bolt.
        Garbage,
        /// Answers the first registration with a header announcing a 100 MB frame.
        Oversized,
        /// Sends the first half of a push, then closes.
        CutMidFrame,
        /// Answers everything well.
        Behave,
    }

    /// One frame: type byte, cmdcode, id, codec, status, class, content.
    pub struct Frame {
        pub kind: u8,
        pub command: u16,
        pub id: u32,
        pub status: u16,
        pub class: String,
        pub content: Vec<u8>,
    }

    pub async fn read(s: &mut TcpStream) -> std::io::Result<Frame> {
        let mut head = [0u8; 22];
        s.read_exact(&mut head[..2]).await?;
        let len = if head[1] == 0 { 20 } else { 22 };
        s.read_exact(&mut head[2..len]).await?;
        let be16 = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (status, lens) = if head[1] == 0 {
            (be16(10), 12)
        } else {
            (0, 14)
        };
        let (class_len, header_len, content_len) = (
            be16(lens) as usize,
            be16(lens + 2) as usize,
            be32(lens + 4) as usize,
        );
        let mut rest = vec![0u8; class_len + header_len + content_len];
        s.read_exact(&mut rest).await?;
        Ok(Frame {
            kind: head[1],
            command: be16(2),
            id: be32(5),
            status,
            class: String::from_utf8_lossy(&rest[..class_len]).into_owned(),
            content: rest[class_len + header_len..].to_vec(),
        })
    }

    pub fn response(id: u32, command: u16, class: &str, content: &[u8]) -> Vec<u8> {
        let mut b = vec![1, 0];
        b.extend(command.to_be_bytes());
        b.push(1);
        b.extend(id.to_be_bytes());
        b.push(11);
        b.extend(0u16.to_be_bytes());
        b.extend((class.len() as u16).to_be_bytes());
        b.extend(0u16.to_be_bytes());
        b.extend((content.len() as u32).to_be_bytes());
        b.extend(class.as_bytes());
        b.extend(content);
        b
    }

    pub fn request(id: u32, class: &str, content: &[u8]) -> Vec<u8> {
        let mut b = vec![1, 1, 0, 1, 1];
        b.extend(id.to_be_bytes());
        b.push(1); // pushes come with the Hessian codec byte
        b.extend(2000i32.to_be_bytes());
        b.extend((class.len() as u16).to_be_bytes());
        b.extend(0u16.to_be_bytes());
        b.extend((content.len() as u32).to_be_bytes());
        b.extend(class.as_bytes());
        b.extend(content);
        b
    }

    pub fn push(subscriber: &str, data_id: &str, version: i64, items: &[&str]) -> Vec<u8> {
        let boxes = pb::DataBoxesPb {
            data: items
                .iter()
                .map(|d| pb::DataBoxPb {
                    data: d.to_string(),
                })
                .collect(),
        };
        let p = pb::ReceivedDataPb {
            data_id: data_id.into(),
            group: "DEFAULT_GROUP".into(),
            instance_id: "DEFAULT_INSTANCE_ID".into(),
            scope: "global".into(),
            subscriber_regist_ids: vec![subscriber.into()],
            data: [("DEFAULT_ZONE".to_string(), boxes)].into(),
            version,
            ..Default::default()
        };
        request(
            1000 + version as u32,
            &format!("{PB}ReceivedDataPb"),
            &p.encode_to_vec(),
        )
    }

    /// What the server was told, by connection.
    #[derive(Default)]
    pub struct Seen {
        /// (connection, class, eventType, registId, data)
        pub registrations: Vec<(usize, String, String, String, Vec<String>)>,
        /// Answers the client gave to requests from the server: (id, status, class).
        pub answers: Vec<(u32, u16, String)>,
    }

    pub struct Fake {
        pub endpoint: String,
        pub seen: Arc<Mutex<Seen>>,
        /// Requests to send on the current connection.
        pub send: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    }

    pub async fn start(plan: Vec<Plan>) -> Fake {
        let bolt = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bolt_addr = bolt.local_addr().unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_addr = http.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = http.accept().await {
                let body = bolt_addr.to_string();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let (send, mut to_send) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let s2 = seen.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut s, _)) = bolt.accept().await {
                let plan = plan[n.min(plan.len() - 1)];
                let conn = n;
                n += 1;
                let mut first_registration = true;
                loop {
                    let f = tokio::select! {
                        f = read(&mut s) => match f { Ok(f) => f, Err(_) => break },
                        out = to_send.recv() => {
                            let Some(out) = out else { return };
                            let _ = s.write_all(&out).await;
                            continue;
                        }
                    };
                    if f.kind == 0 {
                        s2.lock().unwrap().answers.push((f.id, f.status, f.class));
                        continue;
                    }
                    if f.command == 0 {
                        let _ = s.write_all(&response(f.id, 0, "", &[])).await;
                        continue;
                    }
                    let base = if f.class.ends_with("PublisherRegisterPb") {
                        let p = pb::PublisherRegisterPb::decode(&f.content[..]).unwrap();
                        let data = p.data_list.iter().map(|d| d.data.clone()).collect();
                        (p.base_register.unwrap(), data)
                    } else {
                        let p = pb::SubscriberRegisterPb::decode(&f.content[..]).unwrap();
                        (p.base_register.unwrap(), Vec::new())
                    };
                    let (b, data) = base;
                    s2.lock().unwrap().registrations.push((
                        conn,
                        f.class.rsplit('.').next().unwrap().to_owned(),
                        b.event_type.clone(),
                        b.regist_id.clone(),
                        data,
                    ));
                    if first_registration && plan != Plan::Behave {
                        let bad: Vec<u8> = match plan {
                            Plan::Garbage => b"\x09 this is not SOFABolt at all".to_vec(),
                            // A response header announcing 100 MB of content.
                            Plan::Oversized => {
                                let mut h = response(f.id, 2, "", &[]);
                                h[16..20].copy_from_slice(&(100u32 << 20).to_be_bytes());
                                h
                            }
                            Plan::CutMidFrame => {
                                let p = push(&b.regist_id, &b.data_id, 5, &["bolt://cut:1"]);
                                p[..p.len() / 2].to_vec()
                            }
                            Plan::Behave => unreachable!(),
                        };
                        let _ = s.write_all(&bad).await;
                        if plan == Plan::CutMidFrame {
                            break; // close the connection
                        }
                    } else {
                        let ok = pb::RegisterResponsePb {
                            success: true,
                            regist_id: b.regist_id.clone(),
                            version: b.version,
                            ..Default::default()
                        };
                        let class = format!("{PB}RegisterResponsePb");
                        let _ = s
                            .write_all(&response(f.id, 2, &class, &ok.encode_to_vec()))
                            .await;
                    }
                    first_registration = false;
                }
            }
        });
        Fake {
            endpoint: format!("sofa://{http_addr}"),
            seen,
            send,
        }
    }
}

async fn fake_client(endpoint: &str) -> Client {
    common::init_tracing();
    Client::builder()
        .endpoints([endpoint])
        .request_timeout(Duration::from_secs(2))
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(100))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_server_that_sends_garbage_oversized_or_cut_frames_is_left_and_nothing_is_lost() {
    use fake::Plan::*;
    let server = fake::start(vec![Garbage, Oversized, CutMidFrame, Behave]).await;
    let c = fake_client(&server.endpoint).await;
    // Each bad connection drops the client at its first registration; the redo on the next
    // one carries everything, and the fourth connection answers well.
    let s = c.subscribe(SubscriberRegistration::new("svc.Fake")).await;
    let p = c
        .publish(PublisherRegistration::new("svc.Fake").data(["bolt://10.8.0.1:1"]))
        .await;
    // Whether these were acknowledged or queued for the redo, they stand.
    let (s, p) = (s.unwrap(), p.unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (done, registrations) = {
            let seen = server.seen.lock().unwrap();
            let on_good: Vec<_> = seen.registrations.iter().filter(|r| r.0 == 3).collect();
            let publisher = on_good.iter().any(|r| {
                r.1 == "PublisherRegisterPb" && r.3 == p.regist_id() && r.4 == ["bolt://10.8.0.1:1"]
            });
            let subscriber = on_good.iter().any(|r| {
                r.1 == "SubscriberRegisterPb" && r.3 == s.regist_id() && r.2 == "REGISTER"
            });
            (publisher && subscriber, format!("{:?}", seen.registrations))
        };
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not everything reached the well-behaved connection: {registrations}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(c.is_connected());
    // The push cut in half never reached the subscriber.
    assert!(s.peek().is_none(), "{:?}", s.peek());
    c.close().await;
}

#[tokio::test]
async fn pushes_are_answered_once_taken_and_unknown_requests_with_no_processor() {
    let server = fake::start(vec![fake::Plan::Behave]).await;
    let c = fake_client(&server.endpoint).await;
    let s = c
        .subscribe(SubscriberRegistration::new("svc.Push"))
        .await
        .unwrap();
    c.wait_connected(WAIT).await.unwrap();
    server
        .send
        .send(fake::request(77, "com.example.NotAPush", b"??"))
        .unwrap();
    server
        .send
        .send(fake::push(
            s.regist_id(),
            "svc.Push",
            9,
            &["bolt://10.8.1.1:1"],
        ))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answers = server.seen.lock().unwrap().answers.clone();
        let unknown = answers.iter().find(|a| a.0 == 77);
        let pushed = answers.iter().find(|a| a.0 == 1009);
        if let (Some(unknown), Some(pushed)) = (unknown, pushed) {
            assert_eq!(unknown.1, 6, "no processor for an unknown class");
            assert_eq!(
                (pushed.1, pushed.2.as_str()),
                (
                    0,
                    "com.alipay.sofa.registry.common.model.client.pb.ResultPb"
                )
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "answers: {answers:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Answered only once the subscriber held it.
    let d = s.peek().expect("taken before the answer");
    assert_eq!((d.version, d.len()), (9, 1));
    c.close().await;
}
