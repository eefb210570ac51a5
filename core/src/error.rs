//! The one error type of the core. Its [`ErrorKind`] is stable: every binding maps each
//! kind one to one (a Python exception class, a JS `code`, a Java enum, a C error code).

use std::fmt;

/// What went wrong, as a stable code. Non-exhaustive: new kinds may be added.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument was empty, too long, malformed or over a limit; the message names it.
    InvalidArgument,
    /// No registry node could be reached.
    NotConnected,
    /// The registry did not answer in time.
    Timeout,
    /// The registry refused the request.
    Refused,
    /// The node is not its cluster's leader.
    NotLeader,
    /// The registration is not known to the registry.
    NotFound,
    /// The client (or the handle) was closed.
    ShutDown,
    /// Reading or writing the cache directory failed.
    Io,
    /// The registry refused the client's credentials (missing, unknown key, wrong secret, clock
    /// skew, replay).
    Unauthenticated,
    /// The client's access key may not do this (tenant or dataId).
    PermissionDenied,
    /// A bug or an unexpected answer.
    Internal,
}

impl ErrorKind {
    /// What the kind means, one sentence: the description every binding shows (their docs
    /// say the same; the C and uniffi crates test that they do).
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "An argument was empty, too long, malformed or over a limit; the message names it.",
            ErrorKind::NotConnected => "No registry node could be reached.",
            ErrorKind::Timeout => "The registry did not answer in time.",
            ErrorKind::Refused => "The registry refused the request.",
            ErrorKind::NotLeader => "The node is not its cluster's leader.",
            ErrorKind::NotFound => "The registration is not known to the registry.",
            ErrorKind::ShutDown => "The client (or the handle) was closed.",
            ErrorKind::Io => "Reading or writing the cache directory failed.",
            ErrorKind::Internal => "A bug or an unexpected answer.",
            ErrorKind::Unauthenticated => "The registry refused the client's credentials (missing, unknown key, wrong secret, clock skew, replay).",
            ErrorKind::PermissionDenied => "The client's access key may not do this (tenant or dataId).",
        }
    }

    /// The stable code used by every binding, e.g. `INVALID_ARGUMENT`.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::NotConnected => "NOT_CONNECTED",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Refused => "REFUSED",
            ErrorKind::NotLeader => "NOT_LEADER",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::ShutDown => "SHUT_DOWN",
            ErrorKind::Io => "IO",
            ErrorKind::Unauthenticated => "UNAUTHENTICATED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error with a stable [`ErrorKind`] and a message naming what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// `NotLeader`: the leader's `host:port`, when the node knew it.
    leader: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
            leader: None,
        }
    }

    /// A `NotLeader` error naming the leader (`None`: no leader is elected yet).
    pub(crate) fn not_leader(message: impl Into<String>, leader: Option<String>) -> Self {
        let mut e = Self::new(ErrorKind::NotLeader, message);
        e.leader = leader;
        e
    }

    /// For `NotLeader`: the leader's `host:port`, when the refusing node knew it.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn shut_down() -> Self {
        Self::new(ErrorKind::ShutDown, "the client is closed")
    }
}

/// A duration as messages print it: `300 ms`, `5 s` (no Rust debug form in a message).
pub(crate) fn duration_text(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

impl From<roster_proto::rules::RuleError> for Error {
    fn from(e: roster_proto::rules::RuleError) -> Self {
        Self::invalid(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
