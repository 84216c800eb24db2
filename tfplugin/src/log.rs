//! Logs on stderr in hclog's JSON line format.
//!
//! go-plugin reads a plugin's stderr line by line; a JSON line with `@level` and `@message` is
//! re-logged by Terraform at that level, so `TF_LOG=debug terraform plan` shows provider logs
//! in place. The level comes from `TF_LOG_PROVIDER`, else `TF_LOG` (as Go providers do); with
//! neither set only warnings and errors are written. Callers never log attribute values: a
//! value may be a key or a kubeconfig.

use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The level Terraform asked for, as an `EnvFilter` directive.
pub fn level_from_env() -> &'static str {
    let raw = std::env::var("TF_LOG_PROVIDER").or_else(|_| std::env::var("TF_LOG")).unwrap_or_default();
    match raw.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => "trace",
        "debug" => "debug",
        "info" => "info",
        "error" => "error",
        "off" => "off",
        _ => "warn",
    }
}

/// Installs the hclog JSON logger on stderr as the global subscriber. Safe to call twice (the
/// second call is a no-op).
pub fn init() {
    // Transport crates log every HTTP/2 frame at debug level; keep them to warnings so
    // `TF_LOG=debug` shows what the provider does.
    let filter = EnvFilter::new(format!(
        "{},h2=warn,hyper=warn,hyper_util=warn,tower=warn,tonic=warn,rustls=warn",
        level_from_env()
    ));
    let subscriber = Registry::default().with(HclogLayer.with_filter(filter));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// A tracing layer writing one hclog JSON object per event.
#[derive(Debug, Clone, Copy)]
pub struct HclogLayer;

struct Fields(serde_json::Map<String, serde_json::Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

/// hclog's name for a tracing level.
pub fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Renders one event as an hclog JSON line (without the newline).
pub fn render(level: Level, target: &str, mut fields: serde_json::Map<String, serde_json::Value>) -> String {
    let message = fields.remove("message").unwrap_or_else(|| "".into());
    // go-plugin parses `@timestamp` with Go's layout "2006-01-02T15:04:05.000000Z07:00": exactly
    // six fractional digits, or the whole line is shown raw instead of as a log entry.
    let timestamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_default();
    let mut line = serde_json::Map::new();
    line.insert("@level".into(), hclog_level(level).into());
    line.insert("@message".into(), message);
    // Terraform already prefixes lines with the plugin's name; `@module` says where inside.
    line.insert("@module".into(), target.replace("::", ".").into());
    line.insert("@timestamp".into(), timestamp.into());
    line.extend(fields);
    serde_json::Value::Object(line).to_string()
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(serde_json::Map::new());
        event.record(&mut fields);
        let meta = event.metadata();
        let line = render(*meta.level(), meta.target(), fields.0);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_hclog_json() {
        let mut fields = serde_json::Map::new();
        fields.insert("message".into(), "planning".into());
        fields.insert("resource".into(), "cloudtemple_x".into());
        let line = render(Level::DEBUG, "tfplugin::server", fields);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "debug");
        assert_eq!(v["@message"], "planning");
        assert_eq!(v["@module"], "tfplugin.server");
        assert_eq!(v["resource"], "cloudtemple_x");
        let ts = v["@timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z'), "{ts}");
        let fraction = ts.rsplit('.').next().unwrap();
        assert_eq!(fraction.len(), 7, "six digits then Z: {ts}");
    }
}
