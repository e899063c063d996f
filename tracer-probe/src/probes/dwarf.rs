//! Parameter names and C types of a function from DWARF (gimli).
use std::borrow::Cow;

use gimli::{AttributeValue, EndianSlice, RunTimeEndian, UnitOffset};
use object::{Object, ObjectSection};
use serde::{Deserialize, Serialize};

/// Errors reading DWARF.
#[derive(Debug, thiserror::Error)]
pub enum DwarfError {
    /// gimli rejected the debug information.
    #[error("malformed DWARF: {0}")]
    Gimli(#[from] gimli::Error),
    /// The file could not be parsed as an object file.
    #[error("cannot parse object file: {0}")]
    Object(#[from] object::Error),
}

/// How a value of a C type is decoded from a 64-bit register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Two's-complement integer of `bytes` bytes (char, short, int, long, enums).
    Signed {
        /// Width in bytes.
        bytes: u8,
    },
    /// Unsigned integer of `bytes` bytes.
    Unsigned {
        /// Width in bytes.
        bytes: u8,
    },
    /// `_Bool`.
    Bool,
    /// A pointer other than `char *`.
    Pointer,
    /// `char *` / `const char *`: read as a NUL-terminated string.
    CString,
    /// Floating point (passed in SSE registers, which uprobes cannot read).
    Float,
    /// A struct, union or array passed by value.
    Aggregate,
    /// No value (`void` return).
    Void,
    /// No type information: the raw 64-bit register.
    Raw,
    /// A pointer to integers (`int *`, `const uint16_t *`): elements of `bytes` bytes read
    /// at entry, as many as parameter number `count_param` says, or one when there is none
    /// ([`pair_counts`] finds it).
    Elements {
        /// Element width in bytes (1, 2, 4 or 8).
        bytes: u8,
        /// Whether the elements are signed.
        signed: bool,
        /// Index of the parameter that counts the elements.
        count_param: Option<u8>,
    },
    /// A pointer to a struct: its `bytes` bytes read at entry and decoded into named fields
    /// by its [`Layout`] (from [`Signature::layouts`]); or to as many structs as parameter
    /// number `count_param` says ([`pair_counts`] pairs only a parameter named like a count).
    Record {
        /// `sizeof` the struct (at most 4096).
        bytes: u16,
        /// Index of the parameter that counts the structs, for an array of them.
        count_param: Option<u8>,
    },
    /// A struct or union passed or returned by value: `sizeof` it, and where the SysV ABI
    /// puts it (a parameter in registers takes one for each eightbyte: the `Some(i)` of
    /// [`register_slots`] is the first).
    StructValue {
        /// `sizeof` the struct.
        bytes: u16,
        /// Where it travels.
        place: StructPlace,
    },
}

/// Where the SysV x86-64 ABI passes or returns a struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructPlace {
    /// In general-purpose registers (returned in rax, and rdx from its ninth byte): at
    /// most 16 bytes, every field an integer or a pointer at its natural alignment (each
    /// eightbyte of the INTEGER class).
    Registers,
    /// In memory: on the stack as a parameter; returned where the caller's hidden first
    /// argument in rdi points. Larger than 16 bytes, or with a misaligned field or a
    /// `long double`.
    Memory,
    /// In floating-point registers, at least in part (a `float` or `double` field).
    Sse,
    /// Not modelled (a union, a field of unknown type): whether rdi carries a hidden
    /// pointer is not known.
    Unknown,
}

/// Where each field of a struct lies and how to decode it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The type as C spells it: `struct rect`, or its typedef name.
    pub name: String,
    /// `sizeof`.
    pub bytes: u32,
    /// The fields in order.
    pub fields: Vec<Field>,
}

/// One field of a [`Layout`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its C type.
    pub ctype: String,
    /// Byte offset in the struct.
    pub offset: u32,
    /// How its bytes are decoded.
    pub kind: FieldKind,
}

/// The [`FieldKind::Opaque`] reason of a bit-field (which the ABI places as its
/// underlying integer).
const BIT_FIELD: &str = "a bit-field";

/// How a field's bytes are decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer (enums too).
    Int {
        /// Width in bytes.
        bytes: u8,
        /// Two's complement.
        signed: bool,
    },
    /// `_Bool`.
    Bool,
    /// A pointer: its address (the memory behind it is not followed).
    Pointer,
    /// A `char *`: its address, and the string it points to when the struct is one read
    /// at entry (see [`super::ArrayReads::read_member_strings`]).
    CString,
    /// A nested struct.
    Struct(Layout),
    /// A fixed-size array of integers.
    Array {
        /// Element width in bytes.
        bytes: u8,
        /// Two's complement.
        signed: bool,
        /// Elements.
        count: u32,
    },
    /// Anything else (floats, unions, bit-fields): its bytes are not decoded.
    Opaque {
        /// Why.
        why: String,
    },
}

