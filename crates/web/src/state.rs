//! What every handler shares.

use std::sync::Arc;

use metal_inventory::Store;
use metal_ops::Config;
use metal_ops::loads::LoadBook;

use crate::options::Options;
use crate::sessions::Sessions;

/// The view's shared state (cheap to clone).
#[derive(Clone)]
pub struct WebState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub config: Config,
    pub store: Store,
    pub loads: LoadBook,
    pub sessions: Sessions,
    pub options: Options,
}

impl WebState {
    pub fn new(config: Config, store: Store, loads: LoadBook, options: Options) -> WebState {
        WebState(Arc::new(Inner {
            config,
            store,
            loads,
            sessions: Sessions::default(),
            options,
        }))
    }

    /// The load book (tests fill it).
    pub fn loads(&self) -> &LoadBook {
        &self.0.loads
    }
}
