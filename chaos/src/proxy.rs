//! A fault-injecting TCP proxy on loopback: every connection to its address is forwarded
//! to one target, and each direction can be cut or delayed while the connections stay
//! open, or every connection dropped. A cut holds the bytes (they are not read, so TCP's
//! own flow control stops the sender) and releases them when the link heals, as a network
//! partition with retransmission would: streams are never corrupted, only late. A drop
//! closes both sides of every connection open now, as a peer whose packets were lost for
//! too long would see it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a link does now. `forward` is the direction from the connecting side to the
/// target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub forward_cut: bool,
    pub backward_cut: bool,
    pub delay: Duration,
    /// Raised by [`Proxy::drop_connections`]: connections opened before end.
    pub drops: u64,
}

impl Link {
    pub const OPEN: Link = Link {
        forward_cut: false,
        backward_cut: false,
        delay: Duration::ZERO,
        drops: 0,
    };
    pub const CUT: Link = Link {
        forward_cut: true,
        backward_cut: true,
        delay: Duration::ZERO,
        drops: 0,
    };
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: watch::Sender<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port (below the ephemeral range, so a restarted process
    /// never finds it taken) and forwards to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        let addr = roster_server::free_local_addr();
        let listener = TcpListener::bind(addr).await?;
        let (state, rx) = watch::channel(Link::OPEN);
        let task = tokio::spawn(async move {
            while let Ok((incoming, _)) = listener.accept().await {
                let rx = rx.clone();
                tokio::spawn(async move {
                    // A target that is down refuses, as it would without the proxy.
                    let Ok(outgoing) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = incoming.set_nodelay(true);
                    let _ = outgoing.set_nodelay(true);
                    let (ir, iw) = incoming.into_split();
                    let (or, ow) = outgoing.into_split();
                    tokio::join!(pump(ir, ow, rx.clone(), true), pump(or, iw, rx, false));
                });
            }
        });
        Ok(Proxy { addr, state, task })
    }

    /// Cuts, heals or delays (connections stay open).
    pub fn set(&self, link: Link) {
        self.state.send_modify(|l| {
            *l = Link {
                drops: l.drops,
                ..link
            }
        });
    }

    /// Closes every connection open now (new ones are accepted as before).
    pub fn drop_connections(&self) {
        self.state.send_modify(|l| l.drops += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The link once this direction is open, or at once when this connection was dropped
/// (`drops` moved on).
async fn wait_open(rx: &mut watch::Receiver<Link>, forward: bool, drops: u64) -> Link {
    loop {
        let link = *rx.borrow_and_update();
        let cut = if forward {
            link.forward_cut
        } else {
            link.backward_cut
        };
        if !cut || link.drops != drops {
            return link;
        }
        if rx.changed().await.is_err() {
            // The proxy is gone: hold forever (the task is aborted with it).
            std::future::pending::<()>().await;
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut rx: watch::Receiver<Link>,
    forward: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let drops = rx.borrow().drops;
    loop {
        if wait_open(&mut rx, forward, drops).await.drops != drops {
            return; // dropped: both halves close with this task
        }
        let read = tokio::select! {
            read = from.read(&mut buf) => read,
            // Re-evaluated above: a cut, a delay, or this connection dropped.
            changed = rx.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return, // the proxy is gone
            },
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        let link = wait_open(&mut rx, forward, drops).await;
        if link.drops != drops {
            return;
        }
        if !link.delay.is_zero() {
            tokio::time::sleep(link.delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: what the proxy forwards comes back.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn read_within(s: &mut TcpStream, ms: u64) -> Option<Vec<u8>> {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(ms), s.read(&mut buf)).await {
            Ok(Ok(n)) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn cuts_hold_bytes_and_release_them_in_order() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        s.write_all(b"a").await.unwrap();
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b"a"[..]));

        // The way back cut: the echo happens, but its bytes wait.
        proxy.set(Link {
            backward_cut: true,
            ..Link::OPEN
        });
        s.write_all(b"b").await.unwrap();
        assert_eq!(read_within(&mut s, 200).await, None);
        proxy.set(Link::OPEN);
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b"b"[..]));

        // The way there cut: nothing reaches the server until it heals.
        proxy.set(Link {
            forward_cut: true,
            ..Link::OPEN
        });
        s.write_all(b"c").await.unwrap();
        assert_eq!(read_within(&mut s, 200).await, None);
        proxy.set(Link::OPEN);
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b"c"[..]));
    }

    #[tokio::test]
    async fn a_delay_delays_and_a_closed_target_closes() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.set(Link {
            delay: Duration::from_millis(150),
            ..Link::OPEN
        });
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        let start = std::time::Instant::now();
        s.write_all(b"d").await.unwrap();
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b"d"[..]));
        // There and back: two delays.
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );

        // Dropped: the connection is closed; a new one works.
        proxy.set(Link::OPEN);
        proxy.drop_connections();
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b""[..]));
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        s.write_all(b"e").await.unwrap();
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b"e"[..]));

        // Nothing listens at the target: the connection is closed at once.
        let dead = Proxy::start(roster_server::free_local_addr())
            .await
            .unwrap();
        let mut s = TcpStream::connect(dead.addr).await.unwrap();
        assert_eq!(read_within(&mut s, 2000).await.as_deref(), Some(&b""[..]));
    }
}
