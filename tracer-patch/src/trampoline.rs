//! Which bytes of a function a 5-byte `jmp` overwrites, whether that is provably safe, and
//! the trampoline that runs them elsewhere (iced-x86's block encoder relocates RIP-relative
//! operands and branches).
//!
//! An entry slot is `nop5` (where the entry uprobe and the uretprobe go), the relocated
//! instructions, and a `jmp` back to the first byte after the overwritten ones. A `call`
//! among the relocated instructions becomes `push [rip+literal]; jmp target` with the
//! literal holding the original return address, so the callee returns straight into the
//! function (the stack and its unwind info look exactly as without the patch).
//!
//! A call-through slot ([`encode_call_slot`]) serves leaf functions with one probe per
//! call instead of two: it saves the callee-saved registers, copies the argument
//! registers into them, reads the TSC, *calls* the relocated instructions (which jump
//! back into the function, whose `ret` returns into the slot), leaves the TSC ticks in
//! `rcx` and probes a `nop5` with the return value in `rax` and the arguments still in
//! the callee-saved registers, then restores them and returns to the caller. The callee
//! sees its stack 64 bytes lower than without the patch, so it is used only where that
//! provably changes nothing ([`call_through_obstacle`]).
use iced_x86::{
    code_asm::{
        qword_ptr, r10, r11, r12, r13, r14, r15, r8, r9, rax, rbp, rbx, rcx, rdi, rdx, rsi, rsp, CodeAssembler,
    },
    BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, FlowControl, Formatter as _, Instruction,
    InstructionBlock, IntelFormatter, MemoryOperand, Mnemonic, OpKind, Register,
};

use tracer_probe::probes::cfg;

/// The 5-byte nop every trampoline starts with (Linux 6.18 optimizes a uprobe on it).
pub const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];
/// Bytes reserved per function in the trampoline file.
pub const SLOT: u64 = 256;
/// Where in a slot the return-address literal of a relocated `call` lives.
const LITERAL_AT: u64 = SLOT - 8;
pub use tracer_probe::probes::patched::JMP_LEN;
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// Why a function is not patched (it is then probed the normal way).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Fewer than 5 bytes of instructions from the patch point.
    #[error("too short: {available} bytes from +{start:#x}, a jmp needs {JMP_LEN}")]
    TooShort {
        /// Patch point (after `endbr64`).
        start: u64,
        /// Bytes of whole instructions available.
        available: u64,
    },
    /// A branch inside the function lands in the bytes to overwrite.
    #[error("a branch at +{from:#x} jumps to +{to:#x}, inside the bytes to overwrite (+{start:#x}..+{end:#x})")]
    BranchTarget {
        /// The branch's block.
        from: u64,
        /// Its target.
        to: u64,
        /// Overwritten range start.
        start: u64,
        /// Overwritten range end.
        end: u64,
    },
    /// An indirect jump whose targets cannot be known.
    #[error("indirect jump `{instruction}` at +{offset:#x}: its targets (a jump table?) could lie inside the bytes to overwrite")]
    IndirectJump {
        /// Offset.
        offset: u64,
        /// Intel syntax.
        instruction: String,
    },
    /// An instruction in the overwritten bytes cannot run elsewhere.
    #[error("`{instruction}` at +{offset:#x} cannot be relocated: {why}")]
    Unrelocatable {
        /// Offset.
        offset: u64,
        /// Intel syntax.
        instruction: String,
        /// Why.
        why: String,
    },
    /// The process runs under a seccomp filter, which the system calls injected to map the
    /// trampolines could violate (a filter may kill the process for them).
    #[error("PID runs under seccomp (mode {mode} in /proc/PID/status): the injected openat/mmap could be refused or kill it")]
    Seccomp {
        /// The `Seccomp:` field: 1 strict, 2 filter.
        mode: u32,
    },
    /// A thread was stopped inside the bytes to overwrite (every attempt).
    #[error("thread {tid} is stopped at +{offset:#x}, inside the bytes to overwrite or in a system call ending there (tried {attempts} times)")]
    ThreadInside {
        /// Thread id.
        tid: i32,
        /// Its RIP, from the function's start.
        offset: u64,
        /// Stop-the-world attempts.
        attempts: u32,
    },
    /// A word on a thread's stack points inside the bytes to overwrite (every attempt):
    /// it may be the RIP saved by a signal that interrupted the thread there.
    #[error("a word on thread {tid}'s stack points to +{offset:#x}, inside the bytes to overwrite: a signal handler may resume there (tried {attempts} times)")]
    SavedContextInside {
        /// Thread id.
        tid: i32,
        /// The word, from the function's start.
        offset: u64,
        /// Stop-the-world attempts.
        attempts: u32,
    },
    /// The bytes in memory are not the file's (another tool's breakpoint or patch).
    #[error("the bytes in memory ({memory}) differ from the file ({file}): another uprobe or patch is there")]
    MemoryDiffers {
        /// Hex.
        memory: String,
        /// Hex.
        file: String,
    },
    /// Another probe of this session lies inside the bytes to overwrite.
    #[error("a {what} probe at +{offset:#x} lies inside the bytes to overwrite")]
    ProbeInside {
        /// What probe.
        what: &'static str,
        /// Offset.
        offset: u64,
    },
    /// The function has no run-time address.
    #[error("not mapped in the target")]
    NotMapped,
    /// The function's code could not be read from its file.
    #[error("cannot read its code: {0}")]
    Unreadable(String),
}