impl ValueKind {
    /// Whether values of this kind travel in one general-purpose register.
    pub fn in_gpr(self) -> bool {
        !matches!(self, Self::Float | Self::Aggregate | Self::Void | Self::StructValue { .. })
    }
}

/// A C type as the trace reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CType {
    /// C spelling, e.g. `const char *`, `uint32_t`.
    pub name: String,
    /// How values are decoded.
    pub kind: ValueKind,
}

impl CType {
    /// The type of a value without debug information.
    pub fn raw() -> Self {
        Self { name: "raw".into(), kind: ValueKind::Raw }
    }
}

/// A formal parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Name from DWARF, or `argN`.
    pub name: String,
    /// Type.
    pub ctype: CType,
}

/// Signature of a function from DWARF.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Parameters in declaration order.
    pub params: Vec<Param>,
    /// Return type.
    pub ret: CType,
    /// Declared with `...` (the arguments after the named ones may be on the stack).
    pub variadic: bool,
    /// For each parameter that points to a struct ([`ValueKind::Record`]) or is one passed
    /// in registers ([`StructPlace::Registers`]), its layout.
    #[serde(skip)]
    pub layouts: Vec<Option<Layout>>,
    /// For a struct returned in registers, or in memory of at most 4096 bytes, its layout.
    #[serde(skip)]
    pub ret_layout: Option<Layout>,
}

impl Signature {
    /// The layouts as a [`super::Plan`] keeps them: one per parameter, then the struct
    /// returned by value (in registers, or in memory behind the hidden pointer).
    #[must_use]
    pub fn layouts_with_return(&self) -> Vec<Option<Layout>> {
        let mut layouts = self.layouts.clone();
        layouts.resize(self.params.len(), None);
        layouts.push(self.ret_layout.clone());
        layouts
    }
}

type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// Finds the signature of the function at ELF address `address` (or, failing that, named
/// `name`) in the DWARF of `data`. `Ok(None)` when the file has no DWARF for it.
///
/// # Errors
/// When the object file or its DWARF is malformed.
pub fn signature(data: &[u8], name: &str, address: u64) -> Result<Option<Signature>, DwarfError> {
    let file = object::File::parse(data)?;
    if file.section_by_name(".debug_info").is_none() {
        return Ok(None);
    }
    let endian = if file.is_little_endian() { RunTimeEndian::Little } else { RunTimeEndian::Big };
    let load = |id: gimli::SectionId| -> Result<Cow<'_, [u8]>, gimli::Error> {
        Ok(file.section_by_name(id.name()).and_then(|s| s.uncompressed_data().ok()).unwrap_or(Cow::Borrowed(&[])))
    };
    let sections = gimli::DwarfSections::load(load)?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));

    let mut by_name = None;
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let mut entries = unit.entries();
        while let Some((_, entry)) = entries.next_dfs()? {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let low_pc = match entry.attr_value(gimli::DW_AT_low_pc)? {
                Some(v) => dwarf.attr_address(&unit, v)?,
                None => None,
            };
            let origin = match entry.attr_value(gimli::DW_AT_abstract_origin)? {
                Some(AttributeValue::UnitRef(o)) => Some(o),
                _ => None,
            };
            let decl = origin.unwrap_or(entry.offset());
            if low_pc == Some(address) {
                return Ok(Some(read_signature(&dwarf, &unit, entry.offset(), decl)?));
            }
            if by_name.is_none() && low_pc.is_some() && die_name(&dwarf, &unit, decl)? == Some(name.to_owned()) {
                by_name = Some(read_signature(&dwarf, &unit, entry.offset(), decl)?);
            }
        }
    }
    Ok(by_name)
}

fn die_name(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
) -> Result<Option<String>, gimli::Error> {
    let entry = unit.entry(offset)?;
    match entry.attr_value(gimli::DW_AT_name)? {
        Some(v) => Ok(Some(dwarf.attr_string(unit, v)?.to_string_lossy().into_owned())),
        None => Ok(None),
    }
}

