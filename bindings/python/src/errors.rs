//! Core error kinds mapped one to one onto Python exceptions, all under `RosterError`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use roster_core::{Error, ErrorKind};

create_exception!(
    roster,
    RosterError,
    PyException,
    "Base of every Roster error; `code` is the stable error code."
);
create_exception!(
    roster,
    InvalidArgumentError,
    RosterError,
    "An argument was empty, too long, malformed or over a limit; the message names it."
);
create_exception!(
    roster,
    NotConnectedError,
    RosterError,
    "No registry node could be reached."
);
create_exception!(
    roster,
    RequestTimeoutError,
    RosterError,
    "The registry did not answer in time."
);
create_exception!(
    roster,
    RefusedError,
    RosterError,
    "The registry refused the request."
);
create_exception!(
    roster,
    NotLeaderError,
    RosterError,
    "The node is not its cluster's leader."
);
create_exception!(
    roster,
    NotFoundError,
    RosterError,
    "The registration is not known to the registry."
);
create_exception!(
    roster,
    ShutDownError,
    RosterError,
    "The client (or the handle) was closed."
);
create_exception!(
    roster,
    CacheIOError,
    RosterError,
    "Reading or writing the cache directory failed."
);
create_exception!(
    roster,
    InternalError,
    RosterError,
    "A bug or an unexpected answer."
);

/// The Python exception for a core error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::InvalidArgument => InvalidArgumentError::new_err(msg),
        ErrorKind::NotConnected => NotConnectedError::new_err(msg),
        ErrorKind::Timeout => RequestTimeoutError::new_err(msg),
        ErrorKind::Refused => RefusedError::new_err(msg),
        ErrorKind::NotLeader => NotLeaderError::new_err(msg),
        ErrorKind::NotFound => NotFoundError::new_err(msg),
        ErrorKind::ShutDown => ShutDownError::new_err(msg),
        ErrorKind::Io => CacheIOError::new_err(msg),
        ErrorKind::Internal => InternalError::new_err(msg),
        _ => RosterError::new_err(msg),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = [
        (py.get_type::<RosterError>(), None),
        (
            py.get_type::<InvalidArgumentError>(),
            Some(ErrorKind::InvalidArgument),
        ),
        (
            py.get_type::<NotConnectedError>(),
            Some(ErrorKind::NotConnected),
        ),
        (
            py.get_type::<RequestTimeoutError>(),
            Some(ErrorKind::Timeout),
        ),
        (py.get_type::<RefusedError>(), Some(ErrorKind::Refused)),
        (py.get_type::<NotLeaderError>(), Some(ErrorKind::NotLeader)),
        (py.get_type::<NotFoundError>(), Some(ErrorKind::NotFound)),
        (py.get_type::<ShutDownError>(), Some(ErrorKind::ShutDown)),
        (py.get_type::<CacheIOError>(), Some(ErrorKind::Io)),
        (py.get_type::<InternalError>(), Some(ErrorKind::Internal)),
    ];
    for (class, kind) in classes {
        class.setattr("code", kind.map(ErrorKind::code))?;
        m.add(class.name()?, class)?;
    }
    Ok(())
}