/// The overwritten bytes of one function and what they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSite {
    /// Offset of the patch from the function's first byte (4 after `endbr64`, else 0).
    pub start: u64,
    /// Bytes of whole instructions covered (≥ 5); execution resumes at `start + len`.
    pub len: u64,
    /// The covered instructions, Intel syntax.
    pub instructions: Vec<String>,
}

/// Decides which bytes of the function `code` (all of it, from its first byte) a `jmp`
/// would overwrite, and refuses when that is not provably safe.
///
/// `endbr64` stays in place (indirect calls still land on it); the patch starts after it.
///
/// # Errors
/// A [`Refusal`] saying why.
pub fn patch_site(code: &[u8], address: u64) -> Result<PatchSite, Refusal> {
    let start = if code.starts_with(&ENDBR64) { ENDBR64.len() as u64 } else { 0 };
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    decoder.set_position(start as usize).expect("start is inside code or at its end");
    decoder.set_ip(address + start);
    let mut covered = Vec::new();
    let mut end = start;
    while end < start + JMP_LEN as u64 {
        if !decoder.can_decode() {
            return Err(Refusal::TooShort { start, available: end - start });
        }
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Err(Refusal::TooShort { start, available: end - start });
        }
        end = insn.next_ip() - address;
        covered.push(insn);
    }
    for (n, insn) in covered.iter().enumerate() {
        if insn.mnemonic() == Mnemonic::Call {
            let why = if n + 1 != covered.len() {
                Some(format!(
                    "its return address +{:#x} would lie inside the overwritten bytes",
                    insn.next_ip() - address
                ))
            } else if !matches!(insn.code(), Code::Call_rel32_64 | Code::Call_rm64) {
                Some("only near calls are relocated".to_owned())
            } else if insn.op0_kind() == OpKind::Memory
                && (insn.memory_base() == Register::RSP || insn.memory_index() == Register::RSP)
                || insn.op0_kind() == OpKind::Register && insn.op0_register() == Register::RSP
            {
                Some("its operand depends on rsp".to_owned())
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Refusal::Unrelocatable { offset: insn.ip() - address, instruction: text(insn), why });
            }
        }
        if matches!(insn.flow_control(), FlowControl::Interrupt | FlowControl::Exception)
            || insn.mnemonic() == Mnemonic::Int3
        {
            return Err(Refusal::Unrelocatable {
                offset: insn.ip() - address,
                instruction: text(insn),
                why: "traps and exceptions are left where they are".to_owned(),
            });
        }
    }

    // Branches from anywhere in the function into [0, end): with endbr64, a jump to +0
    // would also run the patch again.
    for block in cfg::basic_blocks(code, 0) {
        let fallthrough = block.offset + block.len;
        for &to in &block.successors {
            if to < end && to != fallthrough {
                return Err(Refusal::BranchTarget { from: block.offset, to, start, end });
            }
        }
    }
    let mut all = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    while all.can_decode() {
        let insn = all.decode();
        if insn.is_invalid() {
            break;
        }
        if insn.flow_control() == FlowControl::IndirectBranch {
            return Err(Refusal::IndirectJump { offset: insn.ip(), instruction: text(&insn) });
        }
    }
    Ok(PatchSite { start, len: end - start, instructions: covered.iter().map(text).collect() })
}

