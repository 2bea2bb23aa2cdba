//! Rendering of response envelopes, shaped like the recorded AMT 12 responses in
//! tests/fixtures/amt-wsman: compact XML, prefixes `a:`…`f:` fixed, `g:` onwards per
//! response, header elements To, RelatesTo, Action (mustUnderstand), MessageID, ResourceURI.

use std::fmt::Write;

use quick_xml::escape::escape;

pub(crate) const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub(crate) const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub(crate) const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub(crate) const COMMON: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
pub(crate) const ANONYMOUS: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
pub(crate) const IDENTITY: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";

/// The namespaces every AMT response declares first, in this order.
const FIXED_NS: [(&str, &str); 6] = [
    ("a", SOAP),
    ("b", ADDRESSING),
    ("c", WSMAN),
    ("d", "http://schemas.xmlsoap.org/ws/2005/02/trust"),
    (
        "e",
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    ),
    ("f", "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"),
];

/// What the items of an enumeration are (DSP0226 §8.7, `wsman:EnumerationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnumerationMode {
    /// No mode: the objects.
    Objects,
    /// `EnumerateEPR`: an endpoint reference per object.
    Epr,
    /// `EnumerateObjectAndEPR`: each object followed by its endpoint reference.
    ObjectAndEpr,
}

/// A property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// Plain text.
    Text(String),
    /// An endpoint reference (WS-Addressing EPR with a WS-Man SelectorSet).
    Epr {
        resource_uri: String,
        selectors: Vec<(&'static str, String)>,
    },
    /// A CIM datetime, wrapped in the common schema's `Datetime` element.
    Datetime(String),
}

/// One CIM instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    /// The element name, i.e. the class of the instance (may be a subclass of the class
    /// asked for: CIM_PhysicalPackage enumerates CIM_Card).
    pub class: &'static str,
    /// The namespace of `class`.
    pub ns: String,
    /// Properties in order; repeated names are array properties.
    pub props: Vec<(&'static str, Value)>,
}

impl Instance {
    /// The text of the first property with this name.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.props.iter().find_map(|(k, v)| match v {
            Value::Text(t) if *k == name => Some(t.as_str()),
            _ => None,
        })
    }

    fn render(&self, out: &mut String, p: &str, common: &str) {
        let _ = write!(out, "<{p}:{}>", self.class);
        for (name, value) in &self.props {
            let _ = write!(out, "<{p}:{name}>");
            match value {
                Value::Text(t) => out.push_str(&escape(t.as_str())),
                Value::Datetime(t) => {
                    let _ = write!(
                        out,
                        "<{common}:Datetime>{}</{common}:Datetime>",
                        escape(t.as_str())
                    );
                }
                Value::Epr {
                    resource_uri,
                    selectors,
                } => render_epr(out, resource_uri, selectors),
            }
            let _ = write!(out, "</{p}:{name}>");
        }
        let _ = write!(out, "</{p}:{}>", self.class);
    }
}

/// Key properties that identify an instance in its endpoint reference, by CIM convention: a
/// physical element by CreationClassName and Tag, a logical device by its system and
/// DeviceID, settings by InstanceID, a service or system by Name.
const KEYS: [&str; 7] = [
    "CreationClassName",
    "Tag",
    "SystemCreationClassName",
    "SystemName",
    "DeviceID",
    "InstanceID",
    "Name",
];

impl Instance {
    /// `<b:EndpointReference>` of this instance: its class URI and key properties.
    fn render_reference(&self, out: &mut String) {
        let selectors: Vec<(&'static str, String)> = self
            .props
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Text(t) if KEYS.contains(k) => Some((*k, t.clone())),
                _ => None,
            })
            .collect();
        out.push_str("<b:EndpointReference>");
        render_epr(out, &self.ns, &selectors);
        out.push_str("</b:EndpointReference>");
    }
}