/// Reads parameters from the concrete DIE's children, taking names and types from the
/// abstract origin where the concrete DIE has none (optimized, inlined-elsewhere code).
fn read_signature(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    concrete: UnitOffset,
    decl: UnitOffset,
) -> Result<Signature, gimli::Error> {
    let mut params = Vec::new();
    let mut layouts = Vec::new();
    let mut variadic = false;
    // The declaration's parameter list is the authoritative order and count.
    let mut tree = unit.entries_tree(Some(decl))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(child) = children.next()? {
        let entry = child.entry();
        if entry.tag() == gimli::DW_TAG_unspecified_parameters {
            variadic = true;
        }
        if entry.tag() != gimli::DW_TAG_formal_parameter {
            continue;
        }
        let name = match entry.attr_value(gimli::DW_AT_name)? {
            Some(v) => dwarf.attr_string(unit, v)?.to_string_lossy().into_owned(),
            None => format!("arg{}", params.len()),
        };
        let (mut ctype, layout) = match entry.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(t)) => {
                let ctype = resolve_type(dwarf, unit, t, 0)?;
                if ctype.kind == ValueKind::Aggregate {
                    // A struct passed by value: where the ABI passes it.
                    struct_value(dwarf, unit, t, ctype)?
                } else {
                    (ctype, pointee_layout(dwarf, unit, t)?)
                }
            }
            _ => (CType::raw(), None),
        };
        match &layout {
            Some(l) if ctype.kind == ValueKind::Pointer && (1..=MAX_RECORD).contains(&l.bytes) => {
                ctype.kind = ValueKind::Record { bytes: u16::try_from(l.bytes).unwrap_or(0), count_param: None };
            }
            _ => {}
        }
        let decoded = matches!(
            ctype.kind,
            ValueKind::Record { .. } | ValueKind::StructValue { place: StructPlace::Registers, .. }
        );
        layouts.push(layout.filter(|_| decoded));
        params.push(Param { name, ctype });
    }
    if params.is_empty() && !variadic && concrete != decl {
        return read_signature(dwarf, unit, concrete, concrete);
    }
    let decl_entry = unit.entry(decl)?;
    let (ret, ret_layout) = match decl_entry.attr_value(gimli::DW_AT_type)? {
        Some(AttributeValue::UnitRef(t)) => {
            let ret = resolve_type(dwarf, unit, t, 0)?;
            if ret.kind == ValueKind::Aggregate {
                struct_value(dwarf, unit, t, ret)?
            } else {
                (ret, None)
            }
        }
        _ => (CType { name: "void".into(), kind: ValueKind::Void }, None),
    };
    Ok(Signature { params, ret, variadic, layouts, ret_layout })
}

/// A struct or union of type `offset` (resolved as `ctype`, an aggregate) passed or
/// returned by value: its kind, [`ValueKind::StructValue`] with where the ABI puts it, and
/// its layout when the probes can read it there (in registers, or returned in memory of
/// at most [`MAX_RECORD`] bytes). An array, or a type without a size, stays an aggregate.
fn struct_value(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
    mut ctype: CType,
) -> Result<(CType, Option<Layout>), gimli::Error> {
    let target = unit.entry(strip_aliases(unit, offset)?)?;
    if !matches!(target.tag(), gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type) {
        return Ok((ctype, None));
    }
    let bytes = target.attr_value(gimli::DW_AT_byte_size)?.and_then(|v| v.udata_value());
    let Some(bytes) = bytes.and_then(|b| u16::try_from(b).ok()) else { return Ok((ctype, None)) };
    let layout = struct_layout(dwarf, unit, offset, ctype.name.clone(), 0)?;
    let place = match &layout {
        Some(l) => struct_place(l),
        None if bytes > 16 => StructPlace::Memory,
        None => StructPlace::Unknown,
    };
    ctype.kind = ValueKind::StructValue { bytes, place };
    let readable = match place {
        StructPlace::Registers => true,
        StructPlace::Memory => (1..=MAX_RECORD).contains(&u32::from(bytes)),
        _ => false,
    };
    Ok((ctype, layout.filter(|_| readable)))
}

