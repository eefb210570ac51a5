//! `roster_java`: the JNI layer under the Java package `dev.roster` (`bindings/java`). It
//! translates over the shared binding pieces (`roster_bindings`: runtime, options, held
//! handles, names, the dispatcher thread, the test server); every behaviour is the core's.
//!
//! | module | what it does |
//! | --- | --- |
//! | `jvm` | the JVM, the classes and method ids cached in `JNI_OnLoad`, the dispatcher thread (attached as a daemon) that runs every call into Java, global references dropped there |
//! | `convert` | Java values in, Java values out (strings, arrays, `SubscriberData`, exceptions) |
//! | `methods` | the `native` methods of `dev.roster.Native`: handles are ids into tables, operations start when called and complete a `CompletableFuture` from the dispatcher thread |
//! | `logging` | Rust's `tracing` records to `System.Logger`, through the dispatcher |
//!
//! Nothing panics into the JVM: every native method catches panics and Rust errors and throws
//! `RosterException` (`INTERNAL` for a panic).

mod convert;
mod jvm;
mod logging;
mod methods;
