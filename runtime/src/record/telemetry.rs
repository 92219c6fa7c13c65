//! Logging: JSON lines (one object per event, fields at the top level) or text, at the level of
//! the config; `AIRLOCK_LOG` (an env-filter directive) overrides it for debugging. Lines go to
//! stderr through `log_sink`.

use tracing_subscriber::EnvFilter;

pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_from_env("AIRLOCK_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},hyper=warn,reqwest=warn,h2=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::record::log_sink::Writer)
        .with_target(false);
    let result = if format == "json" {
        crate::record::log::write_json_directly();
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().with_ansi(false).try_init()
    };
    if result.is_ok() {
        crate::record::log_sink::start();
    }
}
