//! The simulated host behind the serial port, one task per board. It follows the power
//! state machine: every boot prints the boot sequence (spread over
//! `SimConfig::boot_output_delay`), then a getty answers keystrokes typed over SOL;
//! powering off stops the output mid-line if need be, and a new boot starts over.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use metal_types::BootDevice;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::getty::Getty;
use super::host_input::HostInput;
use crate::board::Board;

enum State {
    /// No output; a resumed host (from sleep) keeps its login state.
    Off { resume: Option<Getty> },
    /// Printing the boot sequence: each line waits for its share of the delay.
    Booting {
        lines: VecDeque<(Duration, String)>,
        next: Instant,
        device: BootDevice,
    },
    /// Booted: the getty owns the console.
    Up(Getty),
}

/// Runs the host of `board` until shutdown or until the board is gone.
pub(crate) async fn run(
    board: Arc<Board>,
    mut inputs: mpsc::UnboundedReceiver<HostInput>,
    mut shutdown: watch::Receiver<bool>,
) {
    let info = board.host_info();
    let fresh = |device| Getty::new(&info.hostname, info.cmdline(device), SystemTime::now());
    // A board starts powered on, as if it had booted from disk long ago.
    let mut state = if board.lock().machine.power() == 2 {
        State::Up(fresh(BootDevice::Disk))
    } else {
        State::Off { resume: None }
    };
    loop {
        let deadline = match &state {
            State::Booting { next, .. } => Some(*next),
            _ => None,
        };
        tokio::select! {
            input = inputs.recv() => {
                let Some(input) = input else { return };
                state = match (input, state) {
                    (HostInput::Power(false), State::Up(g)) => State::Off { resume: Some(g) },
                    (HostInput::Power(false), State::Booting { .. }) => State::Off { resume: None },
                    (HostInput::Power(true), State::Off { resume }) => {
                        State::Up(resume.unwrap_or_else(|| fresh(BootDevice::Disk)))
                    }
                    (HostInput::Boot { device, .. }, _) => {
                        let script = info.script(device);
                        let total: u32 = script.iter().map(|(w, _)| *w).sum();
                        let delay = board.cfg.boot_output_delay;
                        let lines: VecDeque<_> = script
                            .into_iter()
                            .map(|(w, text)| (delay.mul_f64(f64::from(w) / f64::from(total.max(1))), text))
                            .collect();
                        let first = lines.front().map_or(Duration::ZERO, |(d, _)| *d);
                        State::Booting { lines, next: Instant::now() + first, device }
                    }
                    (HostInput::Keys(keys), State::Up(mut g)) => {
                        board.console.write(&g.feed(&keys, SystemTime::now()));
                        State::Up(g)
                    }
                    // Keys while off or booting are lost; repeated power news changes nothing.
                    (_, s) => s,
                };
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                state = match state {
                    State::Booting { mut lines, device, .. } => {
                        if let Some((_, text)) = lines.pop_front() {
                            board.console.write(text.as_bytes());
                        }
                        match lines.front() {
                            Some((d, _)) => State::Booting { next: Instant::now() + *d, lines, device },
                            None => State::Up(fresh(device)),
                        }
                    }
                    other => other,
                };
            }
            _ = shutdown.wait_for(|down| *down) => return,
        }
    }
}