/// Encodes the trampoline slot for a function at run-time address `function` whose code
/// is `code`, with the slot at run-time address `slot`. Returns the slot's bytes (at most
/// [`SLOT`]); the uprobe goes on its first byte.
///
/// # Errors
/// [`Refusal::Unrelocatable`] when the block encoder cannot relocate the instructions
/// (e.g. a RIP-relative operand out of ±2 GiB of the slot) or they do not fit.
pub fn encode_slot(code: &[u8], function: u64, site: &PatchSite, slot: u64) -> Result<Vec<u8>, Refusal> {
    let begin = site.start as usize;
    let bytes = &code[begin..begin + site.len as usize];
    let mut decoder = Decoder::with_ip(64, bytes, function + site.start, DecoderOptions::NONE);
    let resume = function + site.start + site.len;
    let literal = slot + LITERAL_AT;
    let mut out = Vec::new();
    let mut literal_value = None;
    let fail = |insn: &Instruction, why: String| Refusal::Unrelocatable {
        offset: insn.ip().wrapping_sub(function),
        instruction: text(insn),
        why,
    };
    while decoder.can_decode() {
        let insn = decoder.decode();
        if insn.mnemonic() == Mnemonic::Call {
            let push =
                Instruction::with1(Code::Push_rm64, MemoryOperand::with_base_displ(Register::RIP, literal as i64))
                    .map_err(|e| fail(&insn, e.to_string()))?;
            let jmp = if insn.code() == Code::Call_rel32_64 {
                Instruction::with_branch(Code::Jmp_rel32_64, insn.near_branch_target())
                    .map_err(|e| fail(&insn, e.to_string()))?
            } else {
                let mut j = insn;
                j.set_code(Code::Jmp_rm64);
                j
            };
            out.push(push);
            out.push(jmp);
            literal_value = Some(insn.next_ip());
        } else {
            out.push(insn);
        }
    }
    if literal_value.is_none() {
        out.push(
            Instruction::with_branch(Code::Jmp_rel32_64, resume)
                .map_err(|e| fail(&Instruction::default(), e.to_string()))?,
        );
    }
    let first = decoder_first(bytes, function + site.start);
    let encoded =
        BlockEncoder::encode(64, InstructionBlock::new(&out, slot + NOP5.len() as u64), BlockEncoderOptions::NONE)
            .map_err(|e| fail(&first, format!("the block encoder says: {e}")))?;
    let mut slot_bytes = NOP5.to_vec();
    slot_bytes.extend_from_slice(&encoded.code_buffer);
    if slot_bytes.len() as u64 > LITERAL_AT {
        return Err(fail(&first, format!("relocated code needs {} bytes, a slot has {LITERAL_AT}", slot_bytes.len())));
    }
    if let Some(ret) = literal_value {
        slot_bytes.resize(LITERAL_AT as usize, 0xcc);
        slot_bytes.extend_from_slice(&ret.to_le_bytes());
    }
    Ok(slot_bytes)
}

/// Whether a function's stack arguments (if any) could be seen by the callee of a
/// call-through slot at a different place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackArgs {
    /// None: DWARF shows every parameter in a register (and no `...`).
    RuledOut,
    /// Unknown, with the reason; then the code must not name `rsp` or `rbp` at all.
    Unknown(String),
}