/// Where the SysV ABI passes or returns a struct laid out as `layout` by value.
fn struct_place(layout: &Layout) -> StructPlace {
    /// The worst place among the fields of `layout` at `base`.
    fn fields(layout: &Layout, base: u32) -> StructPlace {
        let mut place = StructPlace::Registers;
        for f in &layout.fields {
            let at = base + f.offset;
            let aligned = |bytes: u32| at.is_multiple_of(bytes.max(1));
            let here = match &f.kind {
                FieldKind::Int { bytes, .. } | FieldKind::Array { bytes, .. } if aligned(u32::from(*bytes)) => {
                    StructPlace::Registers
                }
                FieldKind::Bool => StructPlace::Registers,
                FieldKind::Pointer | FieldKind::CString if aligned(8) => StructPlace::Registers,
                FieldKind::Struct(inner) => fields(inner, at),
                FieldKind::Opaque { why } if why == BIT_FIELD => StructPlace::Registers,
                FieldKind::Opaque { .. } if f.ctype.contains("long double") => StructPlace::Memory,
                FieldKind::Opaque { .. } if matches!(f.ctype.as_str(), "float" | "double") && aligned(4) => {
                    StructPlace::Sse
                }
                FieldKind::Opaque { .. } => StructPlace::Unknown,
                _ => StructPlace::Memory,
            };
            place = match (place, here) {
                (StructPlace::Memory, _) | (_, StructPlace::Memory) => StructPlace::Memory,
                (StructPlace::Unknown, _) | (_, StructPlace::Unknown) => StructPlace::Unknown,
                (StructPlace::Sse, _) | (_, StructPlace::Sse) => StructPlace::Sse,
                _ => StructPlace::Registers,
            };
        }
        place
    }
    if layout.bytes > 16 {
        return StructPlace::Memory;
    }
    fields(layout, 0)
}

/// The largest struct read behind a pointer: the largest record the probes emit.
const MAX_RECORD: u32 = 4096;

/// Follows typedefs and qualifiers from type `offset` to the type they name.
fn strip_aliases(unit: &gimli::Unit<R<'_>>, mut offset: UnitOffset) -> Result<UnitOffset, gimli::Error> {
    for _ in 0..16 {
        let entry = unit.entry(offset)?;
        if !matches!(
            entry.tag(),
            gimli::DW_TAG_typedef
                | gimli::DW_TAG_const_type
                | gimli::DW_TAG_volatile_type
                | gimli::DW_TAG_restrict_type
        ) {
            break;
        }
        match entry.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(t)) => offset = t,
            _ => break,
        }
    }
    Ok(offset)
}

/// When type `offset` is a pointer to a struct, the struct's layout.
fn pointee_layout(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
) -> Result<Option<Layout>, gimli::Error> {
    let pointer = strip_aliases(unit, offset)?;
    let entry = unit.entry(pointer)?;
    if entry.tag() != gimli::DW_TAG_pointer_type {
        return Ok(None);
    }
    let Some(AttributeValue::UnitRef(pointee)) = entry.attr_value(gimli::DW_AT_type)? else { return Ok(None) };
    let name = resolve_type(dwarf, unit, pointee, 0)?.name;
    let name = name.trim_start_matches("const ").trim_start_matches("volatile ").to_string();
    struct_layout(dwarf, unit, pointee, name, 0)
}

/// The layout of the struct type `offset` names (through typedefs), `None` for any other
/// type or a declaration without a body.
fn struct_layout(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
    name: String,
    depth: u32,
) -> Result<Option<Layout>, gimli::Error> {
    let target = strip_aliases(unit, offset)?;
    let entry = unit.entry(target)?;
    if entry.tag() != gimli::DW_TAG_structure_type || depth > 8 {
        return Ok(None);
    }
    let Some(bytes) = entry.attr_value(gimli::DW_AT_byte_size)?.and_then(|v| v.udata_value()) else {
        return Ok(None);
    };
    let mut fields = Vec::new();
    let mut tree = unit.entries_tree(Some(target))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(child) = children.next()? {
        let member = child.entry();
        if member.tag() != gimli::DW_TAG_member {
            continue;
        }
        let field_name = match member.attr_value(gimli::DW_AT_name)? {
            Some(v) => dwarf.attr_string(unit, v)?.to_string_lossy().into_owned(),
            None => format!("field{}", fields.len()),
        };
        let offset = member
            .attr_value(gimli::DW_AT_data_member_location)?
            .and_then(|v| v.udata_value())
            .and_then(|o| u32::try_from(o).ok())
            .unwrap_or(0);
        let Some(AttributeValue::UnitRef(t)) = member.attr_value(gimli::DW_AT_type)? else { continue };
        let mut ctype = resolve_type(dwarf, unit, t, 0)?;
        let kind = if member.attr_value(gimli::DW_AT_bit_size)?.is_some() {
            FieldKind::Opaque { why: BIT_FIELD.into() }
        } else {
            field_kind(dwarf, unit, t, &ctype, depth)?
        };
        if ctype.name.is_empty() {
            // An array type has no name of its own: `short[3]`.
            let target = strip_aliases(unit, t)?;
            if let Some(AttributeValue::UnitRef(e)) = unit.entry(target)?.attr_value(gimli::DW_AT_type)? {
                let count = match &kind {
                    FieldKind::Array { count, .. } => count.to_string(),
                    _ => String::new(),
                };
                ctype.name = format!("{}[{count}]", resolve_type(dwarf, unit, e, 0)?.name);
            }
        }
        fields.push(Field { name: field_name, ctype: ctype.name, offset, kind });
    }
    Ok(Some(Layout { name, bytes: u32::try_from(bytes).unwrap_or(u32::MAX), fields }))
}

