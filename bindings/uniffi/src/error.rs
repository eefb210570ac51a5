//! Errors: one variant per core error kind, its message the core's (`CODE: ...`).

use roster_core::ErrorKind;

/// A Roster error; in Kotlin `RosterException.InvalidArgument`, ..., in Swift
/// `RosterError.InvalidArgument`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum RosterError {
    /// An argument was empty, too long, malformed or over a limit; the message names it.
    #[error("{0}")]
    InvalidArgument(String),
    /// No registry node could be reached.
    #[error("{0}")]
    NotConnected(String),
    /// The registry did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The registry refused the request.
    #[error("{0}")]
    Refused(String),
    /// The node is not its cluster's leader.
    #[error("{0}")]
    NotLeader(String),
    /// The registration is not known to the registry.
    #[error("{0}")]
    NotFound(String),
    /// The client (or the handle) was closed.
    #[error("{0}")]
    ShutDown(String),
    /// Reading or writing the cache directory failed.
    #[error("{0}")]
    Io(String),
    /// A bug or an unexpected answer.
    #[error("{0}")]
    Internal(String),
    /// The registry refused the client's credentials (missing, unknown key, wrong secret, clock
    /// skew, replay).
    #[error("{0}")]
    Unauthenticated(String),
    /// The client's access key may not do this (tenant or dataId).
    #[error("{0}")]
    PermissionDenied(String),
}

impl From<roster_core::Error> for RosterError {
    fn from(e: roster_core::Error) -> Self {
        let m = e.to_string();
        match e.kind() {
            ErrorKind::InvalidArgument => RosterError::InvalidArgument(m),
            ErrorKind::NotConnected => RosterError::NotConnected(m),
            ErrorKind::Timeout => RosterError::Timeout(m),
            ErrorKind::Refused => RosterError::Refused(m),
            ErrorKind::NotLeader => RosterError::NotLeader(m),
            ErrorKind::NotFound => RosterError::NotFound(m),
            ErrorKind::ShutDown => RosterError::ShutDown(m),
            ErrorKind::Io => RosterError::Io(m),
            ErrorKind::Unauthenticated => RosterError::Unauthenticated(m),
            ErrorKind::PermissionDenied => RosterError::PermissionDenied(m),
            _ => RosterError::Internal(m),
        }
    }
}

/// What a listener may fail with; anything it throws is turned into this, logged, and later
/// pushes still come.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum ListenerError {
    #[error("{0}")]
    Failed(String),
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed(e.reason)
    }
}

pub(crate) type Result<T> = std::result::Result<T, RosterError>;

#[cfg(test)]
mod tests {
    use super::*;
    use roster_bindings::names::ERROR_KINDS;

    #[test]
    fn every_code_is_documented_with_the_core_description() {
        // The doc comments (which become Kotlin's and Swift's) say what the core says, word for word.
        let missing = roster_bindings::names::kinds_not_documented_in(include_str!("error.rs"));
        assert!(missing.is_empty(), "described otherwise: {missing:?}");
    }

    #[test]
    fn every_core_kind_has_its_own_variant() {
        for k in ERROR_KINDS {
            let e = RosterError::from(roster_core::Error::new(k.kind, "x"));
            let variant = format!("{e:?}");
            assert!(variant.starts_with(k.name), "{} -> {variant}", k.code);
        }
    }
}
