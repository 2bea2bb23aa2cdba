//! WS-Management request envelopes (DMTF DSP0226 1.x, SOAP 1.2).
//!
//! Every request is a SOAP envelope whose header carries WS-Addressing `Action`, `To`,
//! `MessageID` and `ReplyTo` (DSP0226 §5.4) and the WS-Man `ResourceURI`, `OperationTimeout`
//! and, to address one instance, a `SelectorSet` (DSP0226 §5.1). The header is the one AMT
//! clients have always sent (MeshCommander `amt-wsman-0.2.0.js`, go-wsman-messages
//! `internal/message/wsman.go`), so firmware sees the byte shape it was tested against.

use crate::xml::escape;

/// WS-Addressing namespace (W3C submission 2004/08).
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// WS-Management namespace.
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// WS-Enumeration namespace (DSP0226 §8).
pub const NS_ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
/// WS-Transfer actions (DSP0226 §7).
pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub const ACTION_PUT: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put";
pub const ACTION_ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
pub const ACTION_PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
/// Anonymous reply address (WS-Addressing §3.3).
const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// How long the service may take (xs:duration); AMT accepts 60 s.
const OPERATION_TIMEOUT: &str = "PT60S";
/// Pull asks for everything at once: one round trip for every class AMT has (go-wsman does
/// the same). Paging still works if the firmware returns fewer.
pub const PULL_MAX_ELEMENTS: u32 = 999;
pub const PULL_MAX_CHARACTERS: u32 = 99_999;

/// One `<w:Selector Name="...">value</w:Selector>` (DSP0226 §5.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub value: String,
}

impl Selector {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A WS-Man request, not yet given a MessageID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `None` only for Identify, which carries no addressing header (DSP0226 §11).
    pub action: Option<String>,
    pub resource_uri: String,
    pub selectors: Vec<Selector>,
    /// The XML inside `<Body>`.
    pub body: String,
}

impl Request {
    /// Identify (DSP0226 §11): asks the service for its protocol version and vendor.
    pub fn identify() -> Self {
        Self {
            action: None,
            resource_uri: String::new(),
            selectors: Vec::new(),
            body: String::new(),
        }
    }

    /// WS-Transfer Get of one instance (DSP0226 §7.3); singletons need no selectors.
    pub fn get(resource_uri: &str, selectors: Vec<Selector>) -> Self {
        Self::new(ACTION_GET, resource_uri, selectors, String::new())
    }

    /// WS-Transfer Put (DSP0226 §7.5). `properties` is the instance's property elements, each
    /// written as `<h:Name>value</h:Name>` in the order given (AMT validates the schema order).
    pub fn put(
        resource_uri: &str,
        class: &str,
        selectors: Vec<Selector>,
        properties: &[(String, String)],
    ) -> Self {
        let mut body = format!("<h:{class} xmlns:h=\"{}\">", escape(resource_uri));
        for (name, value) in properties {
            body.push_str(&format!("<h:{name}>{}</h:{name}>", escape(value)));
        }
        body.push_str(&format!("</h:{class}>"));
        Self::new(ACTION_PUT, resource_uri, selectors, body)
    }

    /// WS-Enumeration Enumerate (DSP0226 §8.2).
    /// With `mode`, the items are endpoint references (`EnumerateEPR`) or objects with
    /// their references (`EnumerateObjectAndEPR`), DSP0226 §8.7.
    pub fn enumerate(resource_uri: &str, mode: Option<&str>) -> Self {
        let body = match mode {
            None => format!("<Enumerate xmlns=\"{NS_ENUMERATION}\" />"),
            Some(mode) => format!(
                "<Enumerate xmlns=\"{NS_ENUMERATION}\"><w:EnumerationMode xmlns:w=\"{NS_WSMAN}\">{}</w:EnumerationMode></Enumerate>",
                escape(mode)
            ),
        };
        Self::new(ACTION_ENUMERATE, resource_uri, Vec::new(), body)
    }

    /// WS-Enumeration Pull with the context from Enumerate or the previous Pull (DSP0226 §8.4).
    pub fn pull(resource_uri: &str, context: &str) -> Self {
        let body = format!(
            "<Pull xmlns=\"{NS_ENUMERATION}\"><EnumerationContext>{}</EnumerationContext><MaxElements>{PULL_MAX_ELEMENTS}</MaxElements><MaxCharacters>{PULL_MAX_CHARACTERS}</MaxCharacters></Pull>",
            escape(context)
        );
        Self::new(ACTION_PULL, resource_uri, Vec::new(), body)
    }

