//! What a C host process needs, set once before the first connection. A peer that closes a
//! socket while Roster writes to it raises SIGPIPE, whose default action ends the process;
//! Rust programs, the JVM, Node and Python all ignore it, a C program does not. Like gRPC's C
//! core, Roster ignores SIGPIPE when the process still has the default action (a handler the
//! program installed is left alone); write errors are handled as the closed connections
//! they are.

use std::sync::Once;

static ONCE: Once = Once::new();

pub(crate) fn prepare() {
    ONCE.call_once(|| {
        // SAFETY: querying and, if it is the default, replacing SIGPIPE's disposition with
        // SIG_IGN; `sigaction` structs are plain data, zeroed then filled.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut current) == 0
                && current.sa_sigaction == libc::SIG_DFL
            {
                let mut ignore: libc::sigaction = std::mem::zeroed();
                ignore.sa_sigaction = libc::SIG_IGN;
                libc::sigemptyset(&mut ignore.sa_mask);
                libc::sigaction(libc::SIGPIPE, &ignore, std::ptr::null_mut());
            }
        }
    });
}
