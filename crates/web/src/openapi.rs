//! The OpenAPI 3.1 document of `/api/` (`openapi.json` beside this crate's sources, served at
//! `/api/openapi.json`). Its schemas are JSON Schema 2020-12, the dialect OpenAPI 3.1 uses;
//! the tests check every route is in it and every answer matches its schema.

/// The document.
pub const DOCUMENT: &str = include_str!("../openapi.json");
