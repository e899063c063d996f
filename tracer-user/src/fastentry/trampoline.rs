//! Which bytes of a function a 5-byte `jmp` overwrites, whether that is provably safe, and
//! the trampoline that runs them elsewhere (iced-x86's block encoder relocates RIP-relative
//! operands and branches).
//!
//! A trampoline slot is `nop5` (where the uprobe goes), the relocated instructions, and a
//! `jmp` back to the first byte after the overwritten ones. A `call` among the relocated
//! instructions becomes `push [rip+literal]; jmp target` with the literal holding the
//! original return address, so the callee returns straight into the function (the stack
//! and its unwind info look exactly as without the patch).
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, FlowControl, Formatter as _,
    Instruction, InstructionBlock, IntelFormatter, Mnemonic, MemoryOperand, OpKind, Register,
};

use crate::probes::cfg;

/// The 5-byte nop every trampoline starts with (Linux 6.18 optimizes a uprobe on it).
pub const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];
/// Bytes reserved per function in the trampoline file.
pub const SLOT: u64 = 128;
/// Where in a slot the return-address literal of a relocated `call` lives.
const LITERAL_AT: u64 = SLOT - 8;
/// Length of `jmp rel32`.
pub const JMP_LEN: usize = 5;
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
    /// A thread was stopped inside the bytes to overwrite (every attempt).
    #[error("thread {tid} is stopped at +{offset:#x}, inside the bytes to overwrite (tried {attempts} times)")]
    ThreadInside {
        /// Thread id.
        tid: i32,
        /// Its RIP, from the function's start.
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
                Some(format!("its return address +{:#x} would lie inside the overwritten bytes", insn.next_ip() - address))
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
            let push = Instruction::with1(Code::Push_rm64, MemoryOperand::with_base_displ(Register::RIP, literal as i64))
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
        out.push(Instruction::with_branch(Code::Jmp_rel32_64, resume).map_err(|e| {
            fail(&Instruction::default(), e.to_string())
        })?);
    }
    let first = decoder_first(bytes, function + site.start);
    let encoded = BlockEncoder::encode(64, InstructionBlock::new(&out, slot + NOP5.len() as u64), BlockEncoderOptions::NONE)
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
        assert_eq!(text[0], "push qword ptr [400078h]");
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
    fn jmp_reach() {
        assert_eq!(jmp_bytes(0x1000, 0x1005), Some([0xe9, 0, 0, 0, 0]));
        assert_eq!(jmp_bytes(0x1000, 0x1000 + (1 << 32)), None);
    }
}
