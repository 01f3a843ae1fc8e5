//! Text that people type and quietlegs stores or prints back: bounded, free of control
//! characters, and escaped whenever it is shown.

/// The text with control characters written as escapes (`\u{1b}`), so nothing typed or imported
/// can drive a terminal. Newlines and tabs are kept only when `keep_layout` is true.
pub fn escape_controls_keeping(text: &str, keep_layout: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let layout = c == '\n' || c == '\t';
        if c.is_control() && !(keep_layout && layout) || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape_controls_keeping`] without keeping newlines or tabs: for one-line output.
pub fn escape_controls(text: &str) -> String {
    escape_controls_keeping(text, false)
}

/// Invisible format characters that can disguise text: the soft hyphen, bidirectional overrides
/// and isolates (which reorder what a terminal shows), zero-width spaces and joiners, and the
/// byte-order mark.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is {0} characters long: allowed at most {1}")]
    TooLong(usize, usize),
    #[error(
        "contains control characters ('{0}'): allowed letters, digits, spaces and punctuation"
    )]
    Control(String),
}

/// Checks a stored text field: at most `max_chars` characters and no control characters
/// (newlines and tabs allowed only when `multi_line`).
pub fn check_text(text: &str, max_chars: usize, multi_line: bool) -> Result<(), TextError> {
    let n = text.chars().count();
    if n > max_chars {
        return Err(TextError::TooLong(n, max_chars));
    }
    let bad = |c: char| {
        (c.is_control() && !(multi_line && (c == '\n' || c == '\t'))) || is_bidi_control(c)
    };
    if text.chars().any(bad) {
        let shown: String = text.chars().take(60).collect();
        return Err(TextError::Control(escape_controls(&shown)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_overrides() {
        assert_eq!(escape_controls("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape_controls("x\r\ny"), "x\\r\\ny");
        assert_eq!(escape_controls_keeping("x\ny\tz", true), "x\ny\tz");
        assert_eq!(escape_controls("\u{202E}evil"), "\\u{202e}evil");
        assert_eq!(escape_controls("a\u{200B}b"), "a\\u{200b}b");
        assert_eq!(escape_controls("doxy\u{AD}cycline"), "doxy\\u{ad}cycline");
        assert_eq!(escape_controls("café, 😀"), "café, 😀");
    }

    #[test]
    fn checks_length_and_controls() {
        assert_eq!(check_text("fine", 10, false), Ok(()));
        assert_eq!(check_text("two\nlines", 20, true), Ok(()));
        assert!(matches!(
            check_text("two\nlines", 20, false),
            Err(TextError::Control(_))
        ));
        assert_eq!(
            check_text("abcdef", 5, false),
            Err(TextError::TooLong(6, 5))
        );
        assert!(matches!(
            check_text("\0=1+1", 50, true),
            Err(TextError::Control(_))
        ));
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_control_characters(s in "\\PC*|[\\x00-\\x1f\\x7f]{0,20}") {
            let e = escape_controls(&s);
            prop_assert!(!e.chars().any(|c| c.is_control()));
        }
    }
}
