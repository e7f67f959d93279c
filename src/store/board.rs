//! The `goals`, `categories` and `links` tables: a room's board, read with the room and
//! written in the transaction of the change that made it, row by row where a row differs
//! (a room holds at most 100 goals, 100 links and 30 categories).

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::{categories, goals, links};
use super::{Conn, StoreError};
use crate::rules::{Category, Goal, Goals, Link, Links};

/// A goal as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = goals)]
struct GoalRow {
    id: i64,
    access_code: String,
    content: String,
    checked: bool,
    position: i64,
}

/// A category as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories)]
struct CategoryRow {
    access_code: String,
    id: String,
    value: String,
    position: i64,
}

/// A link as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = links)]
struct LinkRow {
    id: i64,
    access_code: String,
    url: String,
    host: String,
    category_id: Option<String>,
    added_at: i64,
}

/// One room's board as read back.
#[derive(Debug, Clone, Default)]
pub struct Board {
    /// The goals, in order.
    pub goals: Goals,
    /// The links and their categories.
    pub links: Links,
}

/// The boards of the rooms `codes` (an empty board for a room that has nothing).
pub fn load_many(conn: &mut Conn, codes: &[String]) -> Result<HashMap<String, Board>, StoreError> {
    let mut goals_by_room: HashMap<String, Vec<Goal>> = HashMap::new();
    let mut categories_by_room: HashMap<String, Vec<(i64, Category)>> = HashMap::new();
    let mut links_by_room: HashMap<String, Vec<Link>> = HashMap::new();
    for chunk in codes.chunks(500) {
        let rows: Vec<GoalRow> = goals::table
            .filter(goals::access_code.eq_any(chunk))
            .select(GoalRow::as_select())
            .load(conn)?;
        for r in rows {
            goals_by_room.entry(r.access_code).or_default().push(Goal {
                id: r.id,
                content: r.content,
                is_checked: r.checked,
                order: r.position,
            });
        }
        let rows: Vec<CategoryRow> = categories::table
            .filter(categories::access_code.eq_any(chunk))
            .select(CategoryRow::as_select())
            .load(conn)?;
        for r in rows {
            categories_by_room.entry(r.access_code).or_default().push((
                r.position,
                Category {
                    id: r.id,
                    value: r.value,
                },
            ));
        }
        let rows: Vec<LinkRow> = links::table
            .filter(links::access_code.eq_any(chunk))
            .select(LinkRow::as_select())
            .load(conn)?;
        for r in rows {
            links_by_room.entry(r.access_code).or_default().push(Link {
                id: r.id,
                url: r.url,
                host: r.host,
                category: r.category_id,
                added_at: r.added_at,
            });
        }
    }
    let mut boards = HashMap::new();
    for code in codes {
        let goals = Goals::from_stored(goals_by_room.remove(code).unwrap_or_default());
        let mut categories = categories_by_room.remove(code).unwrap_or_default();
        categories.sort_by_key(|(position, _)| *position);
        let links = Links::from_stored(
            categories.into_iter().map(|(_, c)| c).collect(),
            links_by_room.remove(code).unwrap_or_default(),
        );
        boards.insert(code.clone(), Board { goals, links });
    }
    Ok(boards)
}

/// The columns of a room's board, each a JSON array of rows (SQL `NULL` for none), as one
/// statement on PostgreSQL reads them beside the room's row ([`BOARD_AS_JSON`]).
#[derive(Debug, Default)]
pub struct BoardJson {
    /// `[[id, content, checked, position], …]`
    pub goals: Option<String>,
    /// `[[id, value, position], …]`
    pub categories: Option<String>,
    /// `[[id, url, host, category id or null, added at], …]`
    pub links: Option<String>,
}

/// The three columns of [`BoardJson`] for the room `r` of a PostgreSQL query, named
/// `board_goals`, `board_categories` and `board_links`.
pub const BOARD_AS_JSON: &str = "\
    (SELECT json_agg(json_build_array(g.id, g.content, g.checked, g.position))::text \
       FROM goals g WHERE g.access_code = r.access_code) AS board_goals, \
    (SELECT json_agg(json_build_array(c.id, c.value, c.position))::text \
       FROM categories c WHERE c.access_code = r.access_code) AS board_categories, \
    (SELECT json_agg(json_build_array(l.id, l.url, l.host, l.category_id, l.added_at))::text \
       FROM links l WHERE l.access_code = r.access_code) AS board_links";

impl BoardJson {
    /// The board these columns hold; a column that is not what [`BOARD_AS_JSON`] makes is
    /// a corrupt row of the room `code`.
    pub fn board(&self, code: &str) -> Result<Board, StoreError> {
        fn rows<T: serde::de::DeserializeOwned>(
            column: &Option<String>,
            code: &str,
            reason: &'static str,
        ) -> Result<Vec<T>, StoreError> {
            match column {
                None => Ok(Vec::new()),
                Some(json) => serde_json::from_str(json).map_err(|_| {
                    StoreError::Corrupt(super::models::CorruptRow {
                        code: code.to_string(),
                        reason,
                    })
                }),
            }
        }
        let goals: Vec<(i64, String, bool, i64)> = rows(&self.goals, code, "unreadable goals")?;
        let mut categories: Vec<(String, String, i64)> =
            rows(&self.categories, code, "unreadable categories")?;
        let links: Vec<LinkFields> = rows(&self.links, code, "unreadable links")?;
        categories.sort_by_key(|(_, _, position)| *position);
        Ok(Board {
            goals: Goals::from_stored(
                goals
                    .into_iter()
                    .map(|(id, content, is_checked, order)| Goal {
                        id,
                        content,
                        is_checked,
                        order,
                    })
                    .collect(),
            ),
            links: Links::from_stored(
                categories
                    .into_iter()
                    .map(|(id, value, _)| Category { id, value })
                    .collect(),
                links.into_iter().map(link_of_row).collect(),
            ),
        })
    }
}

