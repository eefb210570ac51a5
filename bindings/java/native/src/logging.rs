//! Rust's `tracing` records to Java's `System.Logger` (named by the Rust module path), through
//! the dispatcher thread. The level filter is set once, from the `roster.log` system property
//! (tracing's syntax: `info`, `roster_core=debug`, ...); Java's logger configuration decides
//! what is shown of what arrives.

use jni::objects::{JString, JValue};
use jni::signature::{Primitive, ReturnType};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

use crate::jvm::{self, cache};

/// Installs the bridge as the process's tracing subscriber (once; later calls do nothing).
pub(crate) fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(ToJava)
        .try_init();
}

struct ToJava;

/// The event's message and fields as one line.
#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl<S: Subscriber> Layer<S> for ToJava {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        let level = match *event.metadata().level() {
            Level::ERROR => 1,
            Level::WARN => 2,
            Level::INFO => 3,
            Level::DEBUG => 4,
            Level::TRACE => 5,
        };
        let target = event.metadata().target().replace("::", ".");
        jvm::submit(move |env| {
            let c = cache();
            let target = JString::from_str(env, &target)?;
            let message = JString::from_str(env, &line.0)?;
            // SAFETY: Dispatch.log(int, String, String)V.
            unsafe {
                env.call_static_method_unchecked(
                    &c.dispatch,
                    c.log,
                    ReturnType::Primitive(Primitive::Void),
                    &[
                        JValue::Int(level).as_jni(),
                        JValue::Object(&target).as_jni(),
                        JValue::Object(&message).as_jni(),
                    ],
                )
            }?;
            Ok(())
        });
    }
}
