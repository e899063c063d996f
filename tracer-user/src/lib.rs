//! tracesynth's user-space side: attach eBPF uprobes to a running process by PID, build
//! call traces, store and export them.
//!
//! Data flows one way: [`probes`] plans and attaches probe points; [`record`] reads the
//! ring buffer on a thread and sends batches over a crossbeam channel to the
//! [`builder`], which pairs entries and returns into [`trace::Call`]s.
#![deny(missing_docs)]

pub mod api;
pub mod builder;
pub mod chrome;
pub mod cli;
pub mod client;
pub mod coverage;
pub mod daemon;
pub mod doctor;
pub mod events;
pub mod fastentry;
pub mod guide_choice;
pub mod jobs;
pub mod live;
pub mod oracle;
pub mod probes;
pub mod procfs;
pub mod record;
pub mod socket;
pub mod spec;
pub mod store;
pub mod trace;
