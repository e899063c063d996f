//! The learned guide of the list search: random list programs with descriptions
//! ([`generate`], [`describe`]), a task's features ([`features`]), a network predicting
//! which operators the solution uses, its training and metrics ([`net`]), and the
//! operator prices it gives the search ([`guide`]); and a value model pricing each term
//! the search builds by how its values relate to the outputs ([`values`]).

pub mod describe;
pub mod features;
pub mod generate;
pub mod guide;
pub mod net;
pub mod values;
