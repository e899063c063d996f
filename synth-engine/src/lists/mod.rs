//! Synthesis over lists of integers: DeepCoder's and LambdaBeam's operators, lambdas
//! whose bodies are searched like any term, and Python, Rust and C emitters.
//!
//! ```
//! use synth_engine::lists::{synthesize_lists, ListLimits, ListOutcome, ListProblem, UniformListGuide};
//! use synth_engine::search::CancelToken;
//! use synth_engine::spec::Examples;
//!
//! let spec = r#"{"function": "running_max", "params": [{"name": "xs", "type": "list[int]"}],
//!   "output_type": "list[int]", "examples": [
//!   {"args": [[3, 1, 4, 1, 5]], "output": [3, 3, 4, 4, 5]},
//!   {"args": [[2, 7, 1, 8]], "output": [2, 7, 7, 8]}]}"#;
//! let problem = ListProblem::from_examples(&Examples::from_json(spec).unwrap()).unwrap();
//! let out = synthesize_lists(&problem, &ListLimits::default(), &UniformListGuide, &CancelToken::new());
//! let ListOutcome::Found { program, .. } = out else { panic!("{out:?}") };
//! assert_eq!(program.show(&problem.param_names()), "Scanl1(lambda u1, u2: Max(u1, u2), xs)");
//! ```

mod emit;
mod emit_c;
mod outputs;
mod program;
mod search;
mod shape;
mod spec;

pub use emit::{emit_list_function, emit_list_tests, ListEmitError};
pub use emit_c::{emit_list_c, emit_list_c_tests, emit_outputs_c, emit_outputs_c_tests, CParam, CPrototype};
pub use outputs::{
    emit_outputs_function, emit_outputs_tests, joint_examples, show_outputs, synthesize_outputs, JointExample,
    OutputNotFound,
};
pub use program::{floor_div, floor_mod, run, Expr, LType, LValue, ListOp, RunError, Slot, MAX_LIST};
pub use search::{
    synthesize_lists, synthesize_lists_incrementally, CoreOpsFirst, ListGuide, ListLimits, ListOutcome, ListStats,
    UniformListGuide, MAX_VALUE_COST,
};
pub use shape::{
    class_name, declare_types, json_type_name, structured, ReprC, Shape, ShapedKind, ShapedParam, StructShape,
};
pub use spec::{is_list_spec, ListProblem, ResultField, MAX_EXAMPLE_LIST};

/// A list task that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// A type the list language does not have.
    #[error("unknown type `{name}` for {what} (list tasks take int, bool and list[int])")]
    UnknownType {
        /// The type as written.
        name: String,
        /// Which parameter, or the output.
        what: String,
    },
    /// A value that is not of its declared type.
    #[error("{what} is not a {ty}")]
    BadValue {
        /// Which example and argument.
        what: String,
        /// The declared type.
        ty: LType,
    },
    /// A list longer than the examples may hold.
    #[error("{what} has {len} elements; at most {cap} are accepted")]
    TooLong {
        /// Which example and argument.
        what: String,
        /// Its length.
        len: usize,
        /// The cap.
        cap: usize,
    },
    /// An example with the wrong number of arguments.
    #[error("example {example} has {got} arguments; the function takes {expected}")]
    Arity {
        /// The example (1-based).
        example: usize,
        /// Parameters declared.
        expected: usize,
        /// Arguments given.
        got: usize,
    },
    /// A `result_param` that is not a list parameter of a list task.
    #[error("`result_param` `{0}` must name a list parameter, and the output must be a list")]
    BadResultParam(String),
    /// A struct-typed task that cannot be read.
    #[error("{0}")]
    BadStruct(String),
    /// Several outputs (`"outputs"`) declared or given wrongly.
    #[error("{0}")]
    BadOutputs(String),
    /// No examples at all.
    #[error("the specification has no examples")]
    NoExamples,
    /// Two examples with the same inputs and different outputs.
    #[error("examples {first} and {second} have the same inputs and different outputs")]
    Contradiction {
        /// The earlier example (1-based).
        first: usize,
        /// The later one.
        second: usize,
    },
}
