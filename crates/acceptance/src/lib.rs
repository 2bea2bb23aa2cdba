//! Factory acceptance reports for `metal verify`.
//!
//! For each unit: `<unit>.ocptv.jsonl`, its checks in the OCP Test & Validation output format
//! ([`ocptv_json`]), and `<unit>.html`, a printable page made by reading that JSON back
//! ([`read`], [`html`]). For the batch: `summary.json` and `index.html`. `<unit>` is the
//! serial number, else the AMT address.

mod batch;
mod error;
pub mod html;
pub mod model;
pub mod ocptv_json;
pub mod read;

pub use batch::{Finding, Summary, SummaryUnit, write_batch};
pub use error::Error;
pub use model::{Check, Limit, Measurement, Unit, Verdict};