/// How a struct member of type `offset` (resolved as `ctype`) is decoded.
fn field_kind(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
    ctype: &CType,
    depth: u32,
) -> Result<FieldKind, gimli::Error> {
    Ok(match ctype.kind {
        ValueKind::Signed { bytes } => FieldKind::Int { bytes, signed: true },
        ValueKind::Unsigned { bytes } => FieldKind::Int { bytes, signed: false },
        ValueKind::Bool => FieldKind::Bool,
        ValueKind::CString => FieldKind::CString,
        ValueKind::Pointer | ValueKind::Elements { .. } | ValueKind::Record { .. } => FieldKind::Pointer,
        ValueKind::Aggregate => {
            let target = strip_aliases(unit, offset)?;
            let entry = unit.entry(target)?;
            match entry.tag() {
                gimli::DW_TAG_structure_type => {
                    match struct_layout(dwarf, unit, target, ctype.name.clone(), depth + 1)? {
                        Some(l) => FieldKind::Struct(l),
                        None => FieldKind::Opaque { why: "a struct without a body here".into() },
                    }
                }
                gimli::DW_TAG_array_type => array_field(dwarf, unit, target)?,
                _ => FieldKind::Opaque { why: format!("{} is not decoded", ctype.name) },
            }
        }
        _ => FieldKind::Opaque { why: format!("{} is not decoded", ctype.name) },
    })
}

/// A fixed-size array member of integers: `short tags[3]`.
fn array_field(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
) -> Result<FieldKind, gimli::Error> {
    let entry = unit.entry(offset)?;
    let opaque = |why: &str| Ok(FieldKind::Opaque { why: why.into() });
    let Some(AttributeValue::UnitRef(elem)) = entry.attr_value(gimli::DW_AT_type)? else {
        return opaque("an array without an element type");
    };
    let mut count = None;
    let mut tree = unit.entries_tree(Some(offset))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(child) = children.next()? {
        let range = child.entry();
        if range.tag() != gimli::DW_TAG_subrange_type || count.is_some() {
            continue;
        }
        count = match (range.attr_value(gimli::DW_AT_count)?, range.attr_value(gimli::DW_AT_upper_bound)?) {
            (Some(c), _) => c.udata_value(),
            (None, Some(u)) => u.udata_value().map(|u| u + 1),
            _ => None,
        };
        if children.next()?.is_some() {
            return opaque("a multi-dimensional array");
        }
    }
    let Some(count) = count.and_then(|c| u32::try_from(c).ok()) else { return opaque("an array of unknown length") };
    Ok(match resolve_type(dwarf, unit, elem, 0)?.kind {
        ValueKind::Signed { bytes } => FieldKind::Array { bytes, signed: true, count },
        ValueKind::Unsigned { bytes } => FieldKind::Array { bytes, signed: false, count },
        _ => FieldKind::Opaque { why: "an array of other than integers".into() },
    })
}

