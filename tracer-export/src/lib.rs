//! Recorded calls leaving the host.
//!
//! [`resource`] says which process on which host a trace comes from (OTLP resource
//! attributes: `host.name`, `host.id`, `service.name`, `process.pid`, the executable and
//! its GNU build id, and the operator's labels); [`otlp`] turns each recorded call into
//! a span and sends them to an OTLP/HTTP receiver as protobuf; [`redact`] rewrites string
//! values before they leave; [`values`] says whose values may leave at all; [`clickhouse`] inserts the calls into ClickHouse tables a
//! fleet's hosts share.
#![deny(missing_docs)]

pub mod clickhouse;
pub mod otlp;
pub mod redact;
pub mod resource;
pub mod tls;
pub mod values;
