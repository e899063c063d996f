//! Export to the Chrome trace-event format (opens in Perfetto and chrome://tracing).
use serde_json::{json, Value as Json};

use crate::trace::{Trace, Value};

/// Renders `trace` as a Chrome trace-event JSON document: one complete (`X`) event per
/// returned call, instant (`i`) events for calls that never returned, and counter (`C`)
/// tracks for RSS and CPU time.
pub fn to_chrome(trace: &Trace) -> Json {
    let us = |ns: u64| (ns.saturating_sub(trace.start_ns)) as f64 / 1000.0;
    let mut events = Vec::with_capacity(trace.calls.len() + trace.resources.len() + 1);
    events.push(json!({
        "name": "process_name", "ph": "M", "pid": trace.pid,
        "args": { "name": format!("{} ({})", trace.exe.display(), trace.pid) }
    }));
    for call in &trace.calls {
        let Some(f) = trace.functions.get(call.function as usize) else { continue };
        let mut args = serde_json::Map::new();
        for (p, v) in f.params.iter().zip(&call.args) {
            args.insert(p.name.clone(), value_json(v));
        }
        if let Some(r) = &call.ret {
            args.insert("return".into(), value_json(r));
        }
        if let Some(cpu) = call.cpu_ns {
            args.insert("cpu_ns".into(), json!(cpu));
        }
        args.insert("depth".into(), json!(call.depth));
        match call.duration_ns {
            Some(d) => events.push(json!({
                "name": f.name, "cat": "call", "ph": "X", "pid": trace.pid, "tid": call.tid,
                "ts": us(call.entry_ns), "dur": d as f64 / 1000.0, "args": args,
            })),
            None => events.push(json!({
                "name": format!("{} (no return)", f.name), "cat": "call", "ph": "i", "s": "t",
                "pid": trace.pid, "tid": call.tid, "ts": us(call.entry_ns), "args": args,
            })),
        }
    }
    for s in &trace.resources {
        events.push(json!({
            "name": "rss_bytes", "ph": "C", "pid": trace.pid, "ts": us(s.ts_ns),
            "args": { "rss": s.rss_bytes }
        }));
        events.push(json!({
            "name": "cpu_ms", "ph": "C", "pid": trace.pid, "ts": us(s.ts_ns),
            "args": { "user": s.cpu_user_ns as f64 / 1e6, "system": s.cpu_system_ns as f64 / 1e6 }
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "tracer": format!("tracesynth {}", trace.tracer_version),
            "end_reason": format!("{:?}", trace.end_reason),
            "produced": trace.loss.produced,
            "received": trace.loss.received,
            "dropped": trace.loss.dropped,
        }
    })
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Int(i) => json!(i),
        Value::Uint(u) => json!(u),
        Value::Bool(b) => json!(b),
        Value::Ptr(p) | Value::Raw(p) => json!(format!("{p:#x}")),
        Value::Str { value: Some(s), truncated, .. } => {
            json!(if *truncated { format!("{s}…") } else { s.clone() })
        }
        Value::Str { ptr, value: None, .. } => json!(format!("<unreadable {ptr:#x}>")),
        Value::Unavailable(why) => json!(format!("<{why}>")),
        Value::Written { before, after } => json!({"before": value_json(before), "after": value_json(after)}),
        Value::Array { fault: Some(why), .. } => json!(format!("<{why}>")),
        Value::Array { items, truncated, .. } => {
            let mut v: Vec<Json> = items.iter().map(value_json).collect();
            if *truncated {
                v.push(json!("…"));
            }
            Json::Array(v)
        }
        Value::Record { fault: Some(why), .. } => json!(format!("<{why}>")),
        Value::Record { fields, truncated, .. } => {
            let mut o: serde_json::Map<String, Json> =
                fields.iter().map(|f| (f.name.clone(), value_json(&f.value))).collect();
            if *truncated {
                o.insert("…".into(), json!("truncated"));
            }
            Json::Object(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_complete_events_and_counters() {
        let doc = to_chrome(&Trace::sample());
        let events = doc["traceEvents"].as_array().unwrap();
        let call = events.iter().find(|e| e["ph"] == "X").unwrap();
        assert_eq!(call["name"], "greet");
        assert_eq!(call["ts"], 1.0);
        assert_eq!(call["dur"], 1.0);
        assert_eq!(call["args"]["name"], "bob");
        assert_eq!(call["args"]["return"], -1);
        assert!(events.iter().any(|e| e["ph"] == "C" && e["name"] == "rss_bytes"));
    }
}
