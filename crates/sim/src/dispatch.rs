//! Answers one authenticated WS-Man request against a board: Get, Put, Enumerate, Pull,
//! Release and the invoked methods (DSP0226 §7–§9), with SOAP faults for what fails.

use std::sync::Arc;

use crate::board::{Board, BoardState, ENABLED_SOL_BIT, Fault};
use crate::boot_settings::WRITABLE;
use crate::classes::{self, ClassDef};
use crate::machine::RV_INVALID_PARAMETER;
use crate::render::{self, EnumerationMode, Head, Instance, Value};
use crate::wsman::{ENUMERATION, Operation, TRANSFER, WsmanRequest};
use crate::xml::Element;

/// An HTTP status and a SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: u16,
    pub xml: String,
}

const ADDRESSING_FAULT: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
const WSMAN_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
const ENUMERATION_FAULT: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault";

/// The faults the simulator sends, all with HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Unknown resource, or no instance matches the selectors (amt-protocol.md §2a).
    DestinationUnreachable,
    /// The class does not support the action.
    ActionNotSupported,
    /// A Pull or Release names no open enumeration (WS-Enumeration §3.2).
    InvalidEnumerationContext,
    /// The body violates the schema (AMT 16.1 and an empty `<Source/>`, amt-protocol.md §6).
    SchemaValidationError,
    /// A Put body that is not a valid instance.
    InvalidRepresentation,
    /// Not a WS-Man envelope at all.
    InvalidMessageInformationHeader,
    /// An Enumerate asks for an `EnumerationMode` not supported (DSP0226 §8.7).
    UnsupportedFeature,
}

impl FaultKind {
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::DestinationUnreachable => (
                "a:Sender",
                "b:DestinationUnreachable",
                ADDRESSING_FAULT,
                "No route can be determined to reach the destination role defined by the WSAddressing To.",
            ),
            Self::ActionNotSupported => (
                "a:Sender",
                "b:ActionNotSupported",
                ADDRESSING_FAULT,
                "The action is not supported by the service.",
            ),
            Self::InvalidEnumerationContext => (
                "a:Receiver",
                "g:InvalidEnumerationContext",
                ENUMERATION_FAULT,
                "The supplied enumeration context is invalid.",
            ),
            Self::SchemaValidationError => (
                "a:Sender",
                "c:SchemaValidationError",
                WSMAN_FAULT,
                "The supplied SOAP violates the corresponding XML schema definition.",
            ),
            Self::InvalidRepresentation => (
                "a:Sender",
                "c:InvalidRepresentation",
                WSMAN_FAULT,
                "The XML content is invalid.",
            ),
            Self::InvalidMessageInformationHeader => (
                "a:Sender",
                "b:InvalidMessageInformationHeader",
                ADDRESSING_FAULT,
                "A message information header is not valid and the message cannot be processed.",
            ),
            Self::UnsupportedFeature => (
                "a:Sender",
                "c:UnsupportedFeature",
                WSMAN_FAULT,
                "The specified feature is not supported.",
            ),
        }
    }
}

fn fault(st: &mut BoardState, req: Option<&WsmanRequest>, kind: FaultKind) -> Reply {
    let (code, subcode, action, reason) = kind.parts();
    let head = Head {
        relates_to: req.and_then(|r| r.message_id.as_deref()).unwrap_or("0"),
        action,
        message_id: st.next_message_id(),
        resource_uri: req.and_then(|r| r.resource_uri.as_deref()).unwrap_or(""),
    };
    Reply {
        status: 400,
        xml: render::fault(&head, code, subcode, reason),
    }
}

/// The fault for a body that did not parse as a WS-Man request.
pub(crate) fn malformed(board: &Board) -> Reply {
    fault(
        &mut board.lock(),
        None,
        FaultKind::InvalidMessageInformationHeader,
    )
}

/// The IdentifyResponse (DSP0226 §11).
pub(crate) fn identify(board: &Board) -> Reply {
    Reply {
        status: 200,
        xml: render::identify_response(board.cfg.profile.major_minor()),
    }
}

