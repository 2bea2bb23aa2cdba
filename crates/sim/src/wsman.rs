//! WS-Management request parsing (DMTF DSP0226) on top of the namespace-agnostic XML tree.

use crate::xml::{self, Element, XmlError};

/// WS-Transfer action URIs (DSP0226 §7).
pub(crate) const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// WS-Enumeration action URIs (DSP0226 §8).
pub(crate) const ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";

/// The operation a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// DSP0226 §11 Identify: a body of `Identify` and no Action header.
    Identify,
    /// WS-Transfer Get.
    Get,
    /// WS-Transfer Put.
    Put,
    /// WS-Enumeration Enumerate.
    Enumerate,
    /// WS-Enumeration Pull.
    Pull,
    /// WS-Enumeration Release.
    Release,
    /// A custom action `<ResourceURI>/<Method>` (DSP0226 §9).
    Invoke(String),
    /// An Action header naming none of the above.
    Unknown(String),
}

impl Operation {
    /// The local name recorded in [`crate::RequestRecord::action`].
    pub fn local_name(&self) -> &str {
        match self {
            Self::Identify => "Identify",
            Self::Get => "Get",
            Self::Put => "Put",
            Self::Enumerate => "Enumerate",
            Self::Pull => "Pull",
            Self::Release => "Release",
            Self::Invoke(m) => m,
            Self::Unknown(a) => a.rsplit('/').next().unwrap_or(a),
        }
    }
}

/// Why a body is not a WS-Man request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// Well-formed, but not a SOAP envelope with a Header and a Body.
    #[error("not a SOAP envelope: {0}")]
    NotEnvelope(&'static str),
    /// A request other than Identify without `wsa:Action`.
    #[error("missing wsa:Action header")]
    NoAction,
}

/// A parsed WS-Man request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsmanRequest {
    /// What is asked.
    pub operation: Operation,
    /// `wsman:ResourceURI`, if present.
    pub resource_uri: Option<String>,
    /// `wsa:MessageID`, if present; echoed as `RelatesTo`.
    pub message_id: Option<String>,
    /// `wsman:SelectorSet` entries (Name attribute, value).
    pub selectors: Vec<(String, String)>,
    /// The first element inside the SOAP Body, if any.
    pub body: Option<Element>,
}

impl WsmanRequest {
    /// The class named by the ResourceURI (its last path segment), or "".
    pub fn class_name(&self) -> &str {
        self.resource_uri
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("")
    }

    /// The value of a selector.
    pub fn selector(&self, name: &str) -> Option<&str> {
        self.selectors
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a request body. Never panics, whatever the bytes.
pub fn parse_request(body: &[u8]) -> Result<WsmanRequest, ParseError> {
    let root = xml::parse(body)?;
    if root.name != "Envelope" {
        return Err(ParseError::NotEnvelope("root element is not Envelope"));
    }
    let soap_body = root
        .child("Body")
        .ok_or(ParseError::NotEnvelope("no Body"))?;
    let first = soap_body.children.first().cloned();
    let header = root.child("Header");
    let text = |name: &str| {
        header
            .and_then(|h| h.child(name))
            .map(|e| e.value().to_string())
    };
    let action = text("Action");
    let resource_uri = text("ResourceURI");
    let message_id = text("MessageID");
    let selectors = header
        .and_then(|h| h.child("SelectorSet"))
        .map(|set| {
            set.children
                .iter()
                .filter(|s| s.name == "Selector")
                .map(|s| {
                    (
                        s.attr("Name").unwrap_or_default().to_string(),
                        s.value().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    let operation = match action {
        None if first.as_ref().is_some_and(|b| b.name == "Identify") => Operation::Identify,
        None => return Err(ParseError::NoAction),
        Some(a) => classify(&a, resource_uri.as_deref()),
    };
    Ok(WsmanRequest {
        operation,
        resource_uri,
        message_id,
        selectors,
        body: first,
    })
}

fn classify(action: &str, resource_uri: Option<&str>) -> Operation {
    if let Some(op) = action
        .strip_prefix(TRANSFER)
        .and_then(|r| r.strip_prefix('/'))
    {
        match op {
            "Get" => return Operation::Get,
            "Put" => return Operation::Put,
            _ => {}
        }
    }
    if let Some(op) = action
        .strip_prefix(ENUMERATION)
        .and_then(|r| r.strip_prefix('/'))
    {
        match op {
            "Enumerate" => return Operation::Enumerate,
            "Pull" => return Operation::Pull,
            "Release" => return Operation::Release,
            _ => {}
        }
    }
    if let Some(method) = resource_uri
        .and_then(|u| action.strip_prefix(u))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|m| !m.is_empty() && !m.contains('/'))
    {
        return Operation::Invoke(method.to_string());
    }
    Operation::Unknown(action.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The request envelope of amt-protocol.md §2a (MeshCommander / go-wsman CreateHeader).
    const GET: &str = r#"<?xml version="1.0" encoding="utf-8"?><Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action><a:To>/wsman</a:To><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_SoftwareIdentity</w:ResourceURI><a:MessageID>7</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:OperationTimeout>PT60S</w:OperationTimeout><w:SelectorSet><w:Selector Name="InstanceID">AMT</w:Selector></w:SelectorSet></Header><Body></Body></Envelope>"#;

    #[test]
    fn parses_get_with_selector() {
        let r = parse_request(GET.as_bytes()).unwrap();
        assert_eq!(r.operation, Operation::Get);
        assert_eq!(r.class_name(), "CIM_SoftwareIdentity");
        assert_eq!(r.message_id.as_deref(), Some("7"));
        assert_eq!(r.selector("InstanceID"), Some("AMT"));
        assert!(r.body.is_none());
    }

    #[test]
    fn parses_identify_and_invoke() {
        let id = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"#;
        assert_eq!(
            parse_request(id.as_bytes()).unwrap().operation,
            Operation::Identify
        );
        let uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService";
        let inv = format!(
            "<E><Header><Action>{uri}/RequestPowerStateChange</Action><ResourceURI>{uri}</ResourceURI></Header><Body><h:RequestPowerStateChange_INPUT xmlns:h=\"{uri}\"><h:PowerState>8</h:PowerState></h:RequestPowerStateChange_INPUT></Body></E>"
        )
        .replace("<E>", "<Envelope>")
        .replace("</E>", "</Envelope>");
        let r = parse_request(inv.as_bytes()).unwrap();
        assert_eq!(
            r.operation,
            Operation::Invoke("RequestPowerStateChange".into())
        );
        assert_eq!(r.body.unwrap().child("PowerState").unwrap().value(), "8");
    }

    #[test]
    fn refuses_non_envelopes() {
        assert!(matches!(
            parse_request(b"<Foo/>"),
            Err(ParseError::NotEnvelope(_))
        ));
        assert_eq!(
            parse_request(b"<Envelope><Header/><Body/></Envelope>"),
            Err(ParseError::NoAction)
        );
    }
}
