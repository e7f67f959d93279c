//! A room's reference links and their categories: up to 100 `http`/`https` links, newest
//! first, each in at most one of up to 30 categories whose names are unique in the room.
//! Deleting a category leaves its links without one. pairsync makes no outbound request:
//! a link's `headTitle` is its URL's host, its other texts are empty. Ids are chosen by the
//! caller (random).

use serde::Serialize;
use utoipa::ToSchema;

/// The most links a room holds.
pub const MAX_LINKS: usize = 100;
/// The most categories a room holds.
pub const MAX_CATEGORIES: usize = 30;
/// The longest link, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest category name, in characters (after trimming).
pub const MAX_CATEGORY_CHARS: usize = 30;

/// A category, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Category {
    /// A string id, unique in the room.
    pub id: String,
    /// Its name: 1 to 30 characters, unique in the room.
    pub value: String,
}

/// A link as stored: its URL, host, category and the instant it was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// A positive integer below 2^53, random.
    pub id: i64,
    /// The URL as given (trimmed).
    pub url: String,
    /// The URL's host.
    pub host: String,
    /// Its category's id, if any.
    pub category: Option<String>,
    /// When it was added (epoch ms).
    pub added_at: i64,
}

/// A link as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    /// The link's id.
    pub id: i64,
    /// The URL.
    pub url: String,
    /// The URL's host (pairsync fetches nothing).
    pub head_title: String,
    /// Always `""`.
    pub open_graph_title: String,
    /// Always `""`.
    pub description: String,
    /// Always `""`.
    pub image: String,
    /// The name of its category, `null` when it has none.
    pub category_name: Option<String>,
}

/// Why a change to the links or categories is refused. Each message is the predicate of a
/// sentence whose subject is the field at fault, or a whole sentence for limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not an `http` or `https` URL with a host, or too long.
    #[error("url must be an http or https URL of at most 2048 characters")]
    BadUrl,
    /// A category name empty or too long once trimmed.
    #[error("must be 1 to 30 characters after trimming")]
    BadName,
    /// A 101st link.
    #[error("a room holds at most 100 links")]
    TooManyLinks,
    /// A 31st category.
    #[error("a room holds at most 30 categories")]
    TooManyCategories,
    /// Another category has this name.
    #[error("names a category that already exists: {0:?}")]
    NameTaken(String),
    /// No category of the room has this id.
    #[error("no category of this room has the id {0:?}")]
    NoCategory(String),
    /// No link of the room has this id.
    #[error("no link of this room has the id {0}")]
    NoLink(i64),
    /// An id is taken (a new random id met an old one).
    #[error("the id is taken")]
    IdTaken,
}

/// `raw` as a link: trimmed, at most [`MAX_URL_CHARS`] characters, `http` or `https` with a
/// host; answers the URL and its host.
pub fn url(raw: &str) -> Result<(String, String), LinkError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_URL_CHARS {
        return Err(LinkError::BadUrl);
    }
    let parsed = url::Url::parse(trimmed).map_err(|_| LinkError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(LinkError::BadUrl);
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(LinkError::BadUrl)?;
    Ok((trimmed.to_string(), host.to_string()))
}

/// `raw` as a category name: trimmed, 1 to [`MAX_CATEGORY_CHARS`] characters.
pub fn category_name(raw: &str) -> Result<String, LinkError> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_CATEGORY_CHARS {
        return Err(LinkError::BadName);
    }
    Ok(trimmed.to_string())
}

/// A room's links and categories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The categories, oldest first.
    categories: Vec<Category>,
    /// The links, oldest first.
    links: Vec<Link>,
}

impl Links {
    /// The links and categories as stored (any order), links put oldest first.
    pub fn from_stored(categories: Vec<Category>, mut links: Vec<Link>) -> Links {
        links.sort_by_key(|l| (l.added_at, l.id));
        Links { categories, links }
    }

    /// Every category, oldest first.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Every link as stored, oldest first.
    pub fn stored(&self) -> &[Link] {
        &self.links
    }

    /// The links as the API shows them, newest first; only those of category `filter` when
    /// one is given.
    pub fn views(&self, filter: Option<&str>) -> Vec<LinkView> {
        self.links
            .iter()
            .rev()
            .filter(|l| filter.is_none_or(|f| l.category.as_deref() == Some(f)))
            .map(|l| LinkView {
                id: l.id,
                url: l.url.clone(),
                head_title: l.host.clone(),
                open_graph_title: String::new(),
                description: String::new(),
                image: String::new(),
                category_name: l
                    .category
                    .as_deref()
                    .and_then(|c| self.category(c))
                    .map(|c| c.value.clone()),
            })
            .collect()
    }

    fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    fn name_free(&self, name: &str, except: Option<&str>) -> Result<(), LinkError> {
        if self
            .categories
            .iter()
            .any(|c| c.value == name && Some(c.id.as_str()) != except)
        {
            return Err(LinkError::NameTaken(name.to_string()));
        }
        Ok(())
    }

    /// Adds a category with this id and (checked) name; answers it.
    pub fn add_category(&mut self, id: String, name: String) -> Result<Category, LinkError> {
        if self.categories.len() >= MAX_CATEGORIES {
            return Err(LinkError::TooManyCategories);
        }
        self.name_free(&name, None)?;
        if self.category(&id).is_some() {
            return Err(LinkError::IdTaken);
        }
        let category = Category { id, value: name };
        self.categories.push(category.clone());
        Ok(category)
    }

