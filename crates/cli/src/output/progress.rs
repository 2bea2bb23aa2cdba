//! Progress bars on stderr, when it is a terminal, there is more than one item and the output
//! is not JSON.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// The workflows' progress as indicatif bars, one per phase.
pub struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(json: bool) -> Self {
        Self {
            enabled: !json && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn with(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        f(&mut self.bar.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

impl metal_ops::Progress for Bars {
    fn begin(&self, what: &str, total: usize) {
        if !self.enabled || total < 2 {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        self.with(|b| *b = Some(bar));
    }

    fn advance(&self) {
        self.with(|b| {
            if let Some(bar) = b {
                bar.inc(1);
            }
        });
    }

    fn end(&self) {
        self.with(|b| {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        });
    }
}
