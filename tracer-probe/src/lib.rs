//! The probe and trace side of tracesynth: attach eBPF uprobes to a running process by
//! PID and build its call traces.
//!
//! Data flows one way: [`probes`] finds functions ([`probes::symbols`], [`probes::dwarf`]),
//! chooses probe sites and attaches them ([`probes::loader`]); [`record`] reads the ring
//! buffer on a thread and sends batches over a crossbeam channel to the [`builder`], which
//! pairs entries and returns into the [`trace::Call`]s of a [`trace::Trace`].
#![deny(missing_docs)]

pub mod budget;
pub mod builder;
pub mod chrome;
pub mod coverage;
pub mod events;
pub mod probes;
pub mod procfs;
pub mod record;
pub mod trace;
pub mod tsc;