fn resolve_type(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    offset: UnitOffset,
    depth: u32,
) -> Result<CType, gimli::Error> {
    if depth > 16 {
        return Ok(CType::raw());
    }
    let entry = unit.entry(offset)?;
    let name = match entry.attr_value(gimli::DW_AT_name)? {
        Some(v) => Some(dwarf.attr_string(unit, v)?.to_string_lossy().into_owned()),
        None => None,
    };
    let target = match entry.attr_value(gimli::DW_AT_type)? {
        Some(AttributeValue::UnitRef(t)) => Some(t),
        _ => None,
    };
    let bytes = entry
        .attr_value(gimli::DW_AT_byte_size)?
        .and_then(|v| v.udata_value())
        .and_then(|b| u8::try_from(b).ok())
        .unwrap_or(8);
    let inner = |d: u32| -> Result<CType, gimli::Error> {
        match target {
            Some(t) => resolve_type(dwarf, unit, t, d),
            None => Ok(CType { name: "void".into(), kind: ValueKind::Void }),
        }
    };
    Ok(match entry.tag() {
        gimli::DW_TAG_base_type => {
            let encoding = match entry.attr_value(gimli::DW_AT_encoding)? {
                Some(AttributeValue::Encoding(e)) => e,
                _ => gimli::DW_ATE_signed,
            };
            let kind = match encoding {
                gimli::DW_ATE_boolean => ValueKind::Bool,
                gimli::DW_ATE_float | gimli::DW_ATE_complex_float => ValueKind::Float,
                gimli::DW_ATE_unsigned | gimli::DW_ATE_unsigned_char => ValueKind::Unsigned { bytes },
                _ => ValueKind::Signed { bytes },
            };
            CType { name: name.unwrap_or_else(|| "int".into()), kind }
        }
        gimli::DW_TAG_typedef => {
            let t = inner(depth + 1)?;
            CType { name: name.unwrap_or(t.name), kind: t.kind }
        }
        gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => {
            let t = inner(depth + 1)?;
            let qualifier = if entry.tag() == gimli::DW_TAG_const_type { "const" } else { "volatile" };
            CType { name: format!("{qualifier} {}", t.name), kind: t.kind }
        }
        gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => inner(depth + 1)?,
        gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => {
            let pointee = inner(depth + 1)?;
            let is_char = {
                let base = pointee.name.trim_start_matches("const ").trim_start_matches("volatile ");
                matches!(base, "char" | "signed char" | "unsigned char")
            };
            let name =
                if pointee.name.ends_with('*') { format!("{}*", pointee.name) } else { format!("{} *", pointee.name) };
            let kind = match pointee.kind {
                _ if is_char => ValueKind::CString,
                ValueKind::Signed { bytes } if matches!(bytes, 1 | 2 | 4 | 8) => {
                    ValueKind::Elements { bytes, signed: true, count_param: None }
                }
                ValueKind::Unsigned { bytes } if matches!(bytes, 1 | 2 | 4 | 8) => {
                    ValueKind::Elements { bytes, signed: false, count_param: None }
                }
                _ => ValueKind::Pointer,
            };
            CType { name, kind }
        }
        gimli::DW_TAG_enumeration_type => {
            CType { name: format!("enum {}", name.unwrap_or_default()), kind: ValueKind::Signed { bytes } }
        }
        gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type | gimli::DW_TAG_array_type => {
            let prefix = match entry.tag() {
                gimli::DW_TAG_structure_type => "struct ",
                gimli::DW_TAG_union_type => "union ",
                _ => "",
            };
            CType { name: format!("{prefix}{}", name.unwrap_or_default()), kind: ValueKind::Aggregate }
        }
        _ => CType { name: name.unwrap_or_else(|| "?".into()), kind: ValueKind::Raw },
    })
}

/// Whether a parameter name says it counts the elements of pointer parameter `ptr`.
fn counts(name: &str, ptr: &str) -> bool {
    matches!(name, "n" | "len" | "length" | "count" | "size" | "nitems" | "nmemb" | "nelem" | "num" | "cnt")
        || ["_len", "_count", "_size", "_n"].iter().any(|s| name.ends_with(s))
        || ["n_", "num_"].iter().any(|p| name.starts_with(p))
        || name == format!("n{ptr}")
}

/// Pairs every pointer-to-integers parameter with the integer parameter that counts its
/// elements: one named like a count (`n`, `len`, `count`, `size`, `nitems`, `*_len`,
/// `n_*`...), else the only integer parameter there is. A pointer left unpaired is read as
/// one element.
pub fn pair_counts(params: &mut [Param]) {
    let ints: Vec<usize> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.ctype.kind, ValueKind::Signed { .. } | ValueKind::Unsigned { .. }))
        .map(|(i, _)| i)
        .collect();
    for i in 0..params.len() {
        let by_name = ints.iter().copied().find(|&j| counts(&params[j].name, &params[i].name));
        match params[i].ctype.kind {
            ValueKind::Elements { bytes, signed, count_param: None } => {
                let only = (ints.len() == 1).then(|| ints[0]);
                let count_param = by_name.or(only).and_then(|j| u8::try_from(j).ok());
                params[i].ctype.kind = ValueKind::Elements { bytes, signed, count_param };
            }
            // A struct pointer is one struct unless a parameter is named as its count
            // (`move(struct point *p, int dx)` takes one point, not `dx` of them).
            ValueKind::Record { bytes, count_param: None } => {
                let count_param = by_name.and_then(|j| u8::try_from(j).ok());
                params[i].ctype.kind = ValueKind::Record { bytes, count_param };
            }
            _ => {}
        }
    }
}

