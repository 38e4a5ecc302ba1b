//! The OpenAPI 3.1 document (placeholder, filled below).
pub fn document() -> serde_json::Value {
    serde_json::json!({})
}
