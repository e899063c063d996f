//! Changes to a live x86-64 process made under ptrace: [`fastentry`] patches a `jmp` to a
//! trampoline into each traced function so that its probes are cheap, and [`oracle`] asks
//! forked copies of the process what a function returns for new inputs.
//!
//! Both stop the target's threads ([`ptrace`]), inject system calls, and read and write its
//! memory ([`patch`]); [`trampoline`] encodes the relocated code.
#![deny(missing_docs)]

pub mod fastentry;
pub mod oracle;
pub mod patch;
pub mod ptrace;
pub mod trampoline;
