//! What the api test binaries share: the seeded people, ids and clock, the JWKS server and the
//! seed builders all come from `testkit`; `schema` is the api's own.
#![allow(dead_code, unused_imports)] // each test binary uses a part

pub mod schema;

pub use testkit::{at, jwks_server, ACCM, HERA, MATCH_ID, OTHER, OWNER};
