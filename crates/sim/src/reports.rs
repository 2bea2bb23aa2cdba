//! What a board reports instead of its identity's values ([`crate::Reports`]): tests of hostile
//! or broken boards (a model string that holds a Nagios `define` block, a BIOS version with
//! terminal escapes, a DIMM of 2^64-1 bytes, a hundred memory modules).

use crate::board::{Board, BoardState};
use crate::classes::ClassDef;
use crate::render::{Instance, Value};

/// The instances of `class` on `board`, with the board's replacements applied.
pub(crate) fn instances(board: &Board, st: &BoardState, class: &ClassDef) -> Vec<Instance> {
    let mut items = (class.instances)(board, st);
    let Some(reports) = board.cfg.reports.get(&board.ip) else {
        return items;
    };
    if let Some((_, n)) = reports.copies.iter().find(|(c, _)| c == class.name)
        && let Some(first) = items.first().cloned()
    {
        items = vec![first; *n];
    }
    for item in &mut items {
        for (c, property, value) in &reports.properties {
            if c != class.name && c != item.class {
                continue;
            }
            for (name, v) in &mut item.props {
                if *name == property.as_str() {
                    *v = Value::Text(value.clone());
                }
            }
        }
    }
    items
}
