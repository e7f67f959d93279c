//! Access codes, the unguessable, URL-safe names of rooms; and the random ids of what a
//! room holds (goals, links, categories), which paths carry without an access code.

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

/// Ids of goals and links lie below this (2^53: every one is exact as a JavaScript number).
pub const ID_LIMIT: i64 = 1 << 53;

/// A new random id in `1 .. 2^53`: 53 of a v4 UUID's random bits, so that one id tells
/// nothing of another.
pub fn random_id() -> i64 {
    let bits = uuid::Uuid::new_v4().as_u128();
    let id = i64::try_from(bits % (ID_LIMIT as u128)).unwrap_or(1);
    id.max(1)
}

/// `raw` as an id [`random_id`] could have made, if it is one.
pub fn parse_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| (1..ID_LIMIT).contains(id))
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

    #[test]
    fn random_ids_are_positive_below_two_to_the_53_and_differ() {
        let ids: std::collections::HashSet<i64> = (0..1000).map(|_| random_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| (1..ID_LIMIT).contains(id)));
        // Spread over the range: some in the upper half.
        assert!(ids.iter().any(|id| *id > ID_LIMIT / 2));
        let some = *ids.iter().next().expect("an id");
        assert_eq!(parse_id(&some.to_string()), Some(some));
        for bad in ["0", "-1", "9007199254740992", "1.5", "x", ""] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
