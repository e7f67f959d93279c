//! The query string of `GET /rooms`, as the server reads it: decoded into pairs by the
//! framework, then `limit`, `offset` and `scope` taken from them. No query may panic; a refusal is
//! a 400 with a message; an accepted page is the one the query names, within bounds.

#![no_main]

use actix_web::web::Query;
use libfuzzer_sys::fuzz_target;
use pairsync::error::ApiError;
use pairsync::http::admin::{page, ListingQuery};

/// The page size when none is asked for, and the largest, as the contract gives them.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::from_query(raw) else {
        return;
    };
    let given = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match page(&pairs) {
        Ok(ListingQuery {
            limit,
            offset,
            cluster,
        }) => {
            assert!((1..=MAX_LIMIT).contains(&limit));
            assert!(pairs
                .iter()
                .all(|(k, _)| k == "limit" || k == "offset" || k == "scope"));
            assert!(pairs.len() <= 3);
            assert_eq!(cluster, given("scope") == Some("cluster"), "{raw:?}");
            let named = |key: &str, default: usize| {
                given(key).map_or(Some(default), |v| v.parse::<usize>().ok())
            };
            assert_eq!(Some(limit), named("limit", DEFAULT_LIMIT), "{raw:?}");
            assert_eq!(Some(offset), named("offset", 0), "{raw:?}");
        }
        Err(ApiError::InvalidRequest(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("{raw:?} was refused with {other:?}, not a 400"),
    }
});
