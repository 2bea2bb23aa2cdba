//! One console session.

use std::time::Duration;

use metal_amt::sol::{STATUS_POWERED_ON, SolEvent, SolOptions, SolSession};

use crate::targets::{self, Resolved};
use crate::{Config, Error, boards};

/// How a console session is kept.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
    /// Silence (no data, no heartbeat) after which the session counts as lost.
    pub heartbeat_timeout: Duration,
}

impl ConsoleOptions {
    /// Refuses a heartbeat timeout under a second.
    pub fn new(heartbeat_timeout_secs: f64) -> Result<Self, Error> {
        if !(heartbeat_timeout_secs.is_finite() && heartbeat_timeout_secs >= 1.0) {
            return Err(Error::Usage(
                "--heartbeat-timeout must be at least 1 second".into(),
            ));
        }
        Ok(Self {
            heartbeat_timeout: Duration::from_secs_f64(heartbeat_timeout_secs),
        })
    }

    fn sol(self) -> SolOptions {
        let secs = self.heartbeat_timeout.as_secs_f64();
        SolOptions {
            dead_after: self.heartbeat_timeout,
            heartbeat: Duration::from_secs_f64((secs / 4.0).clamp(0.5, 2.0)),
            ..SolOptions::default()
        }
    }
}

/// What a console delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleEvent {
    /// Bytes the board printed.
    Data(Vec<u8>),
    /// The board reports that its system powered on.
    PoweredOn,
    /// The board ended the session.
    Closed,
}

/// An open console.
pub struct Console {
    session: SolSession,
    /// The board's address.
    pub host: String,
    /// What had to be switched on first (SOL, the redirection listener), for the user.
    pub notes: Vec<String>,
}

impl Console {
    /// Opens the console of one resolved board: guarded session, SOL enabled if needed.
    pub async fn open_resolved(
        config: &Config,
        target: &Resolved,
        options: ConsoleOptions,
    ) -> Result<Console, Error> {
        let mut amt = boards::session(config, target).await?;
        let (session, readiness) = amt.open_sol(options.sol()).await?;
        let host = target.host.to_string();
        let mut notes = Vec::new();
        if readiness.enabled_sol {
            notes.push(format!(
                "{host}: SOL was disabled in AMT_RedirectionService; enabled it"
            ));
        }
        if readiness.enabled_listener {
            notes.push(format!(
                "{host}: the redirection listener was off; turned it on"
            ));
        }
        Ok(Console {
            session,
            host,
            notes,
        })
    }

    /// Opens the console of the one board `spec` names.
    pub async fn open(
        config: &Config,
        spec: &str,
        options: ConsoleOptions,
    ) -> Result<Console, Error> {
        let target = targets::resolve_one(config, spec, "console").await?;
        Console::open_resolved(config, &target, options).await
    }

    /// The board's firmware version (major, minor), from the session reply.
    pub fn firmware(&self) -> (u8, u8) {
        self.session.firmware
    }

    /// The next event; heartbeats are answered inside. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<ConsoleEvent, Error> {
        loop {
            let event = self
                .session
                .next_event()
                .await
                .map_err(|e| Error::from(metal_amt::Error::from(e)))?;
            match event {
                SolEvent::Data(data) => return Ok(ConsoleEvent::Data(data)),
                SolEvent::Controls { status, .. } if status & STATUS_POWERED_ON != 0 => {
                    return Ok(ConsoleEvent::PoweredOn);
                }
                SolEvent::Controls { .. } => {}
                SolEvent::Closed => return Ok(ConsoleEvent::Closed),
            }
        }
    }

    /// Sends keystrokes.
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        self.session
            .send(data)
            .await
            .map_err(|e| Error::from(metal_amt::Error::from(e)))
    }

    /// Ends the session politely.
    pub async fn close(self) {
        self.session.close().await;
    }
}
