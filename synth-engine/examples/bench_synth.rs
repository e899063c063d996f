//! Runs `xtask/src/bench_synth.rs` before it is wired into `cargo xtask`:
//! `cargo run --release -p synth-engine --example bench_synth -- DIR TIMEOUT [LIMIT] [FILTER]`
//! (set `TRACESYNTH_BIN` to a binary that accepts `synth --sygus FILE --timeout N`).

#[path = "../../xtask/src/bench_synth.rs"]
mod bench_synth;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let suite = args.get(1).map_or("/work/shared/bench/sygus/hd", String::as_str);
    let timeout: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let limit: Option<usize> = args.get(3).and_then(|s| s.parse().ok()).filter(|k| *k > 0);
    let filter = args.get(4).map(String::as_str);
    bench_synth::run(std::path::Path::new(suite), timeout, limit, filter)
}
