//! Abuse limits kept on the node that serves the session (the leader): live sessions per
//! IP address, and a token bucket of frames per session. (Registrations per session are
//! part of the registry's replicated state: `registry::registrations`.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

/// Live sessions per IP address.
#[derive(Default)]
pub struct PerAddress {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One session's place in its address's count, given back when dropped.
pub struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl PerAddress {
    /// A slot for one more session from `ip`, or `None` when it has `max` already.
    pub fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock();
        let n = counts.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.counts.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A token bucket: `rate` frames a second on average, `burst` at once. Owned by one
/// session's reading task, so plain fields (a shared limiter such as `governor` would add
/// atomics and a clock abstraction for nothing here).
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// `rate` 0: no limit.
    pub fn new(rate: u32, burst: u32) -> Bucket {
        let burst = f64::from(burst.max(rate));
        Bucket {
            rate: f64::from(rate),
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Takes one token; false when none is left.
    pub fn take(&mut self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let earned = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let mut b = Bucket::new(10, 20);
        let t0 = Instant::now();
        assert_eq!((0..30).filter(|_| b.take(t0)).count(), 20);
        // 10 a second: half a second later, 5 more.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..30).filter(|_| b.take(t1)).count(), 5);
        // Never more than the burst, however long it waited.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!((0..30).filter(|_| b.take(t2)).count(), 20);
        let mut unlimited = Bucket::new(0, 0);
        assert!((0..100_000).all(|_| unlimited.take(t0)));
    }

    #[test]
    fn slots_count_per_address_and_come_back_when_dropped() {
        let per = PerAddress::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = per.take(a, 2).unwrap();
        let _s2 = per.take(a, 2).unwrap();
        assert!(per.take(a, 2).is_none());
        assert!(
            per.take(b, 2).is_some(),
            "another address has its own count"
        );
        drop(s1);
        assert!(per.take(a, 2).is_some());
    }
}
