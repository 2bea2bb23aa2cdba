//! What class instances are built from: resource URIs, text and EPR property values, and
//! the instances themselves.

use crate::render::{Instance, Value};

/// Resource URI prefix of `AMT_*` classes (MeshCommander amt-0.2.0.js `obj.pfx`).
pub(crate) const AMT_SCHEMA: &str = "http://intel.com/wbem/wscim/1/amt-schema/1/";
/// Resource URI prefix of `IPS_*` classes.
pub(crate) const IPS_SCHEMA: &str = "http://intel.com/wbem/wscim/1/ips-schema/1/";
/// Resource URI prefix of `CIM_*` classes.
pub(crate) const CIM_SCHEMA: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";

/// The resource URI of a class (`AMT_*`, `IPS_*` and `CIM_*` prefixes).
pub(crate) fn uri(class: &str) -> String {
    let prefix = if class.starts_with("AMT_") {
        AMT_SCHEMA
    } else if class.starts_with("IPS_") {
        IPS_SCHEMA
    } else {
        CIM_SCHEMA
    };
    format!("{prefix}{class}")
}

/// A text value.
pub(crate) fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// An instance of `class` with these properties.
pub(crate) fn inst(class: &'static str, props: Vec<(&'static str, Value)>) -> Instance {
    Instance {
        class,
        ns: uri(class),
        props,
    }
}

/// An EPR property value.
pub(crate) fn epr(class: &str, selectors: &[(&'static str, &str)]) -> Value {
    Value::Epr {
        resource_uri: uri(class),
        selectors: selectors.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    }
}
