//! The flags that say what to capture, shared by `record`, `synth --pid` and `attach`.

use clap::{Args, ValueEnum};
use tracer_probe::trace::RetMode;

/// Flags shared by `record` and the daemon client's `attach`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// PID of the running process.
    #[arg(long, short)]
    pub pid: u32,
    /// Function to trace (repeatable). Looked up in the main binary, then in mapped
    /// shared libraries.
    #[arg(long = "func", short = 'f', required = true)]
    pub functions: Vec<String>,
    /// How to capture returns: uretprobe, or uprobes on the `ret` instructions (for
    /// runtimes with moving stacks, e.g. Go).
    #[arg(long, value_enum, default_value_t = RetProbes::Uretprobe)]
    pub ret_probes: RetProbes,
    /// Cheap entry probes on any function: stop the target briefly (ptrace), move the
    /// instructions of each function's first 5 bytes into a trampoline that starts with a
    /// 5-byte nop, jump there, and probe the nop; the bytes are restored at the end.
    /// Functions that cannot be patched safely are probed the normal way (warnings say why).
    #[arg(long)]
    pub fast_entry: bool,
    /// With --fast-entry: give every patched function an entry probe and a uretprobe, also
    /// leaves (which otherwise run through their trampoline with one probe per call, their
    /// on-CPU time at entry then taken as the return's less the call's duration).
    #[arg(long, requires = "fast_entry")]
    pub no_call_through: bool,
    /// Bytes read at most behind each pointer-to-integers argument (at entry), up to
    /// 4096; 0 reads none (the argument is then recorded as not read).
    #[arg(long, default_value_t = tracer_probe::probes::DEFAULT_ARRAY_CAP)]
    pub array_cap: u32,
    /// What the DWARF heuristics cannot know about a pointer parameter (repeatable; every
    /// traced function with that parameter): `NAME:len=PARAM` (PARAM counts its elements),
    /// `NAME:out` (the function writes it: read it again at the return), `NAME:in` (do
    /// not), or `NAME:len=PARAM,out`.
    #[arg(long = "arg", value_name = "NAME:SPEC")]
    pub arg_overrides: Vec<tracer_probe::probes::arg_overrides::ArgOverride>,
}

/// Return capture mode.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RetProbes {
    /// uretprobe at the function entry.
    Uretprobe,
    /// uprobes on every `ret` instruction.
    Insn,
}

impl From<RetProbes> for RetMode {
    fn from(r: RetProbes) -> Self {
        match r {
            RetProbes::Uretprobe => RetMode::Uretprobe,
            RetProbes::Insn => RetMode::Insn,
        }
    }
}
