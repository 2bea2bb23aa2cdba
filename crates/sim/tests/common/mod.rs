//! A deliberately independent raw client for the simulator tests: hand-written HTTP/1.1
//! over a tokio stream, its own chunked decoding and its own RFC 2617 digest computation.
//! Nothing here calls into metal-sim except to start it.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use md5::{Digest, Md5};
use metal_sim::{Sim, SimConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub mod sol;
pub mod tls;

pub const USER: &str = "admin";
pub const PASSWORD: &str = "Sim-P@ss1";
pub const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
pub const AMT: &str = "http://intel.com/wbem/wscim/1/amt-schema/1/";

/// A config for `boards` boards from `first_ip`, with a short transition.
pub fn config(first_ip: Ipv4Addr, boards: usize) -> SimConfig {
    SimConfig {
        boards,
        first_ip,
        user: USER.into(),
        password: PASSWORD.into(),
        transition: Duration::from_millis(300),
        ..SimConfig::default()
    }
}

pub async fn start(cfg: SimConfig) -> Sim {
    Sim::start(cfg).await.expect("simulator starts")
}

pub fn uri(class: &str) -> String {
    if class.starts_with("AMT_") {
        format!("{AMT}{class}")
    } else {
        format!("{CIM}{class}")
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 connection.
pub struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

pub async fn connect(ip: Ipv4Addr, port: u16) -> Conn<TcpStream> {
    let stream = TcpStream::connect(SocketAddr::from((ip, port)))
        .await
        .expect("connect");
    Conn::new(stream)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> std::io::Result<()> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: sim\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.stream.write_all(req.as_bytes()).await?;
        self.stream.write_all(body).await?;
        self.stream.flush().await
    }

    async fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    pub async fn read_response(&mut self) -> std::io::Result<Resp> {
        let status_line = self.line().await?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let mut headers = Vec::new();
        loop {
            let l = self.line().await?;
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
            chunked: false,
        };
        if resp
            .header("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            resp.chunked = true;
            loop {
                let size_line = self.line().await?;
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| std::io::ErrorKind::InvalidData)?;
                let data = self.exact(size).await?;
                self.line().await?;
                if size == 0 {
                    break;
                }
                resp.body.extend(data);
            }
        } else if let Some(len) = resp.header("Content-Length").and_then(|v| v.parse().ok()) {
            resp.body = self.exact(len).await?;
        }
        Ok(resp)
    }

    /// Waits for the server to close the connection (true) or 2 s to pass (false).
    pub async fn closed_by_server(&mut self) -> bool {
        let mut b = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(2), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    pub async fn post(&mut self, auth: Option<String>, body: &str) -> std::io::Result<Resp> {
        let headers: Vec<(&str, String)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        self.send("POST", "/wsman", &headers, body.as_bytes())
            .await?;
        self.read_response().await
    }
}

pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// (realm, nonce, stale) from a `WWW-Authenticate: Digest ...` value, parsed by hand.
pub fn challenge(www: &str) -> (String, String, bool) {
    let rest = www.strip_prefix("Digest ").expect("digest challenge");
    let mut realm = String::new();
    let mut nonce = String::new();
    let mut stale = false;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim_matches('"').to_string();
        match k {
            "realm" => realm = v,
            "nonce" => nonce = v,
            "stale" => stale = v == "true",
            _ => {}
        }
    }
    (realm, nonce, stale)
}

/// An RFC 2617 §3.2.2 Authorization value with qop=auth for POST /wsman.
pub fn authorization(user: &str, password: &str, realm: &str, nonce: &str, nc: u32) -> String {
    let nc = format!("{nc:08x}");
    let cnonce = "0a4f113b";
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex("POST:/wsman");
    let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"/wsman\", response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
    )
}

/// A WS-Man request envelope as MeshCommander/go-wsman build it (amt-protocol.md §2a).
pub fn envelope(action: &str, resource: &str, selectors: &[(&str, &str)], body: &str) -> String {
    let mut sel = String::new();
    if !selectors.is_empty() {
        sel.push_str("<w:SelectorSet>");
        for (k, v) in selectors {
            sel.push_str(&format!("<w:Selector Name=\"{k}\">{v}</w:Selector>"));
        }
        sel.push_str("</w:SelectorSet>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" xmlns=\"http://www.w3.org/2003/05/soap-envelope\"><Header><a:Action>{action}</a:Action><a:To>/wsman</a:To><w:ResourceURI>{resource}</w:ResourceURI><a:MessageID>42</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:OperationTimeout>PT60S</w:OperationTimeout>{sel}</Header><Body>{body}</Body></Envelope>"
    )
}

pub fn get(class: &str, selectors: &[(&str, &str)]) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
        &uri(class),
        selectors,
        "",
    )
}

