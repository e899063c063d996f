//! Where to put a function's probes, decided by decoding its first instructions with
//! iced-x86.
//!
//! A uprobe on an instruction the kernel must single-step costs ~12 µs per hit in a VM;
//! one the kernel emulates (`push reg`, `nop`, direct `jmp`/`call`/`jcc`) ~1 µs, and a
//! 5-byte nop that Linux 6.18 rewrites into a call ~0.6 µs. The entry probe goes on the
//! first cheap instruction that every call executes before any argument register is
//! written, so the registers read there still hold the arguments.
use iced_x86::{
    Decoder, DecoderOptions, FlowControl, Formatter, InstructionInfoFactory, IntelFormatter, Mnemonic, OpAccess,
    OpKind, Register,
};
use serde::{Deserialize, Serialize};

/// How the kernel handles a uprobe hit at an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteCost {
    /// A 5-byte nop: rewritten into a call to a trampoline (~0.6 µs per hit here).
    Optimized,
    /// Emulated by the kernel without a single-step trap (~0.7–1 µs per hit here).
    Emulated,
    /// Executed out of line with a single-step trap (~12 µs per hit in this VM).
    SingleStep,
}

/// A chosen probe site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSite {
    /// Offset from the function's first byte.
    pub offset: u64,
    /// The instruction at the site, Intel syntax.
    pub instruction: String,
    /// Expected cost class.
    pub cost: SiteCost,
    /// Why this site was chosen.
    pub reason: String,
}

/// The argument registers of the x86-64 System V ABI.
const ARG_REGISTERS: [Register; 6] =
    [Register::RDI, Register::RSI, Register::RDX, Register::RCX, Register::R8, Register::R9];

const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

struct Decoded {
    offset: u64,
    bytes: Vec<u8>,
    instruction: iced_x86::Instruction,
    text: String,
}

fn decode(code: &[u8], address: u64) -> Vec<Decoded> {
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut out = Vec::new();
    while decoder.can_decode() {
        let instruction = decoder.decode();
        if instruction.is_invalid() {
            break;
        }
        let start = (instruction.ip() - address) as usize;
        let bytes = code[start..start + instruction.len()].to_vec();
        let mut text = String::new();
        formatter.format(&instruction, &mut text);
        out.push(Decoded { offset: instruction.ip() - address, bytes, instruction, text });
    }
    out
}

/// Classifies the cost of a uprobe on one instruction.
pub fn cost_of(bytes: &[u8], instruction: &iced_x86::Instruction) -> SiteCost {
    if bytes == NOP5 {
        return SiteCost::Optimized;
    }
    if bytes == [0x90] {
        return SiteCost::Emulated;
    }
    let near_branch =
        matches!(instruction.op0_kind(), OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64);
    match instruction.mnemonic() {
        Mnemonic::Push if instruction.op0_kind() == OpKind::Register && instruction.op0_register().is_gpr64() => {
            SiteCost::Emulated
        }
        Mnemonic::Call | Mnemonic::Jmp if near_branch => SiteCost::Emulated,
        _ if instruction.flow_control() == FlowControl::ConditionalBranch && near_branch => SiteCost::Emulated,
        _ => SiteCost::SingleStep,
    }
}

fn written_arg_register(factory: &mut InstructionInfoFactory, instruction: &iced_x86::Instruction) -> Option<Register> {
    factory.info(instruction).used_registers().iter().find_map(|used| {
        let full = used.register().full_register();
        let writes = matches!(
            used.access(),
            OpAccess::Write | OpAccess::ReadWrite | OpAccess::CondWrite | OpAccess::ReadCondWrite
        );
        // rsp too: the entry probe reads the return address at [rsp] and the call's frame
        // from rsp, so nothing before it may move the stack.
        (writes && (ARG_REGISTERS.contains(&full) || full == Register::RSP)).then_some(full)
    })
}

/// Chooses the entry probe site of a function whose code (from its first byte) is `code`,
/// loaded at ELF address `address`.
pub fn entry_site(code: &[u8], address: u64) -> ProbeSite {
    let decoded = decode(code, address);
    let Some(first) = decoded.first() else {
        return ProbeSite {
            offset: 0,
            instruction: "?".into(),
            cost: SiteCost::SingleStep,
            reason: "could not decode the function's first instruction; probing +0".into(),
        };
    };
    // Branch targets inside the function: a site must not be re-entered by a jump.
    let end = address + code.len() as u64;
    let targets: Vec<u64> = decoded
        .iter()
        .filter(|d| d.instruction.flow_control() != FlowControl::Next)
        .map(|d| d.instruction.near_branch_target())
        .filter(|t| *t > address && *t < end)
        .collect();
    let mut factory = InstructionInfoFactory::new();
    let mut blocker = None;
    for d in &decoded {
        let cost = cost_of(&d.bytes, &d.instruction);
        let reentered = targets.iter().any(|t| *t <= address + d.offset);
        if reentered {
            blocker = Some(format!("a branch jumps back to or before +{:#x}", d.offset));
            break;
        }
        if cost != SiteCost::SingleStep {
            let reason = if d.offset == 0 {
                format!("the function starts with `{}`, which the kernel {}", d.text, describe(cost))
            } else {
                format!(
                    "first instruction the kernel {} (`{}` at +{:#x}); nothing before it writes an \
                     argument register or branches, so the registers still hold the arguments",
                    describe(cost),
                    d.text,
                    d.offset
                )
            };
            return ProbeSite { offset: d.offset, instruction: d.text.clone(), cost, reason };
        }
        if let Some(reg) = written_arg_register(&mut factory, &d.instruction) {
            let what = if reg == Register::RSP { "the stack pointer" } else { "argument register" };
            blocker = Some(format!("`{}` at +{:#x} writes {what} {reg:?}", d.text, d.offset));
            break;
        }
        if d.instruction.flow_control() != FlowControl::Next {
            blocker = Some(format!("`{}` at +{:#x} branches", d.text, d.offset));
            break;
        }
    }
    let why = blocker.unwrap_or_else(|| "no emulated instruction in the function".into());
    ProbeSite {
        offset: 0,
        instruction: first.text.clone(),
        cost: cost_of(&first.bytes, &first.instruction),
        reason: format!(
            "no cheap site before the arguments change ({why}); probing +0 (`{}`), which the kernel {}",
            first.text,
            describe(cost_of(&first.bytes, &first.instruction))
        ),
    }
}