/// Assigns SysV integer argument registers to parameters of a function returning `ret`:
/// `Some(i)` is register `i` of rdi, rsi, rdx, rcx, r8, r9; `None` when the value is not in
/// a general-purpose register we can read (floats, aggregates, the seventh argument and
/// later, or anything after an aggregate whose classification we do not model). A struct
/// returned in memory takes rdi for its hidden pointer; where that is not known, no
/// parameter is read.
pub fn register_slots(params: &[Param], ret: &CType) -> Vec<Option<usize>> {
    let (mut next, mut lost) = match ret.kind {
        ValueKind::StructValue { place: StructPlace::Memory, .. } => (1, false),
        ValueKind::StructValue { place: StructPlace::Unknown, .. } => (0, true),
        _ => (0, false),
    };
    params
        .iter()
        .map(|p| {
            if let ValueKind::StructValue { bytes, place } = p.ctype.kind {
                // Integers in as many registers as it has eightbytes when they all fit,
                // else on the stack; other classes are not modelled past here.
                let n = usize::from(bytes).div_ceil(8).max(1);
                return match place {
                    StructPlace::Registers if !lost && next + n <= tracer_common::MAX_ARGS => {
                        next += n;
                        Some(next - n)
                    }
                    StructPlace::Registers | StructPlace::Memory => None,
                    StructPlace::Sse | StructPlace::Unknown => {
                        lost = true;
                        None
                    }
                };
            }
            if p.ctype.kind == ValueKind::Aggregate {
                lost = true;
            }
            if lost || !p.ctype.kind.in_gpr() || next >= tracer_common::MAX_ARGS {
                return None;
            }
            next += 1;
            Some(next - 1)
        })
        .collect()
}

/// A source position from the DWARF line table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceLine {
    /// File name as recorded in the line table (without its directory).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
}

