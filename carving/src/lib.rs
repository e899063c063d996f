//! From recorded calls to synthesized code.
//!
//! [`spec`] carves a function's calls in a trace into a specification (training examples
//! and held-out calls); [`live`] runs the whole loop on a live process — record, carve,
//! synthesize, check, and record more where the code is not yet known to be right — with
//! the guide chosen by [`guide_choice`]; [`lists`] does the same for functions over
//! arrays, with the list language.
#![deny(missing_docs)]

pub mod guide_choice;
pub mod lists;
pub mod live;
pub mod spec;
