//! The core's whole store conformance suite against PostgreSQL, one fresh database per
//! test.

use exit3_store_postgres::testing;

exit3_core::store_conformance!(testing::fresh_dyn_store);