pub fn enumerate(class: &str) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
        &uri(class),
        &[],
        "<Enumerate xmlns=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" />",
    )
}

pub fn pull(class: &str, context: &str, max: u32) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
        &uri(class),
        &[],
        &format!(
            "<Pull xmlns=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\"><EnumerationContext>{context}</EnumerationContext><MaxElements>{max}</MaxElements><MaxCharacters>99999</MaxCharacters></Pull>"
        ),
    )
}

pub fn invoke(class: &str, method: &str, inner: &str) -> String {
    let u = uri(class);
    envelope(
        &format!("{u}/{method}"),
        &u,
        &[],
        &format!("<h:{method}_INPUT xmlns:h=\"{u}\">{inner}</h:{method}_INPUT>"),
    )
}

/// An EPR argument to a CIM instance selected by InstanceID.
pub fn epr(class: &str, instance_id: &str) -> String {
    format!(
        "<Address xmlns=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\">http://schemas.xmlsoap.org/ws/2004/08/addressing</Address><ReferenceParameters xmlns=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"><ResourceURI xmlns=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\">{}</ResourceURI><SelectorSet xmlns=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><Selector Name=\"InstanceID\">{instance_id}</Selector></SelectorSet></ReferenceParameters>",
        uri(class)
    )
}

/// A client that authenticates like MeshCommander: one keep-alive connection, the challenge
/// cached, `nc` counting up, a single retry after a 401.
pub struct Client {
    ip: Ipv4Addr,
    port: u16,
    conn: Option<Conn<TcpStream>>,
    challenge: Option<(String, String)>,
    nc: u32,
}

impl Client {
    pub fn new(ip: Ipv4Addr) -> Self {
        Self {
            ip,
            port: 16992,
            conn: None,
            challenge: None,
            nc: 0,
        }
    }

    fn auth(&mut self) -> Option<String> {
        let (realm, nonce) = self.challenge.clone()?;
        self.nc += 1;
        Some(authorization(USER, PASSWORD, &realm, &nonce, self.nc))
    }

    pub async fn call(&mut self, body: &str) -> Resp {
        for _ in 0..2 {
            if self.conn.is_none() {
                self.conn = Some(connect(self.ip, self.port).await);
            }
            let auth = self.auth();
            let conn = self.conn.as_mut().expect("connected");
            let resp = conn.post(auth, body).await.expect("response");
            if resp.status != 401 {
                return resp;
            }
            self.conn = None;
            let (realm, nonce, _) = challenge(resp.header("WWW-Authenticate").expect("challenge"));
            self.challenge = Some((realm, nonce));
            self.nc = 0;
        }
        panic!("authentication failed twice");
    }
}

/// Texts of every element with this local name.
pub fn texts(xml: &str, local: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut inside = 0usize;
    let mut cur = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(s) if s.local_name().as_ref() == local => {
                inside += 1;
                cur.clear();
            }
            Event::Empty(s) if s.local_name().as_ref() == local => out.push(String::new()),
            Event::Text(t) if inside > 0 => cur.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if inside > 0 => {
                let name = r.xml10_content();
                cur.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or("?"));
            }
            Event::End(e) if e.local_name().as_ref() == local && inside > 0 => {
                inside -= 1;
                out.push(cur.clone());
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// The set of local element names in a document.
pub fn local_names(xml: &str) -> std::collections::BTreeSet<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = std::collections::BTreeSet::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(s) | Event::Empty(s) => {
                out.insert(s.local_name().as_ref().to_string());
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// The repository's fixture directory.
pub fn fixture(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/amt-wsman")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `RequestPowerStateChange` to `state` for the managed host.
pub fn power_change(state: u16) -> String {
    invoke(
        "CIM_PowerManagementService",
        "RequestPowerStateChange",
        &format!(
            "<h:PowerState>{state}</h:PowerState><h:ManagedElement>{}</h:ManagedElement>",
            epr("CIM_ComputerSystem", "ManagedSystem")
        ),
    )
}

/// Sends a method invocation and returns its `ReturnValue` (the answer must be 200).
pub async fn return_value(c: &mut Client, body: &str) -> u32 {
    let r = c.call(body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    texts(&r.text(), "ReturnValue")[0].parse().unwrap()
}
