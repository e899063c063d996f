//! What tracesynth's tests and benchmarks share.
//!
//! - [`ci`]: the one rule for a test whose tool, privilege or file is missing: under CI
//!   it fails; elsewhere it skips and says so on the terminal.
//! - [`fixture`]: the C fixtures of `tests/fixtures/`, built with gcc and driven over
//!   stdin.
//! - [`daemon`]: a `tracesynth daemon` process with its own socket and data directory.
//! - [`clickhouse`]: a ClickHouse server on a loopback port.
//! - [`median`]: the statistic every benchmark reports.
#![deny(missing_docs)]

pub mod ci;
pub mod clickhouse;
pub mod daemon;
pub mod fixture;

use std::path::{Path, PathBuf};

/// The workspace root.
#[must_use]
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The median of `values` (the mean of the middle two for an even count); `None` when
/// empty. NaNs sort last.
#[must_use]
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let m = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[m - 1] + values[m]) / 2.0 } else { values[m] })
}

/// A loopback address with nothing listening on it (yet): the port the kernel gave a
/// listener that is closed again.
///
/// # Errors
/// No loopback port could be bound.
pub fn free_loopback_address() -> std::io::Result<std::net::SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Polls `check` every 50 ms until it gives a value; panics (failing the test) after
/// `timeout`.
pub fn wait_for<T>(what: &str, timeout: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_even_and_empty_lists() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
