//! Every field mapping between the vendors, as pure functions: no I/O, no async, no clock.
//!
//! Each integration adds its own module; a mapping rule is a plain function with its own unit test,
//! so it can be read and changed without touching any connector.

pub mod hire;
pub mod lessonly;
pub mod litmos;
pub mod names;
mod text;
pub mod theorg;
