//! A small namespace-agnostic XML tree for WS-Man responses.
//!
//! AMT firmware chooses its own namespace prefixes (`a:`, `b:`, `g:`, `h:` ... and they differ
//! between classes and versions), so every element is kept by its *local* name only; callers
//! match on `PowerState`, never on `g:PowerState`. Parsing is bounded: nesting depth and the
//! number of elements are capped, so hostile input cannot exhaust the stack or memory (the
//! transport separately caps the byte size of a response).

use std::borrow::Cow;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Deepest nesting accepted. Real AMT responses nest fewer than 12 levels.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 200_000;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("XML nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("XML has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("XML document has no root element")]
    Empty,
}

/// One element: local name, attributes by local name, text content and children in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// Parses a whole document and returns its root element.
    pub fn parse(input: &str) -> Result<Element, XmlError> {
        let mut reader = Reader::from_str(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        let mut count = 0usize;
        let malformed = |reader: &Reader<&[u8]>, message: String| XmlError::Malformed {
            position: reader.buffer_position(),
            message,
        };
        loop {
            let event = reader
                .read_event()
                .map_err(|e| malformed(&reader, e.to_string()))?;
            match event {
                Event::Start(_) | Event::Empty(_) if root.is_some() => {
                    return Err(malformed(&reader, "content after the root element".into()));
                }
                Event::Start(start) => {
                    count += 1;
                    if count > MAX_ELEMENTS {
                        return Err(XmlError::TooManyElements);
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                    stack.push(element_from(&start).map_err(|m| malformed(&reader, m))?);
                }
                Event::Empty(start) => {
                    count += 1;
                    if count > MAX_ELEMENTS {
                        return Err(XmlError::TooManyElements);
                    }
                    let element = element_from(&start).map_err(|m| malformed(&reader, m))?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    let mut done = stack
                        .pop()
                        .ok_or_else(|| malformed(&reader, "unbalanced end tag".into()))?;
                    trim_in_place(&mut done.text);
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => root = Some(done),
                    }
                }
                Event::Text(text) => {
                    let content = text.xml10_content();
                    append_text(&mut stack, &content, &reader)?;
                }
                Event::CData(data) => {
                    let content = data.xml10_content();
                    append_text(&mut stack, &content, &reader)?;
                }
                Event::GeneralRef(reference) => {
                    let resolved =
                        resolve_reference(&reference).map_err(|m| malformed(&reader, m))?;
                    append_text(&mut stack, &resolved, &reader)?;
                }
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err(malformed(&reader, "document ends inside an element".into()));
        }
        root.ok_or(XmlError::Empty)
    }

    /// The first direct child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every direct child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first direct child with this local name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// The first element with this local name anywhere below (depth-first, self excluded).
    pub fn find(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// Follows a path of local names from this element (`["Body", "Fault", "Code"]`).
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, n| e.child(n))
    }

    /// An attribute by local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

fn element_from(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.as_ref().starts_with("xmlns") {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        attributes.push((local(attr.key.as_ref()).to_string(), value.into_owned()));
    }
    Ok(Element {
        name: local(start.name().as_ref()).to_string(),
        attributes,
        text: String::new(),
        children: Vec::new(),
    })
}

fn append_text(stack: &mut [Element], text: &str, reader: &Reader<&[u8]>) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(e) => {
            e.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed {
            position: reader.buffer_position(),
            message: "text outside the root element".into(),
        }),
    }
}

/// XML 1.0 §4.6 predefined entities and §4.1 character references; nothing else (no DTDs).
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, String> {
    if let Some(c) = reference.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(c.to_string());
    }
    let name = reference.xml10_content();
    let resolved = match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return Err(format!("unknown entity &{other};")),
    };
    Ok(resolved.to_string())
}

fn trim_in_place(s: &mut String) {
    let trimmed = s.trim();
    if trimmed.len() != s.len() {
        *s = trimmed.to_string();
    }
}

/// Escapes text for use inside an element or a double-quoted attribute.
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_and_entities() {
        let doc = r#"<?xml version="1.0"?><a:E xmlns:a="urn:x"><g:V a:k="1&amp;2">x &lt; y&#33;</g:V><g:Empty/></a:E>"#;
        let e = Element::parse(doc).unwrap();
        assert_eq!(e.name, "E");
        let v = e.child("V").unwrap();
        assert_eq!(v.text, "x < y!");
        assert_eq!(v.attribute("k"), Some("1&2"));
        assert!(e.child("Empty").is_some());
    }

    #[test]
    fn rejects_bad_documents() {
        for bad in ["", "<a>", "<a></b>", "<a/><b/>", "<a>&bogus;</a>", "text"] {
            assert!(Element::parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(Element::parse(&deep), Err(XmlError::TooDeep));
    }
}
