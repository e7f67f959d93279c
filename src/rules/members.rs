//! A room's members: an ordered list of 2 to 12 names. The first drives, the second
//! navigates, the rest wait in that order; at a time-up, a `next` and a swap the order
//! rotates by one (the driver goes to the end). A name is trimmed, 1 to 20 characters, none
//! of them a control character, and no two members share one.

use std::fmt;

/// The fewest members a room has: a driver and a navigator.
pub const MIN_MEMBERS: usize = 2;
/// The most members a room has.
pub const MAX_MEMBERS: usize = 12;
/// The longest name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 20;

/// Why a name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty once trimmed, or longer than [`MAX_NAME_CHARS`].
    #[error("must be 1 to 20 characters after trimming")]
    Length,
    /// A control character inside.
    #[error("must not contain control characters")]
    Control,
}

/// `raw` as a member's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, none of them a
/// control character.
pub fn name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(NameError::Length);
    }
    if trimmed.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(trimmed.to_string())
}

/// Why a list of members, or a change to it, is refused. Each message is the predicate of
/// a sentence whose subject is the field that carried the names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembersError {
    /// Fewer than [`MIN_MEMBERS`] would remain.
    #[error("must keep at least 2 members")]
    TooFew,
    /// More than [`MAX_MEMBERS`] would be in the room.
    #[error("must name at most 12 members")]
    TooMany,
    /// Two members would share a name.
    #[error("must not name {0:?} twice")]
    Duplicate(String),
    /// The name at this position (from 0) is refused.
    #[error("[{0}] {1}")]
    BadName(usize, NameError),
}

/// No member has this name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no member of this room is named {0:?}")]
pub struct NotAMember(pub String);

/// The members of a room, in turn order; always 2 to 12 distinct, valid names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members(Vec<String>);

impl Members {
    /// The members named by `names` (each trimmed), in that order.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Members, MembersError> {
        if names.len() < MIN_MEMBERS {
            return Err(MembersError::TooFew);
        }
        if names.len() > MAX_MEMBERS {
            return Err(MembersError::TooMany);
        }
        let mut kept: Vec<String> = Vec::with_capacity(names.len());
        for (i, raw) in names.iter().enumerate() {
            let name = name(raw.as_ref()).map_err(|e| MembersError::BadName(i, e))?;
            if kept.contains(&name) {
                return Err(MembersError::Duplicate(name));
            }
            kept.push(name);
        }
        Ok(Members(kept))
    }

    /// A pair: `driver` drives, `navigator` navigates.
    pub fn pair(driver: &str, navigator: &str) -> Result<Members, MembersError> {
        Members::new(&[driver, navigator])
    }

    /// Who types: the first member.
    pub fn driver(&self) -> &str {
        &self.0[0]
    }

    /// Who guides: the second member.
    pub fn navigator(&self) -> &str {
        &self.0[1]
    }

    /// Every name, in turn order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The driver goes to the end; everyone else moves up (`[A, B, C]` → `[B, C, A]`).
    pub fn rotate(&mut self) {
        self.0.rotate_left(1);
    }

    /// These members with `raw` joined at the end.
    pub fn joined(&self, raw: &str) -> Result<Members, MembersError> {
        let mut names = self.0.clone();
        names.push(raw.to_string());
        Members::new(&names)
    }

    /// These members without `name` (compared after trimming, exactly).
    pub fn without(&self, name: &str) -> Result<Result<Members, MembersError>, NotAMember> {
        let wanted = name.trim();
        let Some(at) = self.0.iter().position(|n| n == wanted) else {
            return Err(NotAMember(wanted.to_string()));
        };
        let mut names = self.0.clone();
        names.remove(at);
        Ok(Members::new(&names))
    }
}

impl fmt::Display for Members {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> Members {
        Members::new(names).expect("valid members")
    }

    #[test]
    fn a_name_is_trimmed_and_bounded_and_has_no_control_character() {
        assert_eq!(name("  Ada "), Ok("Ada".to_string()));
        assert_eq!(name(&"é".repeat(20)), Ok("é".repeat(20)));
        assert_eq!(name(&"x".repeat(21)), Err(NameError::Length));
        assert_eq!(name("   "), Err(NameError::Length));
        assert_eq!(name("a\u{7}b"), Err(NameError::Control));
    }

    #[test]
    fn two_to_twelve_distinct_names_make_members_in_their_order() {
        let m = members(&["Ann", " Bob ", "Cy"]);
        assert_eq!(m.names(), ["Ann", "Bob", "Cy"]);
        assert_eq!((m.driver(), m.navigator()), ("Ann", "Bob"));
        assert_eq!(Members::new(&["Ann"]), Err(MembersError::TooFew));
        let thirteen: Vec<String> = (0..13).map(|i| format!("m{i}")).collect();
        assert_eq!(Members::new(&thirteen), Err(MembersError::TooMany));
        assert!(Members::new(&thirteen[..12]).is_ok());
        assert_eq!(
            Members::new(&["Ann", "Bob", " Ann"]),
            Err(MembersError::Duplicate("Ann".into()))
        );
        assert_eq!(
            Members::new(&["Ann", ""]),
            Err(MembersError::BadName(1, NameError::Length))
        );
    }

    #[test]
    fn names_differing_only_in_case_are_different_members() {
        assert!(Members::new(&["ann", "Ann"]).is_ok());
    }

    #[test]
    fn rotation_sends_the_driver_to_the_end() {
        let mut m = members(&["A", "B", "C", "D"]);
        m.rotate();
        assert_eq!(m.names(), ["B", "C", "D", "A"]);
        let mut pair = members(&["A", "B"]);
        pair.rotate();
        assert_eq!(pair.names(), ["B", "A"]);
    }

    #[test]
    fn joining_and_leaving_keep_the_rules() {
        let m = members(&["A", "B"]);
        assert_eq!(m.joined(" C ").expect("joins").names(), ["A", "B", "C"]);
        assert_eq!(m.joined("A"), Err(MembersError::Duplicate("A".into())));
        let three = members(&["A", "B", "C"]);
        assert_eq!(
            three
                .without("B")
                .expect("a member")
                .expect("keeps two")
                .names(),
            ["A", "C"]
        );
        assert_eq!(m.without("B"), Ok(Err(MembersError::TooFew)));
        assert_eq!(m.without("Z"), Err(NotAMember("Z".into())));
        let twelve: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        assert_eq!(
            members(&twelve.iter().map(String::as_str).collect::<Vec<_>>()).joined("x"),
            Err(MembersError::TooMany)
        );
    }
}
