//! The terminal client's errors, each one clear line for a person.

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The room's code is unknown to the server (or cannot be one).
    #[error("room {0} does not exist")]
    RoomNotFound(String),
    /// The room was deleted while it was watched.
    #[error("room {0} was deleted")]
    RoomDeleted(String),
    /// The server refused the request; its own message.
    #[error("{message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error code of the JSON body (`http_STATUS` when there was none).
        code: String,
        /// The sentence of the JSON body.
        message: String,
    },
    /// The server refused the request for a value a person gave: first in the words of
    /// the client's own checks, then the server's own message.
    #[error("{words}\n(the server said: {message})")]
    RefusedInWords {
        /// What is wrong, in minutes and flags.
        words: String,
        /// The sentence of the JSON body.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable {
        /// The server's base URL.
        server: String,
        /// What went wrong, from the innermost cause.
        reason: String,
    },
    /// The server's certificate was refused: what, and what to do (one line).
    #[error("{0}")]
    Untrusted(String),
    /// A URL or code the client cannot use.
    #[error("{0}")]
    Usage(String),
    /// Arguments refused before anything was sent: every problem, one per line.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// The terminal could not be set up or drawn on.
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// The innermost cause of `error`, which names what happened ("Connection refused")
/// where the outer ones name the request.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // std's io errors end with "(os error N)", which helps nobody here.
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl ClientError {
    /// The error for a failed request to `server`.
    pub fn transport(server: &str, error: &reqwest::Error) -> ClientError {
        let reason = if error.is_timeout() {
            "no answer in time".to_string()
        } else {
            root_cause(error)
        };
        ClientError::Unreachable {
            server: server.to_string(),
            reason,
        }
    }

    /// A short reason for the status line while reconnecting.
    pub fn reason(&self) -> String {
        match self {
            ClientError::Unreachable { reason, .. } => reason.to_lowercase(),
            other => other.to_string(),
        }
    }

    /// Whether a reconnecting watcher should give up on it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ClientError::RoomNotFound(_)
                | ClientError::RoomDeleted(_)
                | ClientError::Usage(_)
                | ClientError::Untrusted(_)
                | ClientError::Invalid(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_root_cause_is_the_innermost_without_the_os_number() {
        let e = Outer(std::io::Error::from_raw_os_error(111));
        assert_eq!(root_cause(&e), "Connection refused");
    }

    #[test]
    fn a_refusal_reads_as_the_servers_message() {
        let e = ClientError::Refused {
            status: 400,
            code: "invalid_request".into(),
            message: "navigator and driver must differ".into(),
        };
        assert_eq!(e.to_string(), "navigator and driver must differ");
        assert!(!e.is_final());
        assert_eq!(
            ClientError::RoomNotFound("abc".into()).to_string(),
            "room abc does not exist"
        );
        assert!(ClientError::RoomNotFound("abc".into()).is_final());
    }

    #[test]
    fn refused_arguments_are_one_line_each_and_a_refused_certificate_is_final() {
        let e = ClientError::Invalid(vec![
            "Ann is named twice".into(),
            "A turn lasts at least 1 second".into(),
        ]);
        assert_eq!(
            e.to_string(),
            "Ann is named twice\nA turn lasts at least 1 second"
        );
        assert!(ClientError::Untrusted("the server at https://h is not trusted".into()).is_final());
    }
}
