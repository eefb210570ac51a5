//! The user's handle of a subscription: reads from its slot, and asks the resolver (for its
//! mode) and the engine (to unsubscribe).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{duration_text, Error, ErrorKind, Result};
use crate::model::{DataInfoId, MigrationStatus, Scope, SubscribeMode, SubscriberData};
use crate::resolver::{Resolver, UserSub};
use crate::slot::{Slot, Updates};
use tokio_util::sync::CancellationToken;

/// A live subscription. Dropping it unsubscribes.
pub struct Subscriber {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) sub: Arc<UserSub>,
}

impl Subscriber {
    pub fn regist_id(&self) -> &str {
        &self.sub.regist_id
    }

    pub fn data_info_id(&self) -> &DataInfoId {
        &self.sub.key
    }

    pub fn scope(&self) -> Scope {
        self.sub.scope
    }

    /// The latest data without waiting; `None` before the first push.
    pub fn peek(&self) -> Option<Arc<SubscriberData>> {
        self.sub.slot.peek()
    }

    /// A stream of the newest data (see [`Updates`]).
    pub fn updates(&self) -> Updates {
        self.sub.slot.updates()
    }

    /// Waits until the newest data satisfies `pred` (checked on the current data, then on
    /// each newer version), for at most `timeout`. The one wait every binding offers (see
    /// [`Wait`]): a time-out is `TIMEOUT` naming the dataInfoId and the latest version
    /// seen, the subscription ending while it waits `SHUT_DOWN`.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&SubscriberData) -> bool,
        timeout: Duration,
    ) -> Result<Arc<SubscriberData>> {
        let ends = self.wait_ends(timeout);
        match tokio::time::timeout(timeout, self.sub.slot.wait_until(pred)).await {
            Ok(Some(data)) => Ok(data),
            Ok(None) => Err(ends.ended()),
            Err(_) => Err(ends.timed_out()),
        }
    }

    /// Waits for data newer than version `newer_than` (0: any data): `wait_for` with the
    /// condition that hosts without closures across their boundary (C, uniffi) use.
    pub async fn wait_newer(
        &self,
        newer_than: u64,
        timeout: Duration,
    ) -> Result<Arc<SubscriberData>> {
        self.wait_for(|d| d.version > newer_than, timeout).await
    }

    /// `wait_for` for a host that tests the data itself (a Python, JavaScript or Java
    /// predicate): call [`Wait::next`] until the data satisfies it. The rule and the errors
    /// are `wait_for`'s.
    pub fn wait(&self, timeout: Duration) -> Wait {
        Wait {
            updates: self.updates(),
            deadline: tokio::time::Instant::now() + timeout,
            ends: self.wait_ends(timeout),
        }
    }

    fn wait_ends(&self, timeout: Duration) -> WaitEnds {
        WaitEnds {
            slot: self.sub.slot.clone(),
            key: self.sub.key.to_string(),
            regist_id: self.sub.regist_id.clone(),
            closed: self.resolver.engine().closed().clone(),
            timeout,
        }
    }

    /// The mode this subscription runs in now.
    pub fn mode(&self) -> SubscribeMode {
        self.sub.mode(self.resolver.engine())
    }

    /// Where this subscription stands in its migration.
    pub fn migration_status(&self) -> MigrationStatus {
        self.sub.migration_status(self.resolver.engine())
    }

    /// Switches this subscription to `mode` (`None`: follow the client's mode) without
    /// resubscribing by hand; the data keeps flowing into the same updates and callback.
    /// Takes effect when called; the future waits for the registry.
    pub fn set_mode(
        &self,
        mode: Option<SubscribeMode>,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let engine = self.resolver.engine().clone();
        let started = engine
            .check_level(None, mode)
            .map(|()| self.sub.set_mode(&self.resolver, mode));
        async move {
            engine
                .await_all(started?, "the subscribe mode change")
                .await
        }
    }

    /// Removes the subscription at the registry and ends its updates and callback (now;
    /// the future waits for the registry).
    pub fn unsubscribe(self) -> impl Future<Output = Result<()>> + Send + 'static {
        let engine = self.resolver.engine().clone();
        let started = engine.check_open().map(|()| self.sub.close(&engine));
        async move { engine.await_all(started?, "the unsubscribe").await }
    }
}

/// A wait for data that a host drives (see [`Subscriber::wait`]). Holds no reference to the
/// subscription: unsubscribing ends it.
pub struct Wait {
    updates: Updates,
    deadline: tokio::time::Instant,
    ends: WaitEnds,
}

impl Wait {
    /// The data to test next: the current data first, then each newer version (coalesced:
    /// a slow test skips to the newest). `TIMEOUT` once the time is up, `SHUT_DOWN` once the
    /// subscription ended.
    pub async fn next(&mut self) -> Result<Arc<SubscriberData>> {
        match tokio::time::timeout_at(self.deadline, self.updates.next()).await {
            Ok(Some(data)) => Ok(data),
            Ok(None) => Err(self.ends.ended()),
            Err(_) => Err(self.ends.timed_out()),
        }
    }
}

/// How a wait ends other than with data: its two messages, written once.
struct WaitEnds {
    slot: Arc<Slot>,
    key: String,
    regist_id: Arc<str>,
    closed: CancellationToken,
    timeout: Duration,
}

impl WaitEnds {
    fn timed_out(&self) -> Error {
        let latest = match self.slot.peek() {
            Some(d) => format!("the latest is version {} with {} items", d.version, d.len()),
            None => "none has arrived yet".to_owned(),
        };
        Error::new(
            ErrorKind::Timeout,
            format!(
                "no data of {} matched within {}; {latest}",
                self.key,
                duration_text(self.timeout)
            ),
        )
    }

    fn ended(&self) -> Error {
        if self.closed.is_cancelled() {
            Error::shut_down()
        } else {
            Error::new(
                ErrorKind::ShutDown,
                format!("subscriber {} is unsubscribed", self.regist_id),
            )
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.sub.close(self.resolver.engine());
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("regist_id", &self.sub.regist_id)
            .field("data_info_id", &self.sub.key.to_string())
            .field("scope", &self.sub.scope)
            .finish()
    }
}