/// A link as a row of its fields: `(id, url, host, category id, added at)`, the shape the
/// board's JSON column and the change feed both carry.
pub type LinkFields = (i64, String, String, Option<String>, i64);

/// The link of `fields`.
pub fn link_of_row((id, url, host, category, added_at): LinkFields) -> Link {
    Link {
        id,
        url,
        host,
        category,
        added_at,
    }
}

/// The board of the room `code`.
pub fn load(conn: &mut Conn, code: &str) -> Result<Board, StoreError> {
    let code = code.to_string();
    Ok(load_many(conn, std::slice::from_ref(&code))?
        .remove(&code)
        .unwrap_or_default())
}

/// Writes the goals of the room `code` as `list` holds them, in the caller's transaction:
/// the rows that differ, no others.
pub fn write_goals(conn: &mut Conn, code: &str, list: &Goals) -> Result<(), StoreError> {
    let stored: Vec<GoalRow> = goals::table
        .filter(goals::access_code.eq(code))
        .select(GoalRow::as_select())
        .load(conn)?;
    let wanted: Vec<GoalRow> = list
        .list()
        .iter()
        .map(|g| GoalRow {
            id: g.id,
            access_code: code.to_string(),
            content: g.content.clone(),
            checked: g.is_checked,
            position: g.order,
        })
        .collect();
    for old in &stored {
        if !wanted.iter().any(|w| w.id == old.id) {
            diesel::delete(goals::table.find(old.id)).execute(conn)?;
        }
    }
    for row in wanted {
        match stored.iter().find(|old| old.id == row.id) {
            None => {
                diesel::insert_into(goals::table)
                    .values(&row)
                    .execute(conn)?;
            }
            Some(old)
                if (&old.content, old.checked, old.position)
                    != (&row.content, row.checked, row.position) =>
            {
                diesel::update(goals::table.find(row.id))
                    .set((
                        goals::content.eq(&row.content),
                        goals::checked.eq(row.checked),
                        goals::position.eq(row.position),
                    ))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Writes the links and categories of the room `code` as `board` holds them, in the
/// caller's transaction: the rows that differ, no others.
pub fn write_links(conn: &mut Conn, code: &str, board: &Links) -> Result<(), StoreError> {
    let stored: Vec<CategoryRow> = categories::table
        .filter(categories::access_code.eq(code))
        .select(CategoryRow::as_select())
        .load(conn)?;
    let wanted: Vec<CategoryRow> = board
        .categories()
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryRow {
            access_code: code.to_string(),
            id: c.id.clone(),
            value: c.value.clone(),
            position: i64::try_from(i).unwrap_or(i64::MAX),
        })
        .collect();
    let category = |id: &str| {
        categories::table
            .filter(categories::access_code.eq(code.to_string()))
            .filter(categories::id.eq(id.to_string()))
    };
    for old in &stored {
        if !wanted.iter().any(|w| w.id == old.id) {
            diesel::delete(category(&old.id)).execute(conn)?;
        }
    }
    for row in wanted {
        match stored.iter().find(|old| old.id == row.id) {
            None => {
                diesel::insert_into(categories::table)
                    .values(&row)
                    .execute(conn)?;
            }
            Some(old) if (&old.value, old.position) != (&row.value, row.position) => {
                diesel::update(category(&row.id))
                    .set((
                        categories::value.eq(&row.value),
                        categories::position.eq(row.position),
                    ))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
    }
    let stored: Vec<LinkRow> = links::table
        .filter(links::access_code.eq(code))
        .select(LinkRow::as_select())
        .load(conn)?;
    for old in &stored {
        if !board.stored().iter().any(|l| l.id == old.id) {
            diesel::delete(links::table.find(old.id)).execute(conn)?;
        }
    }
    for link in board.stored() {
        match stored.iter().find(|old| old.id == link.id) {
            None => {
                diesel::insert_into(links::table)
                    .values(LinkRow {
                        id: link.id,
                        access_code: code.to_string(),
                        url: link.url.clone(),
                        host: link.host.clone(),
                        category_id: link.category.clone(),
                        added_at: link.added_at,
                    })
                    .execute(conn)?;
            }
            // A link changes only by losing its category.
            Some(old) if old.category_id != link.category => {
                diesel::update(links::table.find(link.id))
                    .set(links::category_id.eq(&link.category))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The room that holds goal `id`, if any.
pub fn room_of_goal(conn: &mut Conn, id: i64) -> Result<Option<String>, StoreError> {
    Ok(goals::table
        .find(id)
        .select(goals::access_code)
        .first::<String>(conn)
        .optional()?)
}