/// Answers a parsed request.
pub(crate) fn dispatch(board: &Arc<Board>, req: &WsmanRequest) -> Reply {
    if req.operation == Operation::Identify {
        return identify(board);
    }
    let mut st = board.lock();
    let Some(class) = req.resource_uri.as_deref().and_then(classes::lookup) else {
        return fault(&mut st, Some(req), FaultKind::DestinationUnreachable);
    };
    let result = match &req.operation {
        Operation::Get => get(board, &mut st, req, class),
        Operation::Put => put(board, &mut st, req, class),
        Operation::Enumerate => enumerate(board, &mut st, req, class),
        Operation::Pull => pull(board, &mut st, req),
        Operation::Release => release(&mut st, req),
        Operation::Invoke(method) => invoke(board, &mut st, req, class, method),
        Operation::Identify | Operation::Unknown(_) => Err(FaultKind::ActionNotSupported),
    };
    result.unwrap_or_else(|kind| fault(&mut st, Some(req), kind))
}

fn head<'a>(st: &mut BoardState, req: &'a WsmanRequest, action: &'a str) -> Head<'a> {
    Head {
        relates_to: req.message_id.as_deref().unwrap_or("0"),
        action,
        message_id: st.next_message_id(),
        resource_uri: req.resource_uri.as_deref().unwrap_or(""),
    }
}

fn ok(xml: String) -> Result<Reply, FaultKind> {
    Ok(Reply { status: 200, xml })
}

fn selected(
    board: &Board,
    st: &BoardState,
    req: &WsmanRequest,
    class: &ClassDef,
) -> Result<Instance, FaultKind> {
    crate::reports::instances(board, st, class)
        .into_iter()
        .find(|i| classes::matches(i, &req.selectors))
        .ok_or(FaultKind::DestinationUnreachable)
}

fn get(
    board: &Board,
    st: &mut BoardState,
    req: &WsmanRequest,
    class: &ClassDef,
) -> Result<Reply, FaultKind> {
    let inst = selected(board, st, req, class)?;
    let action = format!("{TRANSFER}/GetResponse");
    let head = head(st, req, &action);
    ok(render::instance_response(&head, &inst, class.common))
}

fn put(
    board: &Board,
    st: &mut BoardState,
    req: &WsmanRequest,
    class: &ClassDef,
) -> Result<Reply, FaultKind> {
    selected(board, st, req, class)?;
    let body = req
        .body
        .as_ref()
        .filter(|b| b.name == class.name)
        .ok_or(FaultKind::InvalidRepresentation)?;
    match class.name {
        "AMT_BootSettingData" => put_boot_settings(st, body)?,
        "AMT_RedirectionService" => {
            put_redirection(st, body)?;
            board.redirection_changed(st);
        }
        _ => return Err(FaultKind::ActionNotSupported),
    }
    let inst = selected(board, st, req, class)?;
    let action = format!("{TRANSFER}/PutResponse");
    let head = head(st, req, &action);
    ok(render::instance_response(&head, &inst, class.common))
}

fn is_bool(v: &str) -> bool {
    v == "true" || v == "false"
}

fn put_boot_settings(st: &mut BoardState, body: &Element) -> Result<(), FaultKind> {
    let mut next = st.boot_settings.clone();
    for field in body
        .children
        .iter()
        .filter(|c| WRITABLE.contains(&c.name.as_str()))
    {
        let value = field.value();
        if let Some((_, slot)) = next.iter_mut().find(|(k, _)| *k == field.name) {
            let ok = if is_bool(slot) {
                is_bool(value)
            } else {
                value.parse::<u32>().is_ok()
            };
            if !ok {
                return Err(FaultKind::InvalidRepresentation);
            }
            *slot = value.to_string();
        }
    }
    if let Some((_, cleared)) = next.iter_mut().find(|(k, _)| *k == "OptionsCleared") {
        *cleared = "false".to_string();
    }
    st.boot_settings = next;
    Ok(())
}

