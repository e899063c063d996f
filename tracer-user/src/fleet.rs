//! `tracesynth fleet hosts|functions|calls|edges --clickhouse URL`: what a fleet's daemons
//! exported to ClickHouse, across hosts.
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Args, Subcommand};
use tracer_export::clickhouse;

/// Where the fleet's calls are.
#[derive(Debug, Args)]
pub struct ClickHouseUrl {
    /// The ClickHouse HTTP interface the daemons export to, e.g. `http://HOST:8123`
    /// (`https://` for TLS).
    #[arg(long)]
    pub clickhouse: String,
    /// A PEM file of certificate authorities the server's TLS certificate may be signed
    /// by, besides the public roots.
    #[arg(long, value_name = "FILE")]
    pub clickhouse_ca: Option<PathBuf>,
}

impl ClickHouseUrl {
    /// The server, trusting the CA given.
    ///
    /// # Errors
    /// An unusable CA file.
    pub fn server(&self) -> anyhow::Result<clickhouse::Server> {
        server(&self.clickhouse, self.clickhouse_ca.as_deref())
    }
}

/// The ClickHouse server at `url`, trusting the CAs in `ca_file` too.
///
/// # Errors
/// An unusable CA file.
pub fn server(url: &str, ca_file: Option<&Path>) -> anyhow::Result<clickhouse::Server> {
    Ok(clickhouse::Server::new(url).with_tls(tracer_export::tls::ClientTls::trusting(ca_file)?))
}

/// A fleet query.
#[derive(Debug, Subcommand)]
pub enum FleetQuery {
    /// One host a line: its `host.name`, `host.id`, calls and functions seen.
    Hosts(ClickHouseUrl),
    /// One function of one build a line: name, build id, hosts and calls.
    Functions(ClickHouseUrl),
    /// One function on one host a line: name, `host.name`, `host.id`, calls, recordings,
    /// calls per second while recorded, mean duration.
    Calls {
        /// Where the calls are.
        #[command(flatten)]
        at: ClickHouseUrl,
        /// Only this function.
        #[arg(long = "func")]
        function: Option<String>,
    },
    /// One control-flow edge of a function a line, from sessions with block probes:
    /// build id, `FROM -> TO` block offsets, times followed and hosts (summed over the
    /// fleet), `loop` for an edge that closes one.
    Edges {
        /// Where the edges are.
        #[command(flatten)]
        at: ClickHouseUrl,
        /// The function.
        #[arg(long = "func")]
        function: String,
    },
}

/// Runs a fleet query and prints its lines.
///
/// # Errors
/// ClickHouse cannot be reached or has no tracesynth tables.
pub fn run(query: &FleetQuery) -> anyhow::Result<ExitCode> {
    match query {
        FleetQuery::Hosts(at) => {
            for h in clickhouse::hosts(&at.server()?)? {
                println!("{}\t{}\t{} calls\t{} functions", h.host, h.host_id, h.calls, h.functions);
            }
        }
        FleetQuery::Functions(at) => {
            for f in clickhouse::functions(&at.server()?)? {
                let build = if f.build_id.is_empty() { "-" } else { f.build_id.as_str() };
                println!("{}\t{build}\t{} hosts\t{} calls", f.function, f.hosts, f.calls);
            }
        }
        FleetQuery::Calls { at, function } => {
            let rates = clickhouse::call_rates(&at.server()?, function.as_deref())?;
            if rates.is_empty() {
                eprintln!(
                    "no calls{} in ClickHouse at {}",
                    function.as_ref().map(|f| format!(" of `{f}`")).unwrap_or_default(),
                    at.clickhouse
                );
                return Ok(ExitCode::FAILURE);
            }
            for r in rates {
                let rate = r.per_second().map_or_else(|| "-".to_string(), |s| format!("{s:.0}"));
                let made = if r.made == r.calls { String::new() } else { format!("\tsampled: about {} made", r.made) };
                println!(
                    "{}\t{}\t{}\t{} calls\t{} recordings\t{rate} calls/s\tmean {:.1} µs{made}",
                    r.function,
                    r.host,
                    r.host_id,
                    r.calls,
                    r.recordings,
                    r.mean_ns() / 1e3
                );
            }
        }
        FleetQuery::Edges { at, function } => {
            let edges = clickhouse::fleet_edges(&at.server()?, function)?;
            if edges.is_empty() {
                eprintln!(
                    "no control-flow edges of `{function}` in ClickHouse at {} (sessions with block probes \
                     export them)",
                    at.clickhouse
                );
                return Ok(ExitCode::FAILURE);
            }
            for e in edges {
                let build = if e.build_id.is_empty() { "-" } else { e.build_id.as_str() };
                println!(
                    "{build}\t{:#x} -> {:#x}\t{} times\t{} hosts{}",
                    e.from_offset,
                    e.to_offset,
                    e.count,
                    e.hosts,
                    if e.back_edge != 0 { "\tloop" } else { "" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
