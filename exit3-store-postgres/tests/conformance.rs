//! The core's whole store conformance suite against PostgreSQL, one fresh database per
//! test.

mod common;

exit3_core::store_conformance!(common::fresh_dyn_store);