fn put_redirection(st: &mut BoardState, body: &Element) -> Result<(), FaultKind> {
    let (mut state, mut listener) = st.redirection;
    if let Some(e) = body.child("EnabledState") {
        state = e
            .value()
            .parse()
            .ok()
            .filter(|s| (32768..=32771).contains(s))
            .ok_or(FaultKind::InvalidRepresentation)?;
    }
    if let Some(e) = body.child("ListenerEnabled") {
        listener = match e.value() {
            "true" => true,
            "false" => false,
            _ => return Err(FaultKind::InvalidRepresentation),
        };
    }
    st.redirection = (state, listener);
    Ok(())
}

fn enumerate(
    board: &Board,
    st: &mut BoardState,
    req: &WsmanRequest,
    class: &ClassDef,
) -> Result<Reply, FaultKind> {
    let mode = enumeration_mode(req)?;
    let items = crate::reports::instances(board, st, class);
    let id = st.open_enumeration(class.name, class.common, mode, items);
    let action = format!("{ENUMERATION}/EnumerateResponse");
    let head = head(st, req, &action);
    ok(render::enumerate_response(&head, &id))
}

/// DSP0226 §8.7: `wsman:EnumerationMode` in the Enumerate body asks for endpoint references
/// (`EnumerateEPR`) or objects each followed by its reference (`EnumerateObjectAndEPR`); a
/// service that does not support a mode answers `wsman:UnsupportedFeature`, as AMT does.
fn enumeration_mode(req: &WsmanRequest) -> Result<EnumerationMode, FaultKind> {
    let mode = req
        .body
        .as_ref()
        .and_then(|b| b.child("EnumerationMode"))
        .map(Element::value);
    match mode.map(str::trim) {
        None => Ok(EnumerationMode::Objects),
        Some("EnumerateEPR") => Ok(EnumerationMode::Epr),
        Some("EnumerateObjectAndEPR") => Ok(EnumerationMode::ObjectAndEpr),
        Some(_) => Err(FaultKind::UnsupportedFeature),
    }
}

fn context_of(req: &WsmanRequest) -> Option<&str> {
    req.body
        .as_ref()
        .and_then(|b| b.child("EnumerationContext"))
        .map(Element::value)
}

fn pull(board: &Board, st: &mut BoardState, req: &WsmanRequest) -> Result<Reply, FaultKind> {
    let ctx = context_of(req).ok_or(FaultKind::InvalidEnumerationContext)?;
    // WS-Enumeration §3.2: MaxElements defaults to 1.
    let max = req
        .body
        .as_ref()
        .and_then(|b| b.child("MaxElements"))
        .and_then(|m| m.value().parse::<usize>().ok())
        .unwrap_or(1);
    let take = max.min(board.cfg.page_size).max(1);
    if let Fault::EndlessPull(bytes) = *board.fault.borrow() {
        return endless_pull(board, st, req, bytes);
    }
    let pos = st
        .enumerations
        .iter()
        .position(|e| e.id == ctx && req.class_name() == e.class)
        .ok_or(FaultKind::InvalidEnumerationContext)?;
    let e = &mut st.enumerations[pos];
    let n = take.min(e.items.len());
    let items: Vec<Instance> = e.items.drain(..n).collect();
    let common = e.common;
    let mode = e.mode;
    let more = (!e.items.is_empty()).then(|| e.id.clone());
    if more.is_none() {
        st.enumerations.remove(pos);
    }
    let action = format!("{ENUMERATION}/PullResponse");
    let head = head(st, req, &action);
    ok(render::pull_response(
        &head,
        &items,
        more.as_deref(),
        common,
        mode,
    ))
}

/// [`Fault::EndlessPull`]: one padded item and a fresh context, whatever was asked.
fn endless_pull(
    board: &Board,
    st: &mut BoardState,
    req: &WsmanRequest,
    bytes: usize,
) -> Result<Reply, FaultKind> {
    let class = classes::lookup(req.resource_uri.as_deref().unwrap_or_default())
        .ok_or(FaultKind::DestinationUnreachable)?;
    let mut items = crate::reports::instances(board, st, class);
    items.truncate(1);
    for item in &mut items {
        if let Some((_, v)) = item.props.first_mut() {
            *v = Value::Text("x".repeat(bytes));
        }
    }
    let id = st.open_enumeration(
        class.name,
        class.common,
        EnumerationMode::Objects,
        Vec::new(),
    );
    let action = format!("{ENUMERATION}/PullResponse");
    let head = head(st, req, &action);
    ok(render::pull_response(
        &head,
        &items,
        Some(&id),
        class.common,
        EnumerationMode::Objects,
    ))
}

