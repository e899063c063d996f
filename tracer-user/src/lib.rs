//! The `tracesynth` command line: the verbs that record and synthesize in process
//! ([`cli`]), those that talk to the daemon ([`remote`]), and [`doctor`].
#![deny(missing_docs)]

pub mod capture;
pub mod cli;
pub mod doctor;
pub mod fleet;
pub mod remote;
