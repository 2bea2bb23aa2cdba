//! Progress of a long workflow, for front-ends that show it (the CLI's bars; the web view
//! later). Workflows call it; they never draw anything themselves.

/// Receives the progress of a workflow's phases.
pub trait Progress: Sync {
    /// A phase starts: `what` for `total` items.
    fn begin(&self, what: &str, total: usize) {
        let _ = (what, total);
    }
    /// One item of the current phase is done.
    fn advance(&self) {}
    /// The current phase is over.
    fn end(&self) {}
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {}
