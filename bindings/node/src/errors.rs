//! Core errors as JS errors. The message is the core's display, `CODE: message`, so the
//! JavaScript layer turns it into the class of that code (`RosterError` subclasses) without
//! formatting anything itself.

use roster_core::{Error, ErrorKind};

pub(crate) fn to_js(e: Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

pub(crate) fn internal(message: String) -> napi::Error {
    to_js(Error::new(ErrorKind::Internal, message))
}

pub(crate) fn invalid(message: String) -> napi::Error {
    to_js(Error::new(ErrorKind::InvalidArgument, message))
}