    /// A custom action (DSP0226 §9): `<h:Method_INPUT xmlns:h="ResourceURI">input</h:Method_INPUT>`,
    /// Action `ResourceURI/Method`. `input` is already-escaped XML (see [`Input`]).
    pub fn invoke(resource_uri: &str, method: &str, selectors: Vec<Selector>, input: &str) -> Self {
        let body = format!(
            "<h:{method}_INPUT xmlns:h=\"{}\">{input}</h:{method}_INPUT>",
            escape(resource_uri)
        );
        Self::new(
            &format!("{resource_uri}/{method}"),
            resource_uri,
            selectors,
            body,
        )
    }

    fn new(action: &str, resource_uri: &str, selectors: Vec<Selector>, body: String) -> Self {
        Self {
            action: Some(action.to_string()),
            resource_uri: resource_uri.to_string(),
            selectors,
            body,
        }
    }

    /// The local name of the action (`Get`, `Pull`, `RequestPowerStateChange`), for messages.
    pub fn action_name(&self) -> &str {
        match &self.action {
            Some(a) => a.rsplit('/').next().unwrap_or(a),
            None => "Identify",
        }
    }

    /// The envelope as sent on the wire, with this MessageID.
    pub fn to_xml(&self, message_id: u64) -> String {
        let Some(action) = &self.action else {
            return "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsmid=\"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd\"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>".to_string();
        };
        let mut out = String::with_capacity(1024 + self.body.len());
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?><Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:a=\"");
        out.push_str(NS_ADDRESSING);
        out.push_str("\" xmlns:w=\"");
        out.push_str(NS_WSMAN);
        out.push_str("\" xmlns=\"http://www.w3.org/2003/05/soap-envelope\"><Header><a:Action>");
        out.push_str(&escape(action));
        out.push_str("</a:Action><a:To>/wsman</a:To><w:ResourceURI>");
        out.push_str(&escape(&self.resource_uri));
        out.push_str(&format!(
            "</w:ResourceURI><a:MessageID>{message_id}</a:MessageID><a:ReplyTo><a:Address>{ANONYMOUS}</a:Address></a:ReplyTo><w:OperationTimeout>{OPERATION_TIMEOUT}</w:OperationTimeout>"
        ));
        if !self.selectors.is_empty() {
            out.push_str("<w:SelectorSet>");
            for s in &self.selectors {
                out.push_str(&format!(
                    "<w:Selector Name=\"{}\">{}</w:Selector>",
                    escape(&s.name),
                    escape(&s.value)
                ));
            }
            out.push_str("</w:SelectorSet>");
        }
        out.push_str("</Header><Body>");
        out.push_str(&self.body);
        out.push_str("</Body></Envelope>");
        out
    }
}

/// Builder for the escaped inner XML of a method's `_INPUT` element.
#[derive(Debug, Default, Clone)]
pub struct Input {
    prefix: &'static str,
    xml: String,
}

impl Input {
    /// Parameters are written as `<h:Name>` (the prefix `invoke` binds to the ResourceURI).
    pub fn new() -> Self {
        Self {
            prefix: "h",
            xml: String::new(),
        }
    }

    /// A scalar parameter.
    pub fn param(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        self.xml.push_str(&format!(
            "<{p}:{name}>{}</{p}:{name}>",
            escape(&value),
            p = self.prefix
        ));
        self
    }

    /// An endpoint-reference parameter (WS-Addressing EPR, DSP0226 §5.1): how a method is told
    /// which instance to act on, e.g. `ManagedElement` or `Source`.
    pub fn reference(mut self, name: &str, resource_uri: &str, selectors: &[Selector]) -> Self {
        self.xml.push_str(&format!("<{p}:{name}>", p = self.prefix));
        self.xml
            .push_str(&endpoint_reference(resource_uri, selectors));
        self.xml
            .push_str(&format!("</{p}:{name}>", p = self.prefix));
        self
    }

    pub fn into_xml(self) -> String {
        self.xml
    }
}

/// The inside of an endpoint reference, in the exact shape AMT clients send.
pub fn endpoint_reference(resource_uri: &str, selectors: &[Selector]) -> String {
    let mut xml = format!(
        "<Address xmlns=\"{NS_ADDRESSING}\">{NS_ADDRESSING}</Address><ReferenceParameters xmlns=\"{NS_ADDRESSING}\"><ResourceURI xmlns=\"{NS_WSMAN}\">{}</ResourceURI><SelectorSet xmlns=\"{NS_WSMAN}\">",
        escape(resource_uri)
    );
    for s in selectors {
        xml.push_str(&format!(
            "<Selector Name=\"{}\">{}</Selector>",
            escape(&s.name),
            escape(&s.value)
        ));
    }
    xml.push_str("</SelectorSet></ReferenceParameters>");
    xml
}
