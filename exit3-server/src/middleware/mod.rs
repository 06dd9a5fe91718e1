//! Everything of §5 and §7 that is about HTTP alone, one module per job, composed around
//! the routes by [`endpoint`](crate::endpoint) (outermost first): request ids, the
//! client's address and scheme, canonical paths, the request log and metrics, security
//! headers, the request deadline, hosts, the HTTPS redirect, CORS, the metrics endpoint,
//! `OPTIONS`, the body limit, and JSON bodies for every error and panic.

pub mod access_log;
pub(crate) mod body_limit;
pub(crate) mod client_addr;
pub(crate) mod cors;
pub(crate) mod deadline;
pub mod fallback;
pub mod hosts;
pub(crate) mod https;
pub(crate) mod options_method;
pub mod request_id;
pub(crate) mod security_headers;
pub mod slash;

/// A layer's endpoint: boxed, so that fourteen layers make a flat type (nested generic
/// futures made the compiler's work grow with every layer), at the cost of one
/// allocation per layer and request.
pub type Layered = poem::endpoint::BoxEndpoint<'static, poem::Response>;

pub use self::{
    access_log::{ACCESS_LOG_TARGET, RouteTemplate, method_label},
    fallback::PanicMessage,
    hosts::HostPattern,
    request_id::RequestId,
};
