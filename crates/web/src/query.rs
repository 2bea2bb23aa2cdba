//! The query strings of the lists (pages and API alike).

use metal_inventory::MachineState;
use metal_ops::view::{self, Filter};
use serde::Deserialize;

/// The query of the machine list (and of `/api/machines`).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub state: Option<String>,
    pub rack: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl ListQuery {
    /// The filter, or why it cannot be one.
    pub fn filter(&self) -> Result<Filter, String> {
        let state = match self.state.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse::<MachineState>().map_err(|e| e.to_string())?),
            None => None,
        };
        let text = self
            .q
            .clone()
            .filter(|q| !q.trim().is_empty())
            .map(|q| q.trim().to_string());
        if let Some(t) = &text {
            view::check_query(t).map_err(|e| e.to_string())?;
        }
        Ok(Filter {
            text,
            state,
            rack: self.rack.clone().filter(|r| !r.is_empty()),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    pub before: Option<i64>,
    pub limit: Option<u32>,
}
