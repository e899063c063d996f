//! Which process on which host a trace comes from, as OTLP resource attributes.
use opentelemetry_proto::tonic::{
    common::v1::{any_value, AnyValue, KeyValue},
    resource::v1::Resource,
};
use tracer_probe::trace::Trace;

/// An attribute with a string value.
pub(crate) fn text(key: &str, value: impl Into<String>) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.into()))
}

/// An attribute with an integer value.
pub(crate) fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value))
}

/// An attribute.
pub(crate) fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..KeyValue::default() }
}

/// The resource of `trace`'s process on this host: `host.name` (the kernel's host name),
/// `host.id` (`/etc/machine-id`), `service.name` (the executable's file name),
/// `process.pid`, `process.executable.path`, `process.command_line`, and
/// `process.executable.build_id.gnu` when the executable is still there to read it from.
/// `labels` (`key=value` pairs an operator gives) are added last and win.
#[must_use]
pub fn describe(trace: &Trace, labels: &[(String, String)]) -> Resource {
    let mut attributes = Vec::new();
    if let Some(host) = read_trimmed("/proc/sys/kernel/hostname") {
        attributes.push(text("host.name", host));
    }
    if let Some(id) = read_trimmed("/etc/machine-id") {
        attributes.push(text("host.id", id));
    }
    let service = trace.exe.file_name().map_or_else(|| trace.exe.display().to_string(), |n| n.to_string_lossy().into());
    attributes.push(text("service.name", service));
    attributes.push(int("process.pid", i64::from(trace.pid)));
    attributes.push(text("process.executable.path", trace.exe.display().to_string()));
    if !trace.cmdline.is_empty() {
        attributes.push(text("process.command_line", trace.cmdline.clone()));
    }
    if let Some(id) = build_id(&trace.exe) {
        attributes.push(text("process.executable.build_id.gnu", id));
    }
    attributes.push(text("telemetry.sdk.name", "tracesynth"));
    attributes.push(text("telemetry.sdk.version", env!("CARGO_PKG_VERSION")));
    for (key, value) in labels {
        attributes.retain(|a| &a.key != key);
        attributes.push(text(key, value.clone()));
    }
    Resource { attributes, ..Resource::default() }
}

/// Parses `key=value`.
///
/// # Errors
/// No `=`, or an empty key.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("a label is KEY=VALUE, not {s:?}")),
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The GNU build id of the ELF file at `path`, in hex.
fn build_id(path: &std::path::Path) -> Option<String> {
    use object::Object as _;
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let id = file.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_win_and_the_process_is_named() {
        let mut trace = Trace::sample();
        trace.exe = std::env::current_exe().unwrap();
        let labels = vec![parse_label("host.name=web-7").unwrap(), parse_label("team=payments").unwrap()];
        let r = describe(&trace, &labels);
        let get = |k: &str| r.attributes.iter().filter(|a| a.key == k).map(|a| a.value.clone()).collect::<Vec<_>>();
        assert_eq!(get("host.name").len(), 1, "the label replaces the kernel's host name");
        assert_eq!(get("host.name")[0], Some(AnyValue { value: Some(any_value::Value::StringValue("web-7".into())) }));
        assert_eq!(get("process.pid")[0], Some(AnyValue { value: Some(any_value::Value::IntValue(42)) }));
        assert_eq!(get("team").len(), 1);
        assert_eq!(get("process.executable.build_id.gnu").len(), 1, "the test binary has a GNU build id");
        assert!(parse_label("novalue").is_err() && parse_label("=x").is_err());
    }
}
