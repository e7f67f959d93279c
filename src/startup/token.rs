//! The admin token a server starts with: `PAIRSYNC_ADMIN_TOKEN`, or the contents of
//! `PAIRSYNC_ADMIN_TOKEN_FILE` (a trailing newline ignored), or else one generated for
//! this run. Both settings at once, an unreadable file or an empty one stop the start.

use super::StartError;
use crate::config::Config;

/// The admin token, and whether it was generated (and must be told to the operator).
pub fn settle(config: &Config) -> Result<(String, bool), StartError> {
    let given = config.admin_token.clone().filter(|t| !t.is_empty());
    match (given, &config.admin_token_file) {
        (Some(_), Some(_)) => Err(StartError::TokenTwice),
        (Some(token), None) => Ok((token, false)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StartError::TokenFile(path.clone(), e))?;
            let token = text.strip_suffix('\n').unwrap_or(&text);
            let token = token.strip_suffix('\r').unwrap_or(token);
            if token.trim().is_empty() {
                return Err(StartError::TokenEmpty(path.clone()));
            }
            Ok((token.to_string(), false))
        }
        (None, None) => Ok((crate::access_code::generate(), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("pairsync").chain(args.iter().copied()))
            .expect("arguments")
    }

    #[test]
    fn a_token_file_gives_its_contents_without_the_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret token\n").expect("write");
        let file = path.to_str().expect("utf-8");
        let (token, generated) = settle(&config(&["--admin-token-file", file])).expect("settled");
        assert_eq!((token.as_str(), generated), ("s3cret token", false));
    }

    #[test]
    fn an_empty_file_and_both_settings_stop_the_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "\n").expect("write");
        let file = path.to_str().expect("utf-8");
        assert!(matches!(
            settle(&config(&["--admin-token-file", file])),
            Err(StartError::TokenEmpty(_))
        ));
        assert!(matches!(
            settle(&config(&["--admin-token", "x", "--admin-token-file", file])),
            Err(StartError::TokenTwice)
        ));
        assert!(matches!(
            settle(&config(&["--admin-token-file", "/nonexistent/token"])),
            Err(StartError::TokenFile(..))
        ));
    }

    #[test]
    fn with_neither_a_token_is_generated() {
        let (a, generated) = settle(&config(&[])).expect("settled");
        let (b, _) = settle(&config(&[])).expect("settled");
        assert!(generated);
        assert_ne!(a, b);
    }
}
