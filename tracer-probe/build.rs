//! Builds the eBPF object (`tracer-ebpf`) with aya-build and the nightly toolchain.
use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("tracer-probe has a parent directory")?
        .join("tracer-ebpf");
    let root = root.to_str().context("workspace path is UTF-8")?;
    println!("cargo:rerun-if-changed=../tracer-common/src");
    aya_build::build_ebpf(
        [aya_build::Package { name: "tracer-ebpf", root_dir: root, ..Default::default() }],
        aya_build::Toolchain::Nightly,
    )
}
