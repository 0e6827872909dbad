//! Nordlys's vocabulary: identifiers that can only exist valid, exact energy and money,
//! typed time in the metering point's zone, and the master-data model.
//!
//! This crate is pure: it knows nothing of files, SQL, HTTP or the clock. Everything
//! that crosses a boundary is parsed into these types first ("parse, don't validate").

pub mod document;
pub mod error;
pub mod fik;
pub mod ids;
pub mod kid;
pub mod model;
pub mod quantity;
pub mod time;

pub use error::ParseError;
