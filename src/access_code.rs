//! Access codes: the unguessable, URL-safe names of pair rooms.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The shortest access code the API accepts.
pub const MIN_LEN: usize = 8;
/// The longest access code the API accepts.
pub const MAX_LEN: usize = 32;

/// A new access code: the 122 random bits of a v4 UUID in URL-safe base64 (22 characters).
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// Whether `code` has the shape of an access code (`[A-Za-z0-9_-]{8,32}`). A code of
/// another shape names no room, so it can be answered without a database look-up.
pub fn is_well_formed(code: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How many characters of an access code the logs show.
const SHORT_CHARS: usize = 6;

/// An access code shortened for logs (its first six characters), so that logs do not
/// hand out rooms.
pub fn short(code: &str) -> &str {
    match code.char_indices().nth(SHORT_CHARS) {
        Some((end, _)) => &code[..end],
        None => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_well_formed(&a), "{a}");
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
    }

    #[test]
    fn codes_of_another_shape_are_refused() {
        for bad in [
            "short",
            "has space in it",
            "ünïcödé-ünïcödé",
            &"x".repeat(33),
            "a/b/c/d/e/f",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
        assert!(is_well_formed("Abc-_123"));
    }

    #[test]
    fn logs_show_only_the_first_six_characters() {
        assert_eq!(short("abcdefghijkl"), "abcdef");
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn a_code_with_characters_of_several_bytes_is_shortened_to_six_characters_too() {
        // Found by fuzzing: a code whose sixth byte fell inside a character was logged whole.
        assert_eq!(short("aaaaa\u{7ba2}bbbbbbb"), "aaaaa\u{7ba2}");
        assert_eq!(
            short("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"),
            "\u{e9}".repeat(6)
        );
    }
}
