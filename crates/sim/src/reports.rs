//! What a board reports instead of its identity's values: tests of hostile or broken boards
//! (a model string that holds a Nagios `define` block, a BIOS version with terminal escapes,
//! a DIMM of 2^64-1 bytes, five thousand memory modules).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::board::{Board, BoardState};
use crate::classes::ClassDef;
use crate::render::{Instance, Value};

/// One board's replacements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reports {
    /// `(class, property, value)`: every instance of `class` (or of a subclass it enumerates)
    /// reports `value` for `property`, which it must already have.
    pub properties: Vec<(String, String, String)>,
    /// `(class, n)`: `class` has `n` instances, copies of its first.
    pub copies: Vec<(String, usize)>,
}

/// Replacements by board address.
pub type ReportsByBoard = HashMap<Ipv4Addr, Reports>;

impl Reports {
    /// Parses `CLASS.PROPERTY=VALUE` (the value may hold anything, `=` and newlines too).
    pub fn add_property(&mut self, spec: &str) -> Result<(), String> {
        let (target, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected CLASS.PROPERTY=VALUE"))?;
        let (class, property) = target
            .split_once('.')
            .ok_or_else(|| format!("{target:?}: expected CLASS.PROPERTY"))?;
        self.properties
            .push((class.to_string(), property.to_string(), value.to_string()));
        Ok(())
    }

    /// Parses `CLASS=N`.
    pub fn add_copies(&mut self, spec: &str) -> Result<(), String> {
        let (class, n) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected CLASS=N"))?;
        let n = n
            .parse()
            .map_err(|_| format!("{spec:?}: N must be a count"))?;
        self.copies.push((class.to_string(), n));
        Ok(())
    }
}

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
