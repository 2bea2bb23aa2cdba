//! WS-Man operations on one endpoint: Identify, Get, Put, Enumerate+Pull, Invoke.

use std::sync::Arc;

use crate::budget::Held;
use crate::endpoint::{Credentials, Endpoint};
use crate::envelope::{Request, Selector};
use crate::error::{Error, ErrorKind};
use crate::response::{Response, ResponseError};
use crate::transport::{Session, Stats, TransportOptions};
use crate::xml::Element;

/// Most Pull round trips followed for one enumeration; a board that keeps returning contexts
/// beyond this is misbehaving (the largest real enumerations take a few pulls).
pub const MAX_PULLS: usize = 256;
/// Most bytes one enumeration (all its pulls) may bring; every recorded AMT enumeration is
/// under 16 KB.
pub const MAX_ENUMERATION_BYTES: usize = 1024 * 1024;

/// What an enumeration's items are (DSP0226 §8.7, `wsman:EnumerationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumerationMode {
    /// `EnumerateEPR`: an endpoint reference per instance.
    Epr,
    /// `EnumerateObjectAndEPR`: each instance followed by its endpoint reference.
    ObjectAndEpr,
}

impl EnumerationMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Epr => "EnumerateEPR",
            Self::ObjectAndEpr => "EnumerateObjectAndEPR",
        }
    }
}

/// An endpoint reference (WS-Addressing EPR with a WS-Man SelectorSet, DSP0226 §5.1): the
/// address of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub resource_uri: String,
    pub selectors: Vec<Selector>,
}

impl Reference {
    /// Reads `<a:EndpointReference>` (or any element holding ReferenceParameters).
    pub fn parse(epr: &Element) -> Option<Reference> {
        let params = epr.child("ReferenceParameters")?;
        let resource_uri = params.child_text("ResourceURI")?.trim().to_string();
        let selectors = params
            .child("SelectorSet")
            .map(|set| {
                set.children
                    .iter()
                    .filter(|c| c.name == "Selector")
                    .filter_map(|c| Some(Selector::new(c.attribute("Name")?, c.text.trim())))
                    .collect()
            })
            .unwrap_or_default();
        Some(Reference {
            resource_uri,
            selectors,
        })
    }
}

/// What Identify reports (DSP0226 §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub protocol_version: String,
    pub product_vendor: String,
    pub product_version: String,
}

/// A WS-Man client bound to one endpoint.
pub struct Client {
    session: Session,
    next_message_id: u64,
}

