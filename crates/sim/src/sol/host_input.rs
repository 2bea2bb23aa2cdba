//! What the simulated host is told: power changes and boots from the board, keystrokes from
//! a SOL session. The host task (`host::run`) receives them in order.

use metal_types::BootDevice;

/// What happens to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostInput {
    /// The power state became on (true) or off, asleep or hibernating (false).
    Power(bool),
    /// The firmware boots from `device`; `cold` after power was off (power on, power cycle),
    /// else a warm reset.
    Boot { device: BootDevice, cold: bool },
    /// Keystrokes from a SOL client.
    Keys(Vec<u8>),
}
