//! Every answer of the black-box suite checked against the OpenAPI document the server
//! serves, so the document can never drift from what serde writes: the operation is
//! found by method and path template, the status must be documented for it, and the
//! body must match that status's schema — with `nullable` honoured, and no property
//! the schema does not name.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

use exit3_core::Exit3;
use exit3_store_memory::MemoryStore;
use serde_json::{Map, Value, json};

/// The served document, once.
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new())).build();
    serde_json::from_str(&exit3_server::openapi_json(exit3))
        .unwrap_or_else(|e| panic!("the document is not JSON: {e}"))
});

/// The `(operationId, status)` pairs checked so far in this test binary.
static CHECKED: LazyLock<Mutex<BTreeSet<(String, u16)>>> = LazyLock::new(Mutex::default);

/// The pairs checked so far.
pub fn checked() -> BTreeSet<(String, u16)> {
    CHECKED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Every `(operationId, status)` the document declares.
pub fn documented() -> BTreeMap<String, BTreeSet<u16>> {
    let mut out = BTreeMap::new();
    for (_, item) in DOCUMENT["paths"].as_object().into_iter().flatten() {
        for (_, op) in item.as_object().into_iter().flatten() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let statuses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(s, _)| s.parse().ok())
                .collect();
            out.insert(id.to_owned(), statuses);
        }
    }
    out
}

/// Whether a request path (no query) matches a template such as `/x/{id}/`.
fn matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// OpenAPI 3.0's schema dialect as JSON Schema: `nullable: true` becomes "or null",
/// and an object that lists its properties allows no others.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                to_json_schema(child);
            }
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let rest = Value::Object(std::mem::take(map));
                map.insert("anyOf".into(), json!([rest, {"type": "null"}]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

/// Checks one answer of `method path`; `path` may carry a query. Answers of paths or
/// methods the document does not describe (unknown routes, `OPTIONS`, the documents
/// themselves), redirects and empty bodies are not checked.
pub fn check(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) {
    let path = path.split('?').next().unwrap_or_default();
    // A literal segment beats a parameter (`newsletter/unsubscribe/`, not `{id}`).
    let Some((template, item)) = DOCUMENT["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(t, _)| matches(t, path))
        .min_by_key(|(t, _)| t.matches('{').count())
    else {
        return;
    };
    let Some(op) = item.get(method.to_ascii_lowercase()) else {
        return;
    };
    if (300..400).contains(&status) {
        return;
    }
    let id = op["operationId"].as_str().unwrap_or("?").to_owned();
    let Some(response) = op["responses"].get(status.to_string()) else {
        panic!(
            "{method} {template} ({id}) answered {status}, which the document does not list: {body}"
        );
    };
    CHECKED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((id.clone(), status));
    if body.is_empty() {
        assert!(
            response.get("content").is_none(),
            "{id} {status} answered no body, but the document describes one"
        );
        return;
    }
    // A document that says the answer is another media type (a CSV export): the
    // answer's Content-Type must be the one the document names.
    let media: Vec<&String> = response["content"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(m, _)| m)
        .collect();
    if !media.is_empty() && media.iter().all(|m| !m.starts_with("application/json")) {
        assert!(
            media.iter().any(|m| Some(m.as_str()) == content_type),
            "{id} {status}: Content-Type {content_type:?}, the document says {media:?}"
        );
        return;
    }
    let schema = response["content"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(media, _)| media.starts_with("application/json"))
        .and_then(|(_, c)| c["schema"].as_object());
    let Some(schema) = schema else {
        panic!("{id} {status} has no JSON body schema in the document, but answered {body}");
    };
    assert!(
        content_type.is_some_and(|c| c.starts_with("application/json")),
        "{id} {status}: Content-Type {content_type:?}"
    );
    let mut root = Map::new();
    root.extend(schema.clone());
    root.insert("components".into(), DOCUMENT["components"].clone());
    let mut root = Value::Object(root);
    to_json_schema(&mut root);
    let validator = jsonschema::draft4::new(&root)
        .unwrap_or_else(|e| panic!("{id} {status}: the schema does not compile: {e}"));
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{id} {status}: not JSON ({e}): {body}"));
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} ({id}) {status} does not match the document:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}