impl Client {
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        options: Arc<TransportOptions>,
    ) -> Self {
        Self {
            session: Session::new(endpoint, credentials, options),
            next_message_id: 0,
        }
    }

    /// `host:port`.
    pub fn host(&self) -> String {
        self.session.endpoint().key()
    }

    pub fn endpoint(&self) -> &Endpoint {
        self.session.endpoint()
    }

    pub fn stats(&self) -> Stats {
        self.session.stats()
    }

    /// The firmware's `Server:` header, once a response has been received.
    pub fn server_header(&self) -> Option<&str> {
        self.session.server_header()
    }

    fn error(&self, kind: impl Into<ErrorKind>) -> Error {
        Error::new(self.host(), kind)
    }

    /// Sends a request and parses its response envelope. A SOAP fault (usually HTTP 400 or
    /// 500) becomes [`ErrorKind::Fault`]; any other non-200 status [`ErrorKind::Http`].
    pub async fn call(&mut self, request: &Request) -> Result<Response, Error> {
        self.call_sized(request).await.map(|(response, _)| response)
    }

    /// [`Client::call`], and how many bytes the response had.
    async fn call_sized(&mut self, request: &Request) -> Result<(Response, usize), Error> {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let raw = self.session.post(&request.to_xml(id)).await?;
        let size = raw.body.len();
        let text = std::str::from_utf8(&raw.body).map_err(|_| {
            self.error(ErrorKind::Http {
                status: raw.status,
                detail: "response is not UTF-8".into(),
            })
        })?;
        match (raw.status, Response::parse(text)) {
            (200, Ok(response)) => Ok((response, size)),
            (_, Err(ResponseError::Fault(fault))) => Err(self.error(ErrorKind::Fault(fault))),
            (200, Err(e)) => Err(self.error(e)),
            (status, _) => Err(self.error(ErrorKind::Http {
                status,
                detail: excerpt(text),
            })),
        }
    }

    /// An unauthenticated Identify: tells whether a WS-Man service answers here and, through
    /// the `Server:` header, what it is, without spending an authentication attempt.
    /// Returns the HTTP status and the `Server:` header.
    pub async fn probe(&mut self) -> Result<(u16, Option<String>), Error> {
        let status = self.session.probe(&Request::identify().to_xml(0)).await?;
        Ok((status, self.server_header().map(str::to_string)))
    }

    /// Identify (DSP0226 §11).
    pub async fn identify(&mut self) -> Result<Identity, Error> {
        let response = self.call(&Request::identify()).await?;
        let id = response
            .body
            .child("IdentifyResponse")
            .ok_or_else(|| self.error(ResponseError::Missing("IdentifyResponse".into())))?;
        let text = |n: &str| id.child_text(n).unwrap_or_default().to_string();
        Ok(Identity {
            protocol_version: text("ProtocolVersion"),
            product_vendor: text("ProductVendor"),
            product_version: text("ProductVersion"),
        })
    }

    /// Get one instance; returns the instance element (`<g:CIM_Chassis>...`).
    pub async fn get(
        &mut self,
        resource_uri: &str,
        selectors: Vec<Selector>,
    ) -> Result<Element, Error> {
        let response = self.call(&Request::get(resource_uri, selectors)).await?;
        let payload = response.payload().map_err(|e| self.error(e))?;
        Ok(payload.clone())
    }

    /// Put a whole instance; returns the instance as the service stored it, when the service
    /// sends it back (DSP0226 §7.5 lets it answer with an empty body).
    pub async fn put(
        &mut self,
        resource_uri: &str,
        class: &str,
        selectors: Vec<Selector>,
        properties: &[(String, String)],
    ) -> Result<Option<Element>, Error> {
        let response = self
            .call(&Request::put(resource_uri, class, selectors, properties))
            .await?;
        Ok(response.body.children.into_iter().next())
    }

    /// Enumerate and Pull until EndOfSequence; returns every item.
    pub async fn enumerate(&mut self, resource_uri: &str) -> Result<Vec<Element>, Error> {
        self.enumerate_items(resource_uri, None).await
    }

    /// Enumerate endpoint references (`EnumerateEPR`).
    pub async fn enumerate_references(
        &mut self,
        resource_uri: &str,
    ) -> Result<Vec<Reference>, Error> {
        let items = self
            .enumerate_items(resource_uri, Some(EnumerationMode::Epr))
            .await?;
        items
            .iter()
            .map(|item| {
                Reference::parse(item).ok_or_else(|| {
                    self.error(ResponseError::Missing("an EndpointReference item".into()))
                })
            })
            .collect()
    }

    /// Enumerate instances each with its endpoint reference (`EnumerateObjectAndEPR`: each
    /// item is a `wsman:Item` holding the instance, then its EPR).
    pub async fn enumerate_with_references(
        &mut self,
        resource_uri: &str,
    ) -> Result<Vec<(Element, Reference)>, Error> {
        let items = self
            .enumerate_items(resource_uri, Some(EnumerationMode::ObjectAndEpr))
            .await?;
        items
            .into_iter()
            .map(|item| {
                let mut parts = item.children.into_iter();
                let object = parts.next();
                let reference = parts.next().as_ref().and_then(Reference::parse);
                object.zip(reference).ok_or_else(|| {
                    self.error(ResponseError::Missing(
                        "an Item of an object and its EndpointReference".into(),
                    ))
                })
            })
            .collect()
    }

    /// Enumerate, then Pull until EndOfSequence, within [`MAX_PULLS`], [`MAX_ENUMERATION_BYTES`]
    /// and the run's [`MemoryPool`](crate::MemoryPool): a board that sends without end is
    /// stopped, not followed.
    async fn enumerate_items(
        &mut self,
        resource_uri: &str,
        mode: Option<EnumerationMode>,
    ) -> Result<Vec<Element>, Error> {
        let request = Request::enumerate(resource_uri, mode.map(EnumerationMode::as_str));
        let response = self.call(&request).await?;
        let mut context = response.enumeration_context().map_err(|e| self.error(e))?;
        let mut items = Vec::new();
        let mut kept = Held::new(&self.session.options().memory);
        for _ in 0..MAX_PULLS {
            let (response, size) = self
                .call_sized(&Request::pull(resource_uri, &context))
                .await?;
            if kept.bytes() + size > MAX_ENUMERATION_BYTES {
                return Err(self.error(ErrorKind::Unbounded {
                    what: "one enumeration",
                    limit: format!("{MAX_ENUMERATION_BYTES} bytes"),
                }));
            }
            kept.grow(size)
                .map_err(|e| self.error(ErrorKind::OverBudget(e)))?;
            let (mut page, next) = response.pull_items().map_err(|e| self.error(e))?;
            items.append(&mut page);
            match next {
                None => return Ok(items),
                Some(next) => context = next,
            }
        }
        Err(self.error(ErrorKind::Unbounded {
            what: "one enumeration",
            limit: format!("{MAX_PULLS} pulls"),
        }))
    }

    /// Invoke a method; a non-zero ReturnValue is [`ErrorKind::MethodFailed`].
    pub async fn invoke(
        &mut self,
        resource_uri: &str,
        method: &str,
        selectors: Vec<Selector>,
        input: &str,
    ) -> Result<(), Error> {
        let response = self
            .call(&Request::invoke(resource_uri, method, selectors, input))
            .await?;
        match response.return_value().map_err(|e| self.error(e))? {
            0 => Ok(()),
            code => Err(self.error(ErrorKind::MethodFailed {
                method: method.to_string(),
                code,
            })),
        }
    }
}

fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}
