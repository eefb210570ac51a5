//! `roster` for Node.js: the native layer (napi-rs) under the package's JavaScript API
//! (`index.js`, `index.d.ts`). It translates over the shared binding pieces
//! (`roster_bindings`: runtime, options, held handles, names, the test server); every
//! behaviour is the core's. The JavaScript layer adds Node's conventions: error classes per
//! kind, `TypeError` for wrong argument types, async iteration, `Symbol.asyncDispose`.
//!
//! | module | what it does |
//! | --- | --- |
//! | `client` | `NativeClient`, `NativePublisher`, `NativeSubscriber`, `NativeUpdates` |
//! | `data` | `NativeData`: a push, shared with the core and converted only when read |
//! | `callbacks` | `onData` callbacks: called on the JS thread through a weak threadsafe function; the core's callback waits until JS ran it, so a busy event loop gets the newest data next |
//! | `errors` | core errors as JS errors whose message starts with the stable code |
//! | `testing` | the reference server in-process (`roster/testing`) |
//!
//! Core futures run on the shared runtime (`roster_bindings::runtime`), not napi's: the
//! promise only waits for them.

// napi-derive registers the exports only outside test builds, so a test build sees them unused.
#![cfg_attr(test, allow(dead_code))]

mod callbacks;
mod client;
mod data;
mod errors;
mod testing;

use std::future::Future;

use napi_derive::napi;

/// Runs `fut` on the process's runtime and waits for it from napi's.
pub(crate) async fn on_runtime<F>(fut: F) -> napi::Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    roster_bindings::runtime::get()
        .spawn(fut)
        .await
        .map_err(|e| errors::internal(format!("a Roster task failed: {e}")))
}

/// One error kind: its stable code, the class stem and what it means.
#[napi(object)]
pub struct ErrorKind {
    pub code: String,
    pub name: String,
    pub doc: String,
}

/// Every error kind of the core, for the JavaScript layer's error classes.
#[napi]
pub fn error_kinds() -> Vec<ErrorKind> {
    roster_bindings::names::ERROR_KINDS
        .iter()
        .map(|k| ErrorKind {
            code: k.code.into(),
            name: k.name.into(),
            doc: k.doc.into(),
        })
        .collect()
}
