//! Where a room lives: a server's base URL, and a room's access code taken from its page
//! URL (`…/p/CODE`) or given alone.

use reqwest::Url;

use super::error::ClientError;

/// The longest access code looked up (the server makes them 8 to 32 characters long).
const MAX_CODE_CHARS: usize = 64;

/// A room on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAddress {
    /// The server's base URL, without a trailing `/`.
    pub server: String,
    /// The room's access code.
    pub code: String,
}

impl RoomAddress {
    /// The room's page URL, `SERVER/p/CODE`.
    pub fn page_url(&self) -> String {
        format!("{}/p/{}", self.server, self.code)
    }
}

/// Whether `code` can be an access code (`[A-Za-z0-9_-]`, not too long).
fn is_access_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_http_url(url: &str) -> Result<Url, ClientError> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| ClientError::Usage(format!("`{url}` is not a URL: {e}")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some() => Ok(parsed),
        _ => Err(ClientError::Usage(format!(
            "`{url}` is not an http:// or https:// URL"
        ))),
    }
}

/// A server's base URL as given by a person (`https://host/`, maybe under a path),
/// normalised: no trailing `/`, no query, no fragment.
pub fn server_base(url: &str) -> Result<String, ClientError> {
    let mut parsed = parse_http_url(url)?;
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// The room that `pairsync watch` is pointed at: a page URL, or a code on `server`.
pub fn watch_target(room: &str, server: &str) -> Result<RoomAddress, ClientError> {
    let room = room.trim();
    if !room.contains("://") {
        if !is_access_code(room) {
            return Err(ClientError::RoomNotFound(room.to_string()));
        }
        return Ok(RoomAddress {
            server: server_base(server)?,
            code: room.to_string(),
        });
    }
    let not_a_page = || {
        ClientError::Usage(format!(
            "`{room}` is not a room page URL (expected https://HOST/p/CODE or http://HOST:PORT/p/CODE)"
        ))
    };
    let mut url = parse_http_url(room)?;
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default();
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    let code = segments.pop().ok_or_else(not_a_page)?;
    if segments.pop().as_deref() != Some("p") {
        return Err(not_a_page());
    }
    if !is_access_code(&code) {
        return Err(ClientError::RoomNotFound(code));
    }
    // Segments are joined after the path's leading `/`, empty ones (`//`) included.
    url.set_path(&format!("/{}", segments.join("/")));
    Ok(RoomAddress {
        server: server_base(url.as_str())?,
        code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(room: &str) -> Result<RoomAddress, ClientError> {
        watch_target(room, "http://127.0.0.1:8080")
    }

    #[test]
    fn a_page_url_gives_the_server_and_the_code() {
        let a = target("http://127.0.0.1:4000/p/Ab_c-12345").expect("a room");
        assert_eq!(a.server, "http://127.0.0.1:4000");
        assert_eq!(a.code, "Ab_c-12345");
        assert_eq!(a.page_url(), "http://127.0.0.1:4000/p/Ab_c-12345");
    }

    #[test]
    fn a_page_url_may_have_a_prefix_a_trailing_slash_a_query_or_a_fragment() {
        let a = target("http://example.test/pairsync/p/abcdefgh/?x=1#top").expect("a room");
        assert_eq!(a.server, "http://example.test/pairsync");
        assert_eq!(a.code, "abcdefgh");
    }

    #[test]
    fn empty_segments_before_the_page_stay_in_the_server_address() {
        // Found by fuzzing: one `/` of a `//` before the page was lost, so the page URL of
        // the address found named another server path.
        let a = target("http://h///x/p/abcdefgh").expect("a room");
        assert_eq!(a.server, "http://h///x");
        assert_eq!(target(&a.page_url()).expect("the same room"), a);
    }

    #[test]
    fn a_bare_code_uses_the_server_given() {
        let a = watch_target("abcdefgh", "http://10.0.0.1:9/").expect("a room");
        assert_eq!(a.server, "http://10.0.0.1:9");
        assert_eq!(a.code, "abcdefgh");
    }

    #[test]
    fn urls_that_are_not_room_pages_are_refused_in_words() {
        for bad in [
            "http://127.0.0.1:4000/",
            "http://127.0.0.1:4000/room/abc",
            "ftp://127.0.0.1/p/abc",
            "http:///p/abc",
        ] {
            let e = target(bad).expect_err(bad);
            assert!(matches!(e, ClientError::Usage(_)), "{bad}: {e:?}");
        }
        let e = target("ftp://127.0.0.1/p/abc").expect_err("ftp");
        assert!(e.to_string().contains("http:// or https://"), "{e}");
    }

    #[test]
    fn an_https_page_url_is_a_room_too() {
        let a = target("https://pair.example.test/team/p/abcdefgh").expect("a room");
        assert_eq!(a.server, "https://pair.example.test/team");
        assert_eq!(a.code, "abcdefgh");
        assert_eq!(
            server_base("https://127.0.0.1:8443/").expect("ok"),
            "https://127.0.0.1:8443"
        );
    }

    #[test]
    fn a_code_that_cannot_exist_is_an_unknown_room() {
        assert!(matches!(
            target("not a code"),
            Err(ClientError::RoomNotFound(_))
        ));
        assert!(matches!(
            target("http://h/p/%20x"),
            Err(ClientError::RoomNotFound(_))
        ));
    }

    #[test]
    fn server_bases_lose_their_trailing_slash() {
        assert_eq!(
            server_base("http://127.0.0.1:8080/").expect("ok"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_base("http://h/under/").expect("ok"),
            "http://h/under"
        );
        assert!(server_base("localhost:8080").is_err());
    }
}