/// Why the calls of the function `code` (all of it, from its first byte) cannot run
/// through a call-through slot, or `None` when they can: the function must be a leaf
/// that cannot block or unwind through the slot (no `call`, `syscall` or trap, no jump
/// out of it, a plain `ret`), and it must not see that its stack is 64 bytes lower:
/// either DWARF puts all its parameters in registers, or no instruction names `rsp` or
/// `rbp` (so it reads neither stack arguments nor its return address).
pub fn call_through_obstacle(code: &[u8], stack_args: &StackArgs) -> Option<String> {
    let size = code.len() as u64;
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    while decoder.can_decode() {
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Some(format!("undecodable bytes at +{:#x}", insn.ip()));
        }
        let at = insn.ip();
        let flow = insn.flow_control();
        if matches!(
            flow,
            FlowControl::Call | FlowControl::IndirectCall | FlowControl::Interrupt | FlowControl::Exception
        ) || matches!(insn.mnemonic(), Mnemonic::Syscall | Mnemonic::Sysenter | Mnemonic::Int3)
        {
            return Some(format!(
                "`{}` at +{at:#x}: not a leaf (a callee could block, or unwind through the trampoline)",
                text(&insn)
            ));
        }
        if matches!(flow, FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch)
            && insn.near_branch_target() >= size
        {
            return Some(format!("`{}` at +{at:#x} leaves the function (a tail call?)", text(&insn)));
        }
        if flow == FlowControl::Return && insn.code() != Code::Retnq {
            return Some(format!("`{}` at +{at:#x} is not a plain `ret`", text(&insn)));
        }
        if let StackArgs::Unknown(why) = stack_args {
            if names_stack_register(&insn) {
                return Some(format!(
                    "`{}` at +{at:#x} addresses the stack and {why}, so it could read stack arguments \
                     or its return address, which the trampoline moves",
                    text(&insn)
                ));
            }
        }
    }
    None
}

fn names_stack_register(insn: &Instruction) -> bool {
    let stack = |r: Register| matches!(r.full_register(), Register::RSP | Register::RBP);
    (0..insn.op_count()).any(|i| match insn.op_kind(i) {
        OpKind::Register => stack(insn.op_register(i)),
        OpKind::Memory => stack(insn.memory_base()) || stack(insn.memory_index()),
        _ => false,
    })
}

/// A call-through slot: its bytes, and the offset in them of the `nop5` to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSlot {
    /// The slot's bytes (at most [`SLOT`]).
    pub bytes: Vec<u8>,
    /// Offset of the probed `nop5` from the slot's start.
    pub probe: u64,
}

pub use tracer_probe::events::CALL_SLOT_FRAME_BYTES;

