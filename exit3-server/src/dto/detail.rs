//! The bodies of errors: `{"detail"}`, the 500 body, the 400 body.

use std::collections::BTreeMap;

use poem_openapi::{Object, Union};

/// `{"detail": "..."}`: every error that is not about fields.
#[derive(Debug, Clone, Object)]
pub struct Detail {
    /// What went wrong (DRF's texts).
    pub detail: String,
}

impl Detail {
    /// A detail body.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

/// A 500 body: the fixed text, and the error chain only when `DEBUG=true`.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ServerErrorBody {
    /// Always `A server error occurred.`
    pub detail: String,
    /// The error chain, outermost first; present only with `DEBUG=true`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_chain: Option<Vec<String>>,
}

/// Field name → messages: the validation shape (`non_field_errors` for the body as a
/// whole).
pub type FieldMessages = BTreeMap<String, Vec<String>>;

/// A 400 body: either every failing field with its messages, or a `detail` (a body that
/// is not JSON).
#[derive(Debug, Clone, Union)]
pub enum BadRequestBody {
    /// `{"field": ["message", ...], ...}`
    Fields(FieldMessages),
    /// `{"detail": "JSON parse error - ..."}`
    Detail(Detail),
}