/// The source line of each ELF address in `addresses` (the line-table row that covers
/// it), or `None` where the file has no line information for it.
///
/// # Errors
/// When the object file or its DWARF is malformed.
pub fn source_lines(data: &[u8], addresses: &[u64]) -> Result<Vec<Option<SourceLine>>, DwarfError> {
    let mut out = vec![None; addresses.len()];
    let file = object::File::parse(data)?;
    if addresses.is_empty() || file.section_by_name(".debug_line").is_none() {
        return Ok(out);
    }
    let endian = if file.is_little_endian() { RunTimeEndian::Little } else { RunTimeEndian::Big };
    let load = |id: gimli::SectionId| -> Result<Cow<'_, [u8]>, gimli::Error> {
        Ok(file.section_by_name(id.name()).and_then(|s| s.uncompressed_data().ok()).unwrap_or(Cow::Borrowed(&[])))
    };
    let sections = gimli::DwarfSections::load(load)?;
    let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
    let (lo, hi) = (addresses.iter().copied().min().unwrap_or(0), addresses.iter().copied().max().unwrap_or(0));
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let Some(program) = unit.line_program.clone() else { continue };
        let mut rows = program.rows();
        // The previous row of the current sequence: it covers [its address, this row's).
        let mut previous: Option<(u64, u64, u64)> = None; // (address, file index, line)
        while let Some((header, row)) = rows.next_row()? {
            let address = row.address();
            if let Some((start, file_index, line)) = previous {
                if start <= hi && address > lo {
                    for (i, &a) in addresses.iter().enumerate() {
                        if (start..address).contains(&a) && out[i].is_none() && line > 0 {
                            let name = header
                                .file(file_index)
                                .and_then(|f| dwarf.attr_string(&unit, f.path_name()).ok())
                                .map(|s| s.to_string_lossy().into_owned())
                                .unwrap_or_else(|| "?".into());
                            out[i] = Some(SourceLine { file: name, line });
                        }
                    }
                }
            }
            previous = (!row.end_sequence()).then(|| (address, row.file_index(), row.line().map_or(0, |l| l.get())));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(kind: ValueKind) -> Param {
        Param { name: "p".into(), ctype: CType { name: "t".into(), kind } }
    }

    #[test]
    fn floats_do_not_take_integer_registers() {
        let params = [param(ValueKind::Signed { bytes: 4 }), param(ValueKind::Float), param(ValueKind::CString)];
        assert_eq!(register_slots(&params, &CType::raw()), vec![Some(0), None, Some(1)]);
    }

    #[test]
    fn a_struct_returned_in_memory_takes_rdi_and_one_not_modelled_takes_every_register() {
        let params = [param(ValueKind::Signed { bytes: 8 }), param(ValueKind::Signed { bytes: 8 })];
        let ret = |place| CType { name: "struct s".into(), kind: ValueKind::StructValue { bytes: 24, place } };
        assert_eq!(register_slots(&params, &ret(StructPlace::Memory)), vec![Some(1), Some(2)]);
        assert_eq!(register_slots(&params, &ret(StructPlace::Registers)), vec![Some(0), Some(1)]);
        assert_eq!(register_slots(&params, &ret(StructPlace::Sse)), vec![Some(0), Some(1)]);
        assert_eq!(register_slots(&params, &ret(StructPlace::Unknown)), vec![None, None]);
    }

    #[test]
    fn structs_passed_by_value_take_a_register_per_eightbyte_when_they_all_fit() {
        let int = param(ValueKind::Signed { bytes: 4 });
        let by_value = |bytes, place| param(ValueKind::StructValue { bytes, place });
        let none = CType::raw();
        let two = by_value(16, StructPlace::Registers);
        assert_eq!(register_slots(&[two.clone(), int.clone()], &none), vec![Some(0), Some(2)]);
        // Five registers taken: the struct goes on the stack, the next integer in r9.
        let mut params = vec![int.clone(); 5];
        params.extend([two, int.clone()]);
        assert_eq!(register_slots(&params, &none)[5..], [None, Some(5)]);
        // In memory it takes no register; partly in SSE registers, what follows is not known.
        assert_eq!(register_slots(&[by_value(24, StructPlace::Memory), int.clone()], &none), vec![None, Some(0)]);
        assert_eq!(register_slots(&[by_value(16, StructPlace::Sse), int], &none), vec![None, None]);
    }

    #[test]
    fn where_a_struct_is_passed_follows_the_sysv_classes() {
        let field = |name: &str, ctype: &str, offset: u32, kind: FieldKind| Field {
            name: name.into(),
            ctype: ctype.into(),
            offset,
            kind,
        };
        let int = |name: &str, offset: u32| field(name, "int", offset, FieldKind::Int { bytes: 4, signed: true });
        let layout = |bytes: u32, fields: Vec<Field>| Layout { name: "struct s".into(), bytes, fields };
        // Three ints: rax and rdx.
        assert_eq!(struct_place(&layout(12, vec![int("a", 0), int("b", 4), int("c", 8)])), StructPlace::Registers);
        // A nested struct and a pointer are integers too.
        let inner = layout(8, vec![int("x", 0), int("y", 4)]);
        let nested = layout(
            16,
            vec![
                field("p", "struct point", 0, FieldKind::Struct(inner)),
                field("next", "void *", 8, FieldKind::Pointer),
            ],
        );
        assert_eq!(struct_place(&nested), StructPlace::Registers);
        // More than 16 bytes, a misaligned field (packed), or a long double: memory.
        assert_eq!(struct_place(&layout(20, vec![int("a", 0)])), StructPlace::Memory);
        assert_eq!(struct_place(&layout(5, vec![int("a", 1)])), StructPlace::Memory);
        let long_double = field("x", "long double", 0, FieldKind::Opaque { why: "long double".into() });
        assert_eq!(struct_place(&layout(16, vec![long_double])), StructPlace::Memory);
        // A double: floating-point registers; a union: not modelled.
        let double = field("d", "double", 8, FieldKind::Opaque { why: "double is not decoded".into() });
        assert_eq!(struct_place(&layout(16, vec![int("a", 0), double])), StructPlace::Sse);
        let union = field("u", "union value", 0, FieldKind::Opaque { why: "union value is not decoded".into() });
        assert_eq!(struct_place(&layout(8, vec![union])), StructPlace::Unknown);
    }

    #[test]
    fn seventh_integer_argument_is_on_the_stack() {
        let params = vec![param(ValueKind::Unsigned { bytes: 8 }); 7];
        let slots = register_slots(&params, &CType::raw());
        assert_eq!(slots[5], Some(5));
        assert_eq!(slots[6], None);
    }
}