/// Encodes the call-through slot for a function at run-time address `function` whose
/// code is `code` (see the module documentation), with the slot at run-time address
/// `slot`. `sixth_arg` copies `r9` into `rbp` too (else `rbp` keeps the caller's frame
/// pointer during the call). Only for functions without [`call_through_obstacle`].
///
/// # Errors
/// [`Refusal::Unrelocatable`] when the instructions cannot be relocated or do not fit.
pub fn encode_call_slot(
    code: &[u8],
    function: u64,
    site: &PatchSite,
    slot: u64,
    sixth_arg: bool,
) -> Result<CallSlot, Refusal> {
    let begin = site.start as usize;
    let bytes = &code[begin..begin + site.len as usize];
    let first = decoder_first(bytes, function + site.start);
    let fail = |why: String| Refusal::Unrelocatable { offset: site.start, instruction: text(&first), why };
    let asm_fail = |e: iced_x86::IcedError| fail(format!("the assembler says: {e}"));
    let mut a = CodeAssembler::new(64).map_err(asm_fail)?;
    let mut body = a.create_label();
    let mut probe = a.create_label();
    (|| -> Result<(), iced_x86::IcedError> {
        for r in [rbx, rbp, r12, r13, r14, r15] {
            a.push(r)?;
        }
        for (to, from) in [(rbx, rdi), (r12, rsi), (r13, rdx), (r14, rcx), (r15, r8)] {
            a.mov(to, from)?;
        }
        if sixth_arg {
            a.mov(rbp, r9)?;
        }
        // Entry TSC on the stack (rsp is 16-byte aligned again, as before a call).
        a.rdtsc()?;
        a.shl(rdx, 32)?;
        a.or(rax, rdx)?;
        a.push(rax)?;
        a.mov(rdx, r13)?;
        a.call(body)?;
        // Return values stay in rax:rdx; the ticks go to rcx.
        a.mov(r11, rax)?;
        a.mov(r10, rdx)?;
        a.rdtsc()?;
        a.shl(rdx, 32)?;
        a.or(rax, rdx)?;
        a.sub(rax, qword_ptr(rsp))?;
        a.mov(rcx, rax)?;
        a.mov(rax, r11)?;
        a.mov(rdx, r10)?;
        a.set_label(&mut probe)?;
        a.db(&NOP5)?;
        a.add(rsp, 8)?;
        for r in [r15, r14, r13, r12, rbp, rbx] {
            a.pop(r)?;
        }
        a.ret()?;
        a.set_label(&mut body)?;
        let mut decoder = Decoder::with_ip(64, bytes, function + site.start, DecoderOptions::NONE);
        while decoder.can_decode() {
            a.add_instruction(decoder.decode())?;
        }
        a.jmp(function + site.start + site.len)?;
        Ok(())
    })()
    .map_err(asm_fail)?;
    let result = a.assemble_options(slot, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS).map_err(asm_fail)?;
    let probe = result.label_ip(&probe).map_err(asm_fail)? - slot;
    let bytes = result.inner.code_buffer;
    if bytes.len() as u64 > SLOT {
        return Err(fail(format!("the call-through slot needs {} bytes, a slot has {SLOT}", bytes.len())));
    }
    Ok(CallSlot { bytes, probe })
}

fn text(insn: &Instruction) -> String {
    let mut s = String::new();
    IntelFormatter::new().format(insn, &mut s);
    s
}

fn decoder_first(bytes: &[u8], ip: u64) -> Instruction {
    Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE).decode()
}

