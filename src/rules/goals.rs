//! A room's goals: up to 100 short texts in an order every page shares, each checked or
//! not. Orders are always `0 … n−1`: a goal moved to position `p` is taken out and put back
//! at `p` (past the end: last), and the others shift. Ids are chosen by the caller (random,
//! so that a goal's path, which carries no access code, cannot be guessed from another).

use serde::Serialize;
use utoipa::ToSchema;

/// The most goals a room holds.
pub const MAX_GOALS: usize = 100;
/// The longest goal, in characters (after trimming).
pub const MAX_GOAL_CHARS: usize = 500;

/// One goal, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Goal {
    /// A positive integer below 2^53, unique, random.
    pub id: i64,
    /// What the goal says: 1 to 500 characters, trimmed.
    pub content: String,
    /// Whether it is done.
    pub is_checked: bool,
    /// Its position: `0 … n−1` over the room's goals.
    pub order: i64,
}

/// Why a goal's text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 500 characters after trimming")]
pub struct ContentError;

/// `raw` as a goal's text: trimmed, 1 to [`MAX_GOAL_CHARS`] characters.
pub fn content(raw: &str) -> Result<String, ContentError> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_GOAL_CHARS {
        return Err(ContentError);
    }
    Ok(trimmed.to_string())
}

/// Why a change to the goals is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoalError {
    /// A 101st goal.
    #[error("a room holds at most 100 goals")]
    TooMany,
    /// No goal of the room has this id.
    #[error("no goal has the id {0}")]
    NotFound(i64),
    /// The id is taken (a new goal's random id met an old one).
    #[error("the goal id {0} is taken")]
    IdTaken(i64),
}

/// A room's goals, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Goals(Vec<Goal>);

impl Goals {
    /// The goals `list` holds, put in order of their `order` and numbered `0 … n−1`.
    pub fn from_stored(mut list: Vec<Goal>) -> Goals {
        list.sort_by_key(|g| (g.order, g.id));
        let mut goals = Goals(list);
        goals.renumber();
        goals
    }

    fn renumber(&mut self) {
        for (i, goal) in self.0.iter_mut().enumerate() {
            goal.order = i64::try_from(i).unwrap_or(i64::MAX);
        }
    }

    /// Every goal, in order.
    pub fn list(&self) -> &[Goal] {
        &self.0
    }

    /// The goal `id`, if the room has it.
    pub fn get(&self, id: i64) -> Option<&Goal> {
        self.0.iter().find(|g| g.id == id)
    }

    fn index(&self, id: i64) -> Result<usize, GoalError> {
        self.0
            .iter()
            .position(|g| g.id == id)
            .ok_or(GoalError::NotFound(id))
    }

    /// Adds a goal with this id and (checked) text at the end; answers it.
    pub fn add(&mut self, id: i64, content: String) -> Result<Goal, GoalError> {
        if self.0.len() >= MAX_GOALS {
            return Err(GoalError::TooMany);
        }
        if self.get(id).is_some() {
            return Err(GoalError::IdTaken(id));
        }
        let goal = Goal {
            id,
            content,
            is_checked: false,
            order: i64::try_from(self.0.len()).unwrap_or(i64::MAX),
        };
        self.0.push(goal.clone());
        Ok(goal)
    }

    /// Replaces the text of goal `id`.
    pub fn edit(&mut self, id: i64, content: String) -> Result<(), GoalError> {
        let i = self.index(id)?;
        self.0[i].content = content;
        Ok(())
    }

    /// Flips goal `id` between done and not.
    pub fn toggle(&mut self, id: i64) -> Result<(), GoalError> {
        let i = self.index(id)?;
        self.0[i].is_checked = !self.0[i].is_checked;
        Ok(())
    }

    /// Moves goal `id` to position `to` (`0 …`; past the end: last); the others shift.
    pub fn move_to(&mut self, id: i64, to: u64) -> Result<(), GoalError> {
        let from = self.index(id)?;
        let goal = self.0.remove(from);
        let to = usize::try_from(to).unwrap_or(usize::MAX).min(self.0.len());
        self.0.insert(to, goal);
        self.renumber();
        Ok(())
    }

