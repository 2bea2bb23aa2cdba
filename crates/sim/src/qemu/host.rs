//! The host of a QEMU board, one task per board: it follows the board's power and boot
//! effects with a VM (module docs of `qemu`), carries keystrokes to the VM's serial port and
//! its output to the board's console, and turns what the VM does by itself (a reboot, a
//! power-off, a crash) back into the board's state.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use metal_types::BootDevice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::QemuBoards;
use super::qmp::Qmp;
use super::vm::{self, VmFiles};
use crate::board::Board;
use crate::events::SimEvent;
use crate::sol::host_input::HostInput;

/// How long QEMU may take to open its monitor after it starts.
const MONITOR_PATIENCE: Duration = Duration::from_secs(10);
/// How long a VM may take to exit after `quit` or `system_reset` before it is killed.
const EXIT_PATIENCE: Duration = Duration::from_secs(15);

/// How a running VM is stopped.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// `system_reset`: with `-no-reboot` QEMU exits, as after a reset button press.
    Reset,
    /// `quit`: power removed.
    Quit,
}

/// A running VM.
struct Vm {
    child: Child,
    stdin: Option<ChildStdin>,
    qmp: Option<Qmp>,
    /// Copies the serial output to the console until the VM exits.
    output: JoinHandle<()>,
}

impl Vm {
    async fn start(
        board: &Arc<Board>,
        boards: &QemuBoards,
        files: &VmFiles,
        tap: &str,
        device: BootDevice,
    ) -> Result<Vm, String> {
        let name = format!("metal-sim-{}", board.ip);
        let cmd = vm::command(boards, files, &name, tap, board.id.mac, device);
        let mut child = vm::spawn(cmd, files)?;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().ok_or("QEMU has no stdout")?;
        let console = Arc::clone(board);
        let output = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                console.console.write(&buf[..n]);
            }
        });
        let qmp = match Qmp::connect(&files.monitor, MONITOR_PATIENCE).await {
            Ok(q) => Some(q),
            Err(e) => {
                let _ = child.kill().await;
                output.abort();
                return Err(format!("{e} (QEMU's messages: {})", files.log.display()));
            }
        };
        Ok(Vm {
            child,
            stdin,
            qmp,
            output,
        })
    }

    /// Stops the VM the way `how` says, killing it if it does not exit in time.
    async fn stop(mut self, how: Stop) -> Option<String> {
        if let Some(qmp) = self.qmp.as_mut() {
            let command = match how {
                Stop::Reset => "system_reset",
                Stop::Quit => "quit",
            };
            // `quit` may close the monitor before its answer arrives.
            let _ = qmp.execute(command).await;
        }
        if tokio::time::timeout(EXIT_PATIENCE, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.finish().await
    }

    /// After the process has exited: waits for the last output and returns the reason of the
    /// VM's shutdown, if QEMU gave one.
    async fn finish(mut self) -> Option<String> {
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.output).await;
        self.output.abort();
        match self.qmp.take() {
            Some(qmp) => qmp.closed(Duration::from_secs(2)).await,
            None => None,
        }
    }

    async fn type_keys(&mut self, keys: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut()
            && stdin.write_all(keys).await.is_err()
        {
            self.stdin = None;
        }
    }
}

/// What woke the host task.
enum Happened {
    Input(HostInput),
    Exited(std::io::Result<ExitStatus>),
}

/// Waits for the running VM to exit; never returns while none runs.
async fn exited(vm: &mut Option<Vm>) -> std::io::Result<ExitStatus> {
    match vm {
        Some(vm) => vm.child.wait().await,
        None => std::future::pending().await,
    }
}

/// Starts the VM booting from `device`; a VM that cannot start leaves the board off, with
/// the cause in the events.
async fn boot(
    board: &Arc<Board>,
    boards: &QemuBoards,
    files: &VmFiles,
    tap: &str,
    device: BootDevice,
) -> Option<Vm> {
    let (vm, note) = match Vm::start(board, boards, files, tap, device).await {
        Ok(vm) => (Some(vm), format!("VM started, booting from {device}")),
        Err(e) => (None, format!("VM cannot start: {e}")),
    };
    let _ = board.events.send(SimEvent::Vm { ip: board.ip, note });
    if vm.is_none() {
        board.host_stopped();
    }
    vm
}

/// Runs the VM of `board` (on `tap`) until shutdown, then stops it.
pub(crate) async fn run(
    board: Arc<Board>,
    boards: Arc<QemuBoards>,
    tap: String,
    mut inputs: mpsc::UnboundedReceiver<HostInput>,
    mut shutdown: watch::Receiver<bool>,
) {
    let files = VmFiles::new(&boards, board.ip);
    let note = |note: String| {
        let _ = board.events.send(SimEvent::Vm { ip: board.ip, note });
    };
    let mut vm: Option<Vm> = None;
    loop {
        let happened = tokio::select! {
            input = inputs.recv() => match input {
                Some(input) => Happened::Input(input),
                None => break,
            },
            status = exited(&mut vm) => Happened::Exited(status),
            _ = shutdown.wait_for(|down| *down) => break,
        };
        match happened {
            Happened::Input(HostInput::Power(false)) => {
                if let Some(running) = vm.take() {
                    running.stop(Stop::Quit).await;
                    note("VM stopped (power off)".into());
                }
            }
            Happened::Input(HostInput::Power(true)) => {
                if vm.is_none() {
                    vm = boot(&board, &boards, &files, &tap, BootDevice::Disk).await;
                }
            }
            Happened::Input(HostInput::Boot { device, cold }) => {
                if let Some(running) = vm.take() {
                    running
                        .stop(if cold { Stop::Quit } else { Stop::Reset })
                        .await;
                }
                vm = boot(&board, &boards, &files, &tap, device).await;
            }
            Happened::Input(HostInput::Keys(keys)) => {
                if let Some(running) = vm.as_mut() {
                    running.type_keys(&keys).await;
                }
            }
            Happened::Exited(status) => {
                let Some(running) = vm.take() else { continue };
                let reason = running.finish().await;
                if reason.as_deref() == Some("guest-reset") {
                    // The VM's own OS rebooted: a boot like any other, with the override.
                    let device = board.host_rebooted();
                    vm = boot(&board, &boards, &files, &tap, device).await;
                } else {
                    let why = match (reason, status) {
                        (Some(reason), _) => reason,
                        (None, Ok(status)) => format!("QEMU exited ({status})"),
                        (None, Err(e)) => format!("QEMU lost: {e}"),
                    };
                    note(format!("VM stopped by itself: {why}"));
                    board.host_stopped();
                }
            }
        }
    }
    if let Some(running) = vm.take() {
        running.stop(Stop::Quit).await;
    }
}
