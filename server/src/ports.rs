//! Picking a loopback port for a node whose address must be known before it starts (a
//! cluster's peers, a node restarted on its old address): tests, the bench and the demo
//! use it.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// A loopback address free now, below the kernel's ephemeral range (32768 and up on
/// Linux): no client's outgoing connection, and no `bind(0)` elsewhere, can take its port
/// before the node binds it, or while a killed node is down. Never the same port twice in
/// a process; processes start at different places.
pub fn free_local_addr() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id() % 97 * 120;
    loop {
        let port = 20_000 + (base + NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port as u16)) {
            return l.local_addr().expect("a bound listener has an address");
        }
    }
}