fn release(st: &mut BoardState, req: &WsmanRequest) -> Result<Reply, FaultKind> {
    let ctx = context_of(req).ok_or(FaultKind::InvalidEnumerationContext)?;
    let pos = st
        .enumerations
        .iter()
        .position(|e| e.id == ctx)
        .ok_or(FaultKind::InvalidEnumerationContext)?;
    st.enumerations.remove(pos);
    let action = format!("{ENUMERATION}/ReleaseResponse");
    let head = head(st, req, &action);
    ok(render::empty_response(&head))
}

/// The InstanceID selector inside an EPR argument.
fn epr_instance_id(arg: &Element) -> Option<&str> {
    arg.descendants("Selector")
        .find(|s| s.attr("Name") == Some("InstanceID"))
        .map(Element::value)
}

fn invoke(
    board: &Arc<Board>,
    st: &mut BoardState,
    req: &WsmanRequest,
    class: &ClassDef,
    method: &str,
) -> Result<Reply, FaultKind> {
    let input_name = format!("{method}_INPUT");
    let empty = Element::default();
    let input = match req.body.as_ref() {
        Some(b) if b.name == input_name => b,
        Some(_) => return Err(FaultKind::SchemaValidationError),
        None => &empty,
    };
    let rv = match (class.name, method) {
        ("CIM_PowerManagementService", "RequestPowerStateChange") => {
            match input
                .child("PowerState")
                .and_then(|p| p.value().parse().ok())
            {
                Some(v) => board.request_power(st, v),
                None => RV_INVALID_PARAMETER,
            }
        }
        // Without the user's consent code AMT answers success and ignores the source
        // (bringup.md "Factory acceptance and AMT control modes").
        ("CIM_BootConfigSetting", "ChangeBootOrder") if board.control().blocks_redirection() => 0,
        ("CIM_BootConfigSetting", "ChangeBootOrder") => match input.child("Source") {
            None => st.machine.change_boot_order(None),
            Some(src) if src.children.is_empty() && src.value().is_empty() => {
                if board.cfg.profile.rejects_empty_boot_source() {
                    return Err(FaultKind::SchemaValidationError);
                }
                st.machine.change_boot_order(None)
            }
            Some(src) => match epr_instance_id(src) {
                Some(id) => st.machine.change_boot_order(Some(id)),
                None => RV_INVALID_PARAMETER,
            },
        },
        ("CIM_BootService", "SetBootConfigRole") => {
            let config = input.child("BootConfigSetting").map(epr_instance_id);
            let role = input.child("Role").map_or("", Element::value);
            match config {
                Some(None) => RV_INVALID_PARAMETER,
                Some(Some(id)) => st.machine.set_boot_config_role(Some(id), role),
                None => st.machine.set_boot_config_role(None, role),
            }
        }
        ("AMT_RedirectionService", "RequestStateChange") => {
            match input
                .child("RequestedState")
                .and_then(|s| s.value().parse::<u16>().ok())
                .filter(|s| (32768..=32771).contains(s))
            {
                // CIM_EnabledLogicalElement.RequestStateChange ReturnValue 2: "Unknown or
                // Unspecified Error"; the board cannot do SOL while MEBx has it off.
                Some(state)
                    if state & ENABLED_SOL_BIT != 0
                        && board.current_fault() == Fault::SolLocked =>
                {
                    2
                }
                Some(state) => {
                    st.redirection.0 = state;
                    board.redirection_changed(st);
                    0
                }
                None => RV_INVALID_PARAMETER,
            }
        }
        _ => return Err(FaultKind::ActionNotSupported),
    };
    let action = format!("{}/{method}Response", classes::uri(class.name));
    let head = head(st, req, &action);
    ok(render::invoke_response(&head, method, rv))
}