/// `jmp rel32` from `from` to `to`, or `None` when out of reach.
pub fn jmp_bytes(from: u64, to: u64) -> Option<[u8; JMP_LEN]> {
    let rel = i64::try_from(to).ok()? - i64::try_from(from + JMP_LEN as u64).ok()?;
    let rel = i32::try_from(rel).ok()?;
    let mut b = [0xe9, 0, 0, 0, 0];
    b[1..].copy_from_slice(&rel.to_le_bytes());
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_decoded(bytes: &[u8], ip: u64) -> Vec<String> {
        let mut d = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
        let mut f = IntelFormatter::new();
        let mut out = Vec::new();
        while d.can_decode() {
            let i = d.decode();
            let mut s = String::new();
            f.format(&i, &mut s);
            out.push(s);
        }
        out
    }

    #[test]
    fn lea_and_ret_covers_lea_and_and() {
        let code = [0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        assert_eq!((site.start, site.len), (0, 5));
        let slot = encode_slot(&code, 0x5555_0000_1000, &site, 0x5554_ffff_0000).unwrap();
        assert_eq!(&slot[..5], &NOP5);
        let text = run_decoded(&slot[5..], 0x5554_ffff_0005);
        assert_eq!(text[..2], ["lea eax,[rdi-1]".to_owned(), "and eax,edi".to_owned()]);
        assert_eq!(text[2], "jmp 0000555500001005h");
    }

    #[test]
    fn endbr64_stays_and_the_patch_starts_after_it() {
        let code = [0xf3, 0x0f, 0x1e, 0xfa, 0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        assert_eq!((site.start, site.len), (4, 5));
    }

    #[test]
    fn rip_relative_load_is_rebased() {
        // mov eax, [rip+0x100]; add eax, edi; ret  at 0x1000: loads 0x1106
        let code = [0x8b, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0xf8, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        assert_eq!(site.len, 6);
        let slot = encode_slot(&code, 0x1000, &site, 0x40_0000).unwrap();
        let text = run_decoded(&slot[5..], 0x40_0005);
        assert_eq!(text[0], "mov eax,[1106h]");
    }

    #[test]
    fn short_branch_becomes_near_and_keeps_its_target() {
        // test edi, edi; js +4; lea eax, [rdi+1]; ret; xor eax, eax; ret
        let code = [0x85, 0xff, 0x78, 0x04, 0x8d, 0x47, 0x01, 0xc3, 0x31, 0xc0, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        assert_eq!(site.len, 7);
        let slot = encode_slot(&code, 0x1000, &site, 0x40_0000).unwrap();
        let text = run_decoded(&slot[5..], 0x40_0005);
        assert_eq!(text[1], "js 0000000000001008h");
        assert_eq!(&slot[7..9], &[0x0f, 0x88], "near js (rel32)");
        assert!(text.iter().any(|t| t == "jmp 0000000000001007h"), "{text:?}");
    }

    #[test]
    fn call_returns_into_the_function() {
        // call +0x100; add eax, edi; ret
        let code = [0xe8, 0x00, 0x01, 0x00, 0x00, 0x01, 0xf8, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        let slot = encode_slot(&code, 0x1000, &site, 0x40_0000).unwrap();
        let text = run_decoded(&slot[5..LITERAL_AT as usize], 0x40_0005);
        assert_eq!(text[0], format!("push qword ptr [{:X}h]", 0x40_0000 + LITERAL_AT));
        assert_eq!(text[1], "jmp 0000000000001105h");
        assert_eq!(u64::from_le_bytes(slot[LITERAL_AT as usize..].try_into().unwrap()), 0x1005);
    }

    #[test]
    fn refusals_say_why() {
        // mov eax, edi; ret
        assert!(matches!(patch_site(&[0x89, 0xf8, 0xc3], 0), Err(Refusal::TooShort { available: 3, .. })));
        // xor eax,eax; 1: add eax,edi; sub edi,1; jg 1b; ret
        let looped = [0x31, 0xc0, 0x01, 0xf8, 0x83, 0xef, 0x01, 0x7f, 0xf9, 0xc3];
        let e = patch_site(&looped, 0).unwrap_err();
        assert!(matches!(e, Refusal::BranchTarget { to: 2, .. }), "{e}");
        // push rbx; call rsi; add eax, 1; pop rbx; ret
        let call_mid = [0x53, 0xff, 0xd6, 0x83, 0xc0, 0x01, 0x5b, 0xc3];
        let e = patch_site(&call_mid, 0).unwrap_err();
        assert!(e.to_string().contains("return address +0x3"), "{e}");
        // mov eax, edi; jmp rax (tail through a table)
        let e = patch_site(&[0x89, 0xf8, 0x48, 0x89, 0xf8, 0xff, 0xe0], 0).unwrap_err();
        assert!(matches!(e, Refusal::IndirectJump { offset: 5, .. }), "{e}");
    }

    #[test]
    fn call_through_needs_a_leaf_that_cannot_see_its_stack_move() {
        let unknown = StackArgs::Unknown("no DWARF".into());
        // lea eax,[rdi-1]; and eax,edi; ret
        assert_eq!(call_through_obstacle(&[0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3], &unknown), None);
        // call +0; ret
        let e = call_through_obstacle(&[0xe8, 0, 0, 0, 0, 0xc3], &StackArgs::RuledOut).unwrap();
        assert!(e.contains("not a leaf"), "{e}");
        // xor eax,eax; syscall; ret
        let e = call_through_obstacle(&[0x31, 0xc0, 0x0f, 0x05, 0xc3], &StackArgs::RuledOut).unwrap();
        assert!(e.contains("syscall") && e.contains("not a leaf"), "{e}");
        // mov eax,edi; jmp +0x100 (a tail call)
        let e = call_through_obstacle(&[0x89, 0xf8, 0xe9, 0x00, 0x01, 0, 0], &StackArgs::RuledOut).unwrap();
        assert!(e.contains("leaves the function"), "{e}");
        // ret 8
        let e = call_through_obstacle(&[0xc2, 0x08, 0x00], &StackArgs::RuledOut).unwrap();
        assert!(e.contains("not a plain `ret`"), "{e}");
        // mov eax,[rsp+8]; ret: a stack argument, fine only when DWARF rules it out
        let stack_read = [0x8b, 0x44, 0x24, 0x08, 0xc3];
        let e = call_through_obstacle(&stack_read, &unknown).unwrap();
        assert!(e.contains("addresses the stack and no DWARF"), "{e}");
        assert_eq!(call_through_obstacle(&stack_read, &StackArgs::RuledOut), None);
        // push rbp; mov rbp,rsp; ... names rbp
        assert!(call_through_obstacle(&[0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3], &unknown).is_some());
    }

    #[test]
    fn call_slot_saves_copies_calls_times_and_probes_a_nop5() {
        let code = [0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let site = patch_site(&code, 0x1000).unwrap();
        let slot = encode_call_slot(&code, 0x5555_0000_1000, &site, 0x5554_ffff_0000, false).unwrap();
        let probe = slot.probe as usize;
        assert_eq!(&slot.bytes[probe..probe + 5], &NOP5);
        let text = run_decoded(&slot.bytes, 0x5554_ffff_0000);
        let at = |needle: &str| text.iter().position(|t| t == needle).unwrap_or_else(|| panic!("{needle} in {text:?}"));
        assert!(at("push rbx") < at("mov rbx,rdi"));
        assert!(!text.iter().any(|t| t == "mov rbp,r9"), "rbp keeps the frame pointer: {text:?}");
        assert!(at("rdtsc") < at("push rax"));
        assert!(at("sub rax,[rsp]") < at("mov rcx,rax"));
        assert!(at("pop rbx") < at("ret"));
        assert!(text.iter().any(|t| t == "jmp 0000555500001005h"), "{text:?}");
        let six = encode_call_slot(&code, 0x5555_0000_1000, &site, 0x5554_ffff_0000, true).unwrap();
        assert!(run_decoded(&six.bytes, 0x5554_ffff_0000).iter().any(|t| t == "mov rbp,r9"));
    }

    /// Runs a patched copy of `lea eax,[rdi-1]; and eax,edi; ret` through its call-through
    /// slot in this process: same results, and the callee-saved registers survive (the
    /// caller would crash otherwise).
    #[test]
    fn call_slot_runs_the_function() {
        const PAGE: usize = 4096;
        // SAFETY: a fresh anonymous mapping, unmapped at the end of the test.
        let mem = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(mem, libc::MAP_FAILED);
        let base = mem as u64;
        let code = [0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let (function, slot) = (base, base + 1024);
        let site = patch_site(&code, function).unwrap();
        let encoded = encode_call_slot(&code, function, &site, slot, true).unwrap();
        // SAFETY: both ranges lie inside the mapping; nothing runs it while it is written.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), mem.cast::<u8>(), code.len());
            std::ptr::copy_nonoverlapping(encoded.bytes.as_ptr(), mem.cast::<u8>().add(1024), encoded.bytes.len());
            let jmp = jmp_bytes(function, slot).unwrap();
            std::ptr::copy_nonoverlapping(jmp.as_ptr(), mem.cast::<u8>(), jmp.len());
        }
        // SAFETY: the mapping holds a function with this signature (SysV ABI).
        let f: extern "C" fn(u32) -> u32 = unsafe { std::mem::transmute(mem) };
        for x in [0u32, 1, 12, 0x8000_0000, u32::MAX, 0x1234_5678] {
            assert_eq!(f(x), x & x.wrapping_sub(1), "{x:#x}");
        }
        // SAFETY: unmaps the mapping made above; `f` is not used again.
        assert_eq!(unsafe { libc::munmap(mem, PAGE) }, 0);
    }

    #[test]
    fn jmp_reach() {
        assert_eq!(jmp_bytes(0x1000, 0x1005), Some([0xe9, 0, 0, 0, 0]));
        assert_eq!(jmp_bytes(0x1000, 0x1000 + (1 << 32)), None);
    }
}
