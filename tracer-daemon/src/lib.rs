//! The tracesynth daemon: recording [`daemon::Sessions`] on live processes, kept in a sled
//! [`store`], synthesis [`jobs`], the HTTP [`api`] served on a Unix [`socket`] by
//! [`server`], and a blocking [`client`] of that API.
#![deny(missing_docs)]

pub mod api;
pub mod client;
pub mod daemon;
pub mod export;
mod heap;
pub mod jobs;
mod locks;
pub mod server;
pub mod socket;
pub mod store;