    /// Removes goal `id`; the ones after it move up.
    pub fn remove(&mut self, id: i64) -> Result<(), GoalError> {
        let i = self.index(id)?;
        self.0.remove(i);
        self.renumber();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goals(n: i64) -> Goals {
        let mut g = Goals::default();
        for id in 1..=n {
            g.add(id * 10, format!("goal {id}")).expect("room for it");
        }
        g
    }

    fn ids(g: &Goals) -> Vec<i64> {
        g.list().iter().map(|g| g.id).collect()
    }

    fn orders_are_positions(g: &Goals) -> bool {
        g.list()
            .iter()
            .enumerate()
            .all(|(i, goal)| goal.order == i as i64)
    }

    #[test]
    fn a_text_is_trimmed_and_bounded() {
        assert_eq!(content("  ship it "), Ok("ship it".to_string()));
        assert_eq!(content(&"é".repeat(500)), Ok("é".repeat(500)));
        assert_eq!(content(&"é".repeat(501)), Err(ContentError));
        assert_eq!(content(" \n "), Err(ContentError));
    }

    #[test]
    fn goals_are_added_last_up_to_a_hundred() {
        let mut g = goals(99);
        assert_eq!(g.add(5, "last".into()).expect("the 100th").order, 99);
        assert_eq!(g.add(6, "one more".into()), Err(GoalError::TooMany));
        assert_eq!(g.add(10, "taken".into()), Err(GoalError::TooMany));
        assert!(orders_are_positions(&g));
        let mut few = goals(2);
        assert_eq!(few.add(10, "x".into()), Err(GoalError::IdTaken(10)));
    }

    #[test]
    fn a_move_takes_the_goal_out_and_puts_it_back_at_its_new_position() {
        let mut g = goals(5); // 10 20 30 40 50
        g.move_to(20, 3).expect("moves down");
        assert_eq!(ids(&g), [10, 30, 40, 20, 50]);
        g.move_to(50, 0).expect("moves up");
        assert_eq!(ids(&g), [50, 10, 30, 40, 20]);
        g.move_to(10, 99).expect("past the end");
        assert_eq!(ids(&g), [50, 30, 40, 20, 10]);
        g.move_to(40, 2).expect("where it is");
        assert_eq!(ids(&g), [50, 30, 40, 20, 10]);
        assert!(orders_are_positions(&g));
        assert_eq!(g.move_to(11, 0), Err(GoalError::NotFound(11)));
    }

    #[test]
    fn a_drop_onto_another_goal_lands_where_that_goal_was() {
        // A page that drops a goal onto another sends the target's order.
        let mut g = goals(4); // 10 20 30 40
        let target = g.get(40).expect("a goal").order;
        g.move_to(10, u64::try_from(target).expect("positive"))
            .expect("moves");
        assert_eq!(ids(&g), [20, 30, 40, 10]);
        let target = g.get(20).expect("a goal").order;
        g.move_to(40, u64::try_from(target).expect("positive"))
            .expect("moves");
        assert_eq!(ids(&g), [40, 20, 30, 10]);
    }

    #[test]
    fn removing_edits_and_checks_keep_the_orders_whole() {
        let mut g = goals(4);
        g.remove(20).expect("removed");
        assert_eq!(ids(&g), [10, 30, 40]);
        assert!(orders_are_positions(&g));
        g.toggle(30).expect("checked");
        g.edit(30, "new".into()).expect("edited");
        let goal = g.get(30).expect("kept");
        assert_eq!((goal.is_checked, goal.content.as_str()), (true, "new"));
        g.toggle(30).expect("unchecked");
        assert!(!g.get(30).expect("kept").is_checked);
        assert_eq!(g.remove(20), Err(GoalError::NotFound(20)));
    }

    #[test]
    fn stored_goals_come_back_in_order_and_numbered_from_zero() {
        let mut stored = goals(3).list().to_vec();
        stored.reverse();
        stored[0].order = 7;
        let g = Goals::from_stored(stored);
        assert_eq!(ids(&g), [10, 20, 30]);
        assert!(orders_are_positions(&g));
    }
}
