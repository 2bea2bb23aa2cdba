//! Serial-over-LAN: the AMT redirection protocol on 16994/16995 ([`protocol`] bytes,
//! [`session`] state machine) and the WS-Man side that enables SOL first ([`service`]).

pub mod protocol;
pub mod service;
pub mod session;

pub use service::SolReadiness;
pub use session::{
    AuthMethod, STATUS_POWERED_ON, SolEndpoint, SolError, SolErrorKind, SolEvent, SolOptions,
    SolSession, SolTarget,
};