    /// Renames category `id`.
    pub fn rename_category(&mut self, id: &str, name: String) -> Result<(), LinkError> {
        if self.category(id).is_none() {
            return Err(LinkError::NoCategory(id.to_string()));
        }
        self.name_free(&name, Some(id))?;
        for c in &mut self.categories {
            if c.id == id {
                c.value = name.clone();
            }
        }
        Ok(())
    }

    /// Deletes category `id`; its links are left without one.
    pub fn remove_category(&mut self, id: &str) -> Result<(), LinkError> {
        let before = self.categories.len();
        self.categories.retain(|c| c.id != id);
        if self.categories.len() == before {
            return Err(LinkError::NoCategory(id.to_string()));
        }
        for link in &mut self.links {
            if link.category.as_deref() == Some(id) {
                link.category = None;
            }
        }
        Ok(())
    }

    /// Adds a link; answers it as the API shows it.
    pub fn add_link(&mut self, link: Link) -> Result<LinkView, LinkError> {
        if self.links.len() >= MAX_LINKS {
            return Err(LinkError::TooManyLinks);
        }
        if let Some(category) = &link.category {
            if self.category(category).is_none() {
                return Err(LinkError::NoCategory(category.clone()));
            }
        }
        if self.links.iter().any(|l| l.id == link.id) {
            return Err(LinkError::IdTaken);
        }
        let id = link.id;
        self.links.push(link);
        self.views(None)
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(LinkError::NoLink(id))
    }

    /// Deletes link `id`.
    pub fn remove_link(&mut self, id: i64) -> Result<(), LinkError> {
        let before = self.links.len();
        self.links.retain(|l| l.id != id);
        if self.links.len() == before {
            return Err(LinkError::NoLink(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: i64, raw: &str, category: Option<&str>) -> Link {
        let (url, host) = url(raw).expect("a URL");
        Link {
            id,
            url,
            host,
            category: category.map(str::to_string),
            added_at: 1000 + id,
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_links() {
        assert_eq!(
            url(" https://example.com/a?b#c "),
            Ok(("https://example.com/a?b#c".into(), "example.com".into()))
        );
        assert_eq!(url("http://[::1]:8080/x").map(|u| u.1), Ok("[::1]".into()));
        for bad in [
            "ftp://example.com",
            "javascript:alert(1)",
            "example.com",
            "https://",
            "",
        ] {
            assert_eq!(url(bad), Err(LinkError::BadUrl), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(url(&long), Err(LinkError::BadUrl));
    }

    #[test]
    fn categories_are_unique_by_name_and_thirty_at_most() {
        let mut l = Links::default();
        for i in 0..MAX_CATEGORIES {
            l.add_category(i.to_string(), format!("c{i}"))
                .expect("room for it");
        }
        assert_eq!(
            l.add_category("x".into(), "more".into()),
            Err(LinkError::TooManyCategories)
        );
        let mut l = Links::default();
        l.add_category("1".into(), "Docs".into()).expect("added");
        assert_eq!(
            l.add_category("2".into(), "Docs".into()),
            Err(LinkError::NameTaken("Docs".into()))
        );
        l.add_category("2".into(), "Specs".into()).expect("added");
        assert_eq!(
            l.rename_category("2", "Docs".into()),
            Err(LinkError::NameTaken("Docs".into()))
        );
        l.rename_category("1", "Docs".into())
            .expect("its own name again");
        assert_eq!(category_name(&"é".repeat(31)), Err(LinkError::BadName));
        assert_eq!(category_name("  Notes "), Ok("Notes".into()));
    }

    #[test]
    fn links_come_newest_first_with_their_category_names_and_lose_a_deleted_category() {
        let mut l = Links::default();
        l.add_category("7".into(), "Docs".into()).expect("added");
        l.add_link(link(1, "https://a.test/1", None))
            .expect("added");
        let second = l
            .add_link(link(2, "https://b.test/2", Some("7")))
            .expect("added");
        assert_eq!(
            (second.head_title.as_str(), second.category_name.as_deref()),
            ("b.test", Some("Docs"))
        );
        let ids: Vec<i64> = l.views(None).iter().map(|v| v.id).collect();
        assert_eq!(ids, [2, 1]);
        assert_eq!(l.views(Some("7")).len(), 1);
        l.rename_category("7", "Manuals".into()).expect("renamed");
        assert_eq!(l.views(None)[0].category_name.as_deref(), Some("Manuals"));
        l.remove_category("7").expect("removed");
        assert_eq!(l.views(None)[0].category_name, None);
        assert_eq!(
            l.add_link(link(3, "https://c.test", Some("7"))),
            Err(LinkError::NoCategory("7".into()))
        );
        l.remove_link(1).expect("removed");
        assert_eq!(l.remove_link(1), Err(LinkError::NoLink(1)));
    }

    #[test]
    fn a_room_holds_a_hundred_links() {
        let mut l = Links::default();
        for id in 1..=MAX_LINKS as i64 {
            l.add_link(link(id, "https://a.test", None))
                .expect("room for it");
        }
        assert_eq!(
            l.add_link(link(999, "https://a.test", None)),
            Err(LinkError::TooManyLinks)
        );
    }
}
