//! `roster_java`: the JNI layer under the Java package `dev.roster` (`bindings/java`). It
//! translates over the shared binding pieces (`roster_bindings`: runtime, options, held
//! handles, names, the dispatcher thread, the test server); every behaviour is the core's.
//!
//! | module | what it does |
//! | --- | --- |
//! | `jvm` | the JVM, the classes and method ids cached in `JNI_OnLoad`, the dispatcher thread (attached as a daemon) that runs every call into Java, global references dropped there |
//! | `convert` | Java values in, Java values out (strings, arrays, `SubscriberData`, exceptions: `IllegalArgumentException` for `INVALID_ARGUMENT`, `RosterException` otherwise) |
//! | `methods` | the `native` methods of `dev.roster.Native`: handles are ids into tables (a freed id is `SHUT_DOWN`, never a dangling pointer); operations start when called and either wait on the caller's thread (the blocking form, safe from a listener) or complete a `CompletableFuture` from the dispatcher thread |
//! | `logging` | Rust's `tracing` records to `System.Logger`, through the dispatcher |
//!
//! Nothing panics into the JVM: every native method catches panics and Rust errors and throws
//! (`RosterException` `INTERNAL` for a panic). Only the dispatcher thread calls into Java, so
//! no other native thread is ever attached, and being a daemon it never keeps the JVM alive; the
//! shutdown hook stops calls into Java before the JVM goes away.

mod convert;
mod jvm;
mod logging;
mod methods;