fn render_epr(out: &mut String, uri: &str, selectors: &[(&'static str, String)]) {
    let _ = write!(
        out,
        "<b:Address>{ANONYMOUS}</b:Address><b:ReferenceParameters><c:ResourceURI>{}</c:ResourceURI><c:SelectorSet>",
        escape(uri)
    );
    for (k, v) in selectors {
        let _ = write!(
            out,
            "<c:Selector Name=\"{k}\">{}</c:Selector>",
            escape(v.as_str())
        );
    }
    out.push_str("</c:SelectorSet></b:ReferenceParameters>");
}

/// Header values of one response.
pub(crate) struct Head<'a> {
    pub relates_to: &'a str,
    pub action: &'a str,
    pub message_id: u64,
    pub resource_uri: &'a str,
}

/// A whole envelope: fixed namespaces, then `extra` (g, h, ...), then xsi.
pub(crate) fn envelope(head: &Head<'_>, extra: &[(String, String)], body: &str) -> String {
    let mut out = String::with_capacity(1024 + body.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a:Envelope");
    for (p, ns) in FIXED_NS {
        let _ = write!(out, " xmlns:{p}=\"{ns}\"");
    }
    for (p, ns) in extra {
        let _ = write!(out, " xmlns:{p}=\"{}\"", escape(ns.as_str()));
    }
    let _ = write!(
        out,
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><a:Header><b:To>{ANONYMOUS}</b:To><b:RelatesTo>{}</b:RelatesTo><b:Action a:mustUnderstand=\"true\">{}</b:Action><b:MessageID>uuid:00000000-8086-8086-8086-{:012X}</b:MessageID><c:ResourceURI>{}</c:ResourceURI></a:Header><a:Body>{body}</a:Body></a:Envelope>",
        escape(head.relates_to),
        escape(head.action),
        head.message_id & 0xFFFF_FFFF_FFFF,
        escape(head.resource_uri),
    );
    out
}

fn letter(i: usize) -> String {
    char::from(b'g' + (i as u8).min(19)).to_string()
}

/// A Get or Put response: the instance under prefix `g`, the common schema (if the class
/// uses it) under `h` (fixture cim/chassis/get.xml).
pub(crate) fn instance_response(head: &Head<'_>, inst: &Instance, common: bool) -> String {
    let mut ns = vec![("g".to_string(), inst.ns.clone())];
    if common {
        ns.push(("h".to_string(), COMMON.to_string()));
    }
    let mut body = String::new();
    inst.render(&mut body, "g", "h");
    envelope(head, &ns, &body)
}

/// An EnumerateResponse (fixture cim/physical/memory/enumerate.xml).
pub(crate) fn enumerate_response(head: &Head<'_>, context: &str) -> String {
    let ns = [("g".to_string(), crate::wsman::ENUMERATION.to_string())];
    let body = format!(
        "<g:EnumerateResponse><g:EnumerationContext>{}</g:EnumerationContext></g:EnumerateResponse>",
        escape(context)
    );
    envelope(head, &ns, &body)
}

/// A PullResponse: enumeration under `g`, each item namespace in order of first appearance
/// from `h` on, then the common schema. With more items to come the context precedes the
/// items (fixture cim/chip/pull.xml); on the last page `EndOfSequence` follows them
/// (fixture cim/physical/memory/pull.xml).
pub(crate) fn pull_response(
    head: &Head<'_>,
    items: &[Instance],
    more: Option<&str>,
    common: bool,
    mode: EnumerationMode,
) -> String {
    let mut ns = vec![("g".to_string(), crate::wsman::ENUMERATION.to_string())];
    let mut item_ns: Vec<&str> = Vec::new();
    for item in items {
        if !item_ns.contains(&item.ns.as_str()) {
            item_ns.push(&item.ns);
        }
    }
    for (i, uri) in item_ns.iter().enumerate() {
        ns.push((letter(i + 1), uri.to_string()));
    }
    let common_prefix = letter(item_ns.len() + 1);
    if common {
        ns.push((common_prefix.clone(), COMMON.to_string()));
    }
    let mut body = String::from("<g:PullResponse>");
    if let Some(ctx) = more {
        let _ = write!(
            body,
            "<g:EnumerationContext>{}</g:EnumerationContext>",
            escape(ctx)
        );
    }
    body.push_str("<g:Items>");
    for item in items {
        let idx = item_ns.iter().position(|u| *u == item.ns).unwrap_or(0);
        // DSP0226 §8.7: EnumerateEPR items are wsa:EndpointReference elements; with
        // EnumerateObjectAndEPR each item is a wsman:Item holding the object, then its EPR.
        match mode {
            EnumerationMode::Objects => item.render(&mut body, &letter(idx + 1), &common_prefix),
            EnumerationMode::Epr => item.render_reference(&mut body),
            EnumerationMode::ObjectAndEpr => {
                body.push_str("<c:Item>");
                item.render(&mut body, &letter(idx + 1), &common_prefix);
                item.render_reference(&mut body);
                body.push_str("</c:Item>");
            }
        }
    }
    body.push_str("</g:Items>");
    if more.is_none() {
        body.push_str("<g:EndOfSequence></g:EndOfSequence>");
    }
    body.push_str("</g:PullResponse>");
    envelope(head, &ns, &body)
}

/// A method's output (fixture cim/power/managementservice/requestpowerstatechange.xml).
pub(crate) fn invoke_response(head: &Head<'_>, method: &str, return_value: u32) -> String {
    let ns = [("g".to_string(), head.resource_uri.to_string())];
    let body = format!(
        "<g:{method}_OUTPUT><g:ReturnValue>{return_value}</g:ReturnValue></g:{method}_OUTPUT>"
    );
    envelope(head, &ns, &body)
}

/// An empty-bodied response (ReleaseResponse).
pub(crate) fn empty_response(head: &Head<'_>) -> String {
    envelope(head, &[], "")
}

/// A SOAP 1.2 fault (go-wsman-messages pkg/amterror, quoted in amt-protocol.md §2a).
/// `subcode` is a qualified name whose prefix is declared here: `b:` addressing, `c:` WS-Man
/// or `g:` enumeration.
pub(crate) fn fault(head: &Head<'_>, code: &str, subcode: &str, reason: &str) -> String {
    let ns = [("g".to_string(), crate::wsman::ENUMERATION.to_string())];
    let body = format!(
        "<a:Fault><a:Code><a:Value>{code}</a:Value><a:Subcode><a:Value>{subcode}</a:Value></a:Subcode></a:Code><a:Reason><a:Text xml:lang=\"en-US\">{}</a:Text></a:Reason><a:Detail></a:Detail></a:Fault>",
        escape(reason)
    );
    envelope(head, &ns, &body)
}

/// An IdentifyResponse (DSP0226 §11). No capture of AMT's exists (amt-protocol.md §2a);
/// the fields follow DSP0226 and the vendor/version form `Intel Corporation` / `AMT 12.0`.
pub(crate) fn identify_response(major_minor: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a:Envelope xmlns:a=\"{SOAP}\" xmlns:b=\"{IDENTITY}\"><a:Header></a:Header><a:Body><b:IdentifyResponse><b:ProtocolVersion>{WSMAN}</b:ProtocolVersion><b:ProductVendor>Intel Corporation</b:ProductVendor><b:ProductVersion>AMT {major_minor}</b:ProductVersion></b:IdentifyResponse></a:Body></a:Envelope>"
    )
}
