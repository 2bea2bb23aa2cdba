//! How the view is served.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

/// How the view is served.
#[derive(Debug, Clone)]
pub struct Options {
    /// Networks whose clients may read (pages, API, `/metrics`) without logging in. Changes
    /// always need an operator.
    pub open: Vec<IpNet>,
    /// Mark the session cookie `Secure` (the view is reached over TLS, e.g. through a proxy).
    pub secure_cookies: bool,
    /// How often each Dom0's agent is asked for its load.
    pub load_interval: Duration,
    /// The folder `metal console --record` writes (`<AMT address>.log` per board): each board
    /// page shows the end of its console.
    pub consoles: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            open: Vec::new(),
            secure_cookies: false,
            load_interval: Duration::from_secs(15),
            consoles: None,
        }
    }
}
