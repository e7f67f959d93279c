//! The sentences of refused bodies: each names the field at fault and says what it must
//! be ("timerDuration must be at least 1000").

use std::borrow::Cow;
use std::fmt::Display;

use garde::i18n::{
    DefaultI18n, I18n, InvalidCreditCard, InvalidEmail, InvalidPhoneNumber, InvalidUrl, IpKind,
};

/// The field name as the JSON body spells it (camelCase) for a Rust field name.
pub fn json_name(field: &str) -> String {
    let mut name = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.extend(c.to_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    name
}

/// A field of the wrong type (`timerDuration: invalid type: string "25m", expected a whole
/// number`), or a missing one (`missing field `navigator``): serde's words, which name the
/// field, with JSON's name for an integer.
pub fn type_fault(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let fault = e
        .inner()
        .to_string()
        .replace("expected i64", "expected a whole number");
    if e.path().iter().next().is_none() {
        fault
    } else {
        format!("{}: {fault}", e.path())
    }
}

/// The first fault of a report, as one sentence that names its field.
pub fn sentence(report: &garde::Report) -> String {
    match report.iter().next() {
        Some((path, error)) => format!("{} {}", json_name(&path.to_string()), error.message()),
        None => "the body is invalid".to_string(),
    }
}

/// The rules' messages, each the predicate of a sentence whose subject is the field.
pub struct Predicates;

impl I18n for Predicates {
    fn length_lower_than(&self, min: usize) -> Cow<'static, str> {
        format!("must be at least {min} characters long").into()
    }

    fn length_greater_than(&self, max: usize) -> Cow<'static, str> {
        format!("must be at most {max} characters long").into()
    }

    fn range_lower_than(&self, min: &dyn Display) -> Cow<'static, str> {
        format!("must be at least {min}").into()
    }

    fn range_greater_than(&self, max: &dyn Display) -> Cow<'static, str> {
        format!("must be at most {max}").into()
    }

    fn required_not_set(&self) -> Cow<'static, str> {
        "is required".into()
    }

    // The rules below are not used by any body; they keep garde's own words.

    fn credit_card_invalid(&self, reason: InvalidCreditCard) -> Cow<'static, str> {
        DefaultI18n.credit_card_invalid(reason)
    }

    fn pattern_no_match(&self, pattern: &dyn Display) -> Cow<'static, str> {
        DefaultI18n.pattern_no_match(pattern)
    }

    fn contains_missing(&self, pattern: &dyn Display) -> Cow<'static, str> {
        DefaultI18n.contains_missing(pattern)
    }

    fn url_invalid(&self, reason: InvalidUrl) -> Cow<'static, str> {
        DefaultI18n.url_invalid(reason)
    }

    fn prefix_missing(&self, pattern: &dyn Display) -> Cow<'static, str> {
        DefaultI18n.prefix_missing(pattern)
    }

    fn suffix_missing(&self, pattern: &dyn Display) -> Cow<'static, str> {
        DefaultI18n.suffix_missing(pattern)
    }

    fn phone_number_invalid(&self, reason: InvalidPhoneNumber) -> Cow<'static, str> {
        DefaultI18n.phone_number_invalid(reason)
    }

    fn ip_invalid(&self, kind: IpKind) -> Cow<'static, str> {
        DefaultI18n.ip_invalid(kind)
    }

    fn matches_field_mismatch(&self, field: &dyn Display) -> Cow<'static, str> {
        DefaultI18n.matches_field_mismatch(field)
    }

    fn email_invalid(&self, reason: InvalidEmail) -> Cow<'static, str> {
        DefaultI18n.email_invalid(reason)
    }

    fn ascii_invalid(&self) -> Cow<'static, str> {
        DefaultI18n.ascii_invalid()
    }

    fn alphanumeric_invalid(&self) -> Cow<'static, str> {
        DefaultI18n.alphanumeric_invalid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_type_names_the_field_and_what_json_value_it_must_be() {
        let fault = serde_path_to_error::deserialize::<_, std::collections::HashMap<String, i64>>(
            serde_json::json!({"timerDuration": "25m"}),
        )
        .expect_err("a string is no integer");
        assert_eq!(
            type_fault(&fault),
            "timerDuration: invalid type: string \"25m\", expected a whole number"
        );
    }

    #[test]
    fn rust_field_names_read_as_the_json_body_spells_them() {
        assert_eq!(json_name("timer_remaining_time"), "timerRemainingTime");
        assert_eq!(json_name("duration"), "duration");
    }
}
