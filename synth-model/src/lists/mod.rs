//! The learned guide of the list search: random list programs with descriptions
//! ([`generate`], [`describe`]), a task's features ([`features`]), a network predicting
//! which operators the solution uses, its training and metrics ([`net`]), and the
//! operator prices it gives the search ([`guide`]).

pub mod describe;
pub mod features;
pub mod generate;
pub mod guide;
pub mod net;
