//! `tracesynth fleet hosts|functions --clickhouse URL`: what a fleet's daemons exported to
//! ClickHouse, across hosts.
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tracer_export::clickhouse;

/// Where the fleet's calls are.
#[derive(Debug, Args)]
pub struct ClickHouseUrl {
    /// The ClickHouse HTTP interface the daemons export to, e.g. `http://HOST:8123`.
    #[arg(long)]
    pub clickhouse: String,
}

/// A fleet query.
#[derive(Debug, Subcommand)]
pub enum FleetQuery {
    /// One host a line: its `host.name`, `host.id`, calls and functions seen.
    Hosts(ClickHouseUrl),
    /// One function of one build a line: name, build id, hosts and calls.
    Functions(ClickHouseUrl),
}

/// Runs a fleet query and prints its lines.
///
/// # Errors
/// ClickHouse cannot be reached or has no tracesynth tables.
pub fn run(query: &FleetQuery) -> anyhow::Result<ExitCode> {
    match query {
        FleetQuery::Hosts(at) => {
            for h in clickhouse::hosts(&at.clickhouse)? {
                println!("{}\t{}\t{} calls\t{} functions", h.host, h.host_id, h.calls, h.functions);
            }
        }
        FleetQuery::Functions(at) => {
            for f in clickhouse::functions(&at.clickhouse)? {
                let build = if f.build_id.is_empty() { "-" } else { f.build_id.as_str() };
                println!("{}\t{build}\t{} hosts\t{} calls", f.function, f.hosts, f.calls);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
