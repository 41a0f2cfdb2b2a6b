//! The core logs with `tracing`; the app sees those events through its own [`Logger`]
//! (Logcat, os_log). The tracing subscriber is installed once per process, on the
//! first [`set_logger`]; later calls swap the logger or change the level.

use std::cell::Cell;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::errors::{ffi_call, Result, TestigoError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One log event. Messages never hold key material or caller data: the core does not
/// log them.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged (e.g. `testigo_core::store`).
    pub target: String,
    /// The message followed by the event's fields as `key=value`.
    pub message: String,
}

/// Implemented by the app. May be called from any thread, including the caller's own
/// thread during a store call; must not block for long.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    fn log(&self, record: LogRecord);
}

struct Sink {
    logger: Arc<dyn Logger>,
    max_level: LogLevel,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// The most verbose level any logger wants, as `LogLevel as u8 + 1`; 0 when there is
/// no logger. Read on every event before anything is formatted.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALLED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

thread_local! {
    /// Set while the foreign logger runs, so a logger that calls back into the library
    /// (which logs again) cannot recurse forever.
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

/// Sends the library's log events at `max_level` and above to `logger`, replacing any
/// logger set before. `None` stops logging. Fails with `Internal` only if another
/// tracing subscriber was already installed in this process by other Rust code.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) -> Result<()> {
    ffi_call("set_logger", || {
        let mut sink = SINK.write().unwrap_or_else(|p| p.into_inner());
        MAX_LEVEL.store(
            if logger.is_some() {
                max_level as u8 + 1
            } else {
                0
            },
            Ordering::Relaxed,
        );
        *sink = logger.map(|logger| Sink { logger, max_level });
        drop(sink);
        INSTALLED
            .get_or_init(|| {
                let subscriber = tracing_subscriber::registry().with(ForeignLayer);
                tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|reason| TestigoError::Internal {
                reason: format!("cannot install the log forwarder: {reason}"),
            })
    })
}

struct ForeignLayer;

impl<S: Subscriber> Layer<S> for ForeignLayer {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // The level can change at any time, so every callsite asks `enabled` each time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        (level_of(metadata.level()) as u8) < MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = level_of(event.metadata().level());
        if IN_LOGGER.with(Cell::get) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = sink.as_ref().filter(|s| level <= s.max_level) else {
            return;
        };
        let mut message = MessageVisitor::default();
        event.record(&mut message);
        let record = LogRecord {
            level,
            target: event.metadata().target().to_owned(),
            message: message.finish(),
        };
        IN_LOGGER.with(|f| f.set(true));
        // A logger that throws must not turn a log line into a failed store call.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.logger.log(record)));
        IN_LOGGER.with(|f| f.set(false));
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(mut self) -> String {
        if !self.fields.is_empty() {
            if !self.message.is_empty() {
                self.message.push(' ');
            }
            self.message.push_str(&self.fields);
        }
        self.message
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            let _ = write!(self.fields, "{}={value:?}", field.name());
        }
    }
}