fn describe(cost: SiteCost) -> &'static str {
    match cost {
        SiteCost::Optimized => "turns into a trampoline call (~0.6 µs per hit)",
        SiteCost::Emulated => "emulates (~1 µs per hit)",
        SiteCost::SingleStep => "must single-step (~12 µs per hit in a VM)",
    }
}

/// Return sites for `--ret-probes insn`: every `ret` in the function, and the offsets of
/// jumps that leave the function (tail calls), whose returns those probes cannot see.
pub fn ret_sites(code: &[u8], address: u64) -> (Vec<ProbeSite>, Vec<u64>) {
    let end = address + code.len() as u64;
    let mut rets = Vec::new();
    let mut tail_calls = Vec::new();
    for d in decode(code, address) {
        match d.instruction.flow_control() {
            FlowControl::Return => rets.push(ProbeSite {
                offset: d.offset,
                instruction: d.text.clone(),
                cost: cost_of(&d.bytes, &d.instruction),
                reason: "return instruction".into(),
            }),
            FlowControl::UnconditionalBranch => {
                let target = d.instruction.near_branch_target();
                if target < address || target >= end {
                    tail_calls.push(d.offset);
                }
            }
            _ => {}
        }
    }
    (rets, tail_calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_first_is_probed_at_zero() {
        // push rbp; mov rbp, rsp; mov eax, edi; pop rbp; ret
        let code = [0x55, 0x48, 0x89, 0xe5, 0x89, 0xf8, 0x5d, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!(site.offset, 0);
        assert_eq!(site.cost, SiteCost::Emulated);
    }

    #[test]
    fn endbr64_then_push_moves_past_endbr() {
        // endbr64; push rbp; mov rbp, rsp; ...
        let code = [0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!(site.offset, 4);
        assert_eq!(site.instruction, "push rbp");
    }

    #[test]
    fn nop5_is_optimized() {
        // nop dword ptr [rax+rax]; lea eax, [rdi-1]; and eax, edi; ret
        let code = [0x0f, 0x1f, 0x44, 0x00, 0x00, 0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!((site.offset, site.cost), (0, SiteCost::Optimized));
    }

    #[test]
    fn lea_and_ret_has_no_cheap_site() {
        let code = [0x8d, 0x47, 0xff, 0x21, 0xf8, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!((site.offset, site.cost), (0, SiteCost::SingleStep));
        assert!(site.reason.contains("no cheap site"), "{}", site.reason);
    }

    #[test]
    fn stops_at_an_argument_write() {
        // mov edi, 1; push rbx; ret  -> push comes after rdi is written
        let code = [0xbf, 0x01, 0x00, 0x00, 0x00, 0x53, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!(site.offset, 0);
        assert!(site.reason.contains("RDI"), "{}", site.reason);
    }

    #[test]
    fn skips_harmless_instructions_before_a_push() {
        // mov eax, esi (reads only); push rbx; ... ; ret
        let code = [0x89, 0xf0, 0x53, 0x5b, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!(site.offset, 2);
    }

    #[test]
    fn stops_where_the_stack_pointer_moves() {
        // sub rsp, 8; push rbx: the push comes after rsp moved, so [rsp] at it is no longer
        // the return address.
        let code = [0x48, 0x83, 0xec, 0x08, 0x53, 0x5b, 0xc3];
        let site = entry_site(&code, 0x1000);
        assert_eq!(site.offset, 0);
        assert!(site.reason.contains("stack pointer"), "{}", site.reason);
    }

    #[test]
    fn finds_every_ret() {
        // test edi, edi; je +3; mov eax, 1; ret; xor eax, eax; ret
        let code = [0x85, 0xff, 0x74, 0x06, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3, 0x31, 0xc0, 0xc3];
        let (rets, tails) = ret_sites(&code, 0x1000);
        assert_eq!(rets.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![9, 12]);
        assert!(tails.is_empty());
    }
}
