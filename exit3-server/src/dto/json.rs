//! JSON answers written by serde straight from their wire types.

use poem::{IntoResponse, Response};
use poem_openapi::{
    payload::{Json, Payload},
    registry::{MetaSchemaRef, Registry},
    types::Type,
};
use serde::Serialize;

/// A JSON answer written straight from its wire type by serde, where poem-openapi's
/// [`Json`] first builds a `serde_json::Value` tree (an ordered map per object, every
/// key and value allocated): for a page of 50 leads that tree was most of the server's
/// time. The document still describes `T` through its `Object` derive; a test checks
/// that both give the same JSON.
#[derive(Debug, Clone)]
pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        poem::web::Json(self.0).into_response()
    }
}
