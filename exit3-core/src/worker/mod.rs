//! Background steps, one call each, returning what they did: pure over the store and the
//! ports, driven by the service's clock, so that tests run them with a `ManualClock` and
//! the server's tasks run them on a timer. Requests never do this work.

mod deliver;
mod maintain;
mod notify;

pub use self::{
    deliver::{DeliveryLimits, DeliveryReport},
    maintain::{MAX_PURGE_BATCHES, MaintenanceReport, PURGE_BATCH},
};
