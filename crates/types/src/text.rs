//! Text from outside (what a board reports about itself, what a client sends) on its way to a
//! terminal, a log line or a record.
//!
//! Such text may hold anything: a newline that forges a second log line, an ESC that retitles
//! the operator's terminal or recolours it (ECMA-48 §5.3: ESC, CSI, OSC and the other C0/C1
//! controls), or a bidirectional override that shows a name reversed (Unicode TR 9 §2.2: the
//! embedding, override and isolate controls). [`Escaped`] writes every such character as a
//! visible `\u{..}` escape (`\n`, `\r`, `\t` for the common ones), and nothing else changes.
//! [`board_text`] is the intake rule for a board's strings: trimmed, escaped, and capped.

use std::borrow::Cow;
use std::fmt;

/// Longest string kept from a board's report, in characters; real ones (maker, model,
/// serial, BIOS version, part numbers) are under 64.
pub const MAX_BOARD_TEXT: usize = 128;

/// Whether `c` must not reach a terminal or a line-oriented sink as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Shows text with its unsafe characters escaped: `format!("{}", Escaped(s))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if is_unsafe(c) {
                match c {
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\t' => f.write_str("\\t")?,
                    c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                }
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// `s` with its unsafe characters escaped; borrowed when there are none.
pub fn escaped(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_unsafe) {
        Cow::Owned(Escaped(s).to_string())
    } else {
        Cow::Borrowed(s)
    }
}

/// A board's string as it is kept: surrounding whitespace trimmed, unsafe characters escaped,
/// at most [`MAX_BOARD_TEXT`] characters (a longer one ends in `…`).
pub fn board_text(raw: &str) -> String {
    let safe = escaped(raw.trim());
    if safe.chars().count() <= MAX_BOARD_TEXT {
        return safe.into_owned();
    }
    let mut capped: String = safe.chars().take(MAX_BOARD_TEXT - 1).collect();
    capped.push('…');
    capped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(escaped("plain text ÄÖ"), "plain text ÄÖ");
        assert!(matches!(escaped("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escaped("a\nb\r\tc\u{1b}]0;pwned\u{7}"),
            "a\\nb\\r\\tc\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(escaped("\u{9b}31m"), "\\u{9b}31m", "C1 CSI");
        assert_eq!(escaped("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert!(!escaped("\u{7f}x").contains('\u{7f}'));
    }

    #[test]
    fn board_text_is_trimmed_escaped_and_capped() {
        assert_eq!(board_text("  Intel Corporation \n"), "Intel Corporation");
        assert_eq!(board_text("Q87\nM-ATX"), "Q87\\nM-ATX");
        let long = board_text(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_BOARD_TEXT);
        assert!(long.ends_with('…'));
        let escapes = board_text(&"\u{1b}".repeat(1000));
        assert_eq!(escapes.chars().count(), MAX_BOARD_TEXT);
        assert!(!escapes.contains('\u{1b}'));
    }
}
