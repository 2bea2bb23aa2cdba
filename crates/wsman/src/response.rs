//! Reading WS-Man responses: the envelope, SOAP faults, enumeration contexts, Pull items and
//! method outputs. Everything matches on local names (see [`crate::xml`]).

use crate::xml::{Element, XmlError};

/// A SOAP 1.2 fault (SOAP 1.2 Part 1 §5.4; WS-Man fault subcodes in DSP0226 §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `Code/Value`, e.g. `a:Sender`.
    pub code: String,
    /// `Code/Subcode/Value`, e.g. `b:DestinationUnreachable` (prefix kept as sent).
    pub subcode: Option<String>,
    /// `Reason/Text`.
    pub reason: String,
    /// Text of `Detail`, if any.
    pub detail: Option<String>,
}

impl Fault {
    /// The subcode without its namespace prefix (`DestinationUnreachable`).
    pub fn subcode_name(&self) -> Option<&str> {
        self.subcode
            .as_deref()
            .map(|s| s.rsplit(':').next().unwrap_or(s))
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.subcode_name().unwrap_or(&self.code);
        write!(f, "{code}: {}", self.reason)?;
        if let Some(d) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// Why a response body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("not a SOAP envelope (root element is <{0}>)")]
    NotEnvelope(String),
    #[error("SOAP envelope has no Body")]
    NoBody,
    #[error("SOAP fault {0}")]
    Fault(Fault),
    #[error("response lacks <{0}>")]
    Missing(String),
    #[error("value {value:?} of <{name}> is not {expected}")]
    BadValue {
        name: String,
        value: String,
        expected: &'static str,
    },
}

/// A parsed response envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub header: Option<Element>,
    pub body: Element,
}

impl Response {
    /// Parses an envelope; a `Body/Fault` becomes [`ResponseError::Fault`].
    pub fn parse(xml: &str) -> Result<Self, ResponseError> {
        let mut root = Element::parse(xml)?;
        if root.name != "Envelope" {
            return Err(ResponseError::NotEnvelope(root.name));
        }
        let body_at = root
            .children
            .iter()
            .position(|c| c.name == "Body")
            .ok_or(ResponseError::NoBody)?;
        let body = root.children.swap_remove(body_at);
        let header = root.children.into_iter().find(|c| c.name == "Header");
        if let Some(fault) = body.child("Fault") {
            return Err(ResponseError::Fault(parse_fault(fault)));
        }
        Ok(Self { header, body })
    }

    /// The WS-Addressing Action of the response.
    pub fn action(&self) -> Option<&str> {
        self.header.as_ref().and_then(|h| h.child_text("Action"))
    }

    /// The first element of the body: the instance of a Get/Put, the `_OUTPUT` of a method.
    pub fn payload(&self) -> Result<&Element, ResponseError> {
        self.body
            .children
            .first()
            .ok_or(ResponseError::Missing("Body content".into()))
    }

    /// The context of an EnumerateResponse (DSP0226 §8.2).
    pub fn enumeration_context(&self) -> Result<String, ResponseError> {
        self.body
            .path(&["EnumerateResponse", "EnumerationContext"])
            .map(|e| e.text.clone())
            .ok_or(ResponseError::Missing(
                "EnumerateResponse/EnumerationContext".into(),
            ))
    }

    /// The items of a PullResponse, and the context to pull next unless `EndOfSequence` was
    /// given (DSP0226 §8.4).
    pub fn pull_items(self) -> Result<(Vec<Element>, Option<String>), ResponseError> {
        let mut body = self.body;
        let at = body
            .children
            .iter()
            .position(|c| c.name == "PullResponse")
            .ok_or(ResponseError::Missing("PullResponse".into()))?;
        let pull = body.children.swap_remove(at);
        let end = pull.child("EndOfSequence").is_some();
        let next = pull.child_text("EnumerationContext").map(str::to_string);
        let items = pull
            .children
            .into_iter()
            .find(|c| c.name == "Items")
            .map(|i| i.children)
            .unwrap_or_default();
        match (end, next) {
            (true, _) => Ok((items, None)),
            (false, Some(ctx)) if !ctx.is_empty() => Ok((items, Some(ctx))),
            (false, _) => Err(ResponseError::Missing(
                "EndOfSequence or EnumerationContext".into(),
            )),
        }
    }

    /// The `ReturnValue` of a method's `_OUTPUT` (DSP0226 §9; CIM method return codes).
    pub fn return_value(&self) -> Result<u32, ResponseError> {
        let output = self.payload()?;
        let text = output
            .child_text("ReturnValue")
            .ok_or(ResponseError::Missing("ReturnValue".into()))?;
        text.parse().map_err(|_| ResponseError::BadValue {
            name: "ReturnValue".into(),
            value: text.into(),
            expected: "an unsigned integer",
        })
    }
}

fn parse_fault(fault: &Element) -> Fault {
    let text = |path: &[&str]| fault.path(path).map(|e| e.text.clone());
    Fault {
        code: text(&["Code", "Value"]).unwrap_or_default(),
        subcode: text(&["Code", "Subcode", "Value"]),
        reason: text(&["Reason", "Text"]).unwrap_or_default(),
        detail: fault
            .child("Detail")
            .map(flatten_text)
            .filter(|d| !d.is_empty()),
    }
}

fn flatten_text(e: &Element) -> String {
    let mut parts = Vec::new();
    if !e.text.is_empty() {
        parts.push(e.text.clone());
    }
    parts.extend(
        e.children
            .iter()
            .map(flatten_text)
            .filter(|t| !t.is_empty()),
    );
    parts.join(" ")
}

/// Typed access to a CIM instance (the element of a Get response or a Pull item).
pub trait Instance {
    /// A scalar property's text.
    fn prop(&self, name: &str) -> Option<&str>;
    /// Every value of an array property (repeated elements).
    fn props<'a>(&'a self, name: &'a str) -> Vec<&'a str>;
    /// A property parsed as a number.
    fn prop_num<T: std::str::FromStr>(&self, name: &str) -> Result<T, ResponseError>;
}

impl Instance for Element {
    fn prop(&self, name: &str) -> Option<&str> {
        self.child_text(name)
    }

    fn props<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.children_named(name).map(|e| e.text.as_str()).collect()
    }

    fn prop_num<T: std::str::FromStr>(&self, name: &str) -> Result<T, ResponseError> {
        let text = self
            .prop(name)
            .ok_or_else(|| ResponseError::Missing(name.into()))?;
        text.trim().parse().map_err(|_| ResponseError::BadValue {
            name: name.into(),
            value: text.into(),
            expected: "a number",
        })
    }
}
