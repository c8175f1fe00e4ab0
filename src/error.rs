//! The domain's error: what a room's rules and SQL can refuse, with a message for a person.
//!
//! Rooms return `error::Result<T>`; they know nothing of HTTP. The web layer turns each variant
//! into a status and a rendered message (`http::Error: From<Error>`), so the mapping from a
//! refusal to a status code is written once, in `http::error`.

use sqlx::error::DatabaseError;

/// A message for a person: a catalogue key (translated when shown) or ready text.
#[derive(Debug, Clone)]
pub enum Message {
    Key(&'static str),
    /// A catalogue message with `{name}` placeholders, filled in the reader's language.
    Fill(&'static str, Vec<(&'static str, String)>),
    Text(String),
}

impl Message {
    /// The message in the given language.
    pub fn in_lang(&self, catalogue: &crate::i18n::Catalogue) -> String {
        match self {
            Message::Key(key) => catalogue.get(key).to_owned(),
            Message::Fill(key, args) => {
                let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (*n, v.as_str())).collect();
                catalogue.fill(key, &args)
            }
            Message::Text(text) => text.clone(),
        }
    }
}

/// Everything a room can refuse, or fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be read at all (a form that is not the form we sent).
    #[error("malformed: {0:?}")]
    Malformed(Message),
    /// The input was read, and breaks a rule (an amount below the minimum, a title too long).
    #[error("invalid: {0:?}")]
    Invalid(Message),
    /// The request is sound, but the present state refuses it (sold out, already submitted).
    #[error("conflict: {0:?}")]
    Conflict(Message),
    /// Too many attempts; the caller may come back later.
    #[error("throttled: {0:?}")]
    Throttled(Message),
    /// The credentials do not prove who the caller says they are.
    #[error("not authenticated: {0:?}")]
    Unauthenticated(Message),
    /// The caller is known, and may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Nothing by that id, or nothing this caller may see.
    #[error("not found")]
    NotFound,
    /// An upload or a body over its bound.
    #[error("too large")]
    TooLarge,
    /// A dependency (the database, a queue at its limit) cannot take the work now.
    #[error("unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

/// Shorthand for domain results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400-kind refusal with a catalogue message.
    pub fn malformed(key: &'static str) -> Self {
        Error::Malformed(Message::Key(key))
    }

    /// A broken rule, with a catalogue message.
    pub fn invalid(key: &'static str) -> Self {
        Error::Invalid(Message::Key(key))
    }

    /// A refusal by the present state, with a catalogue message.
    pub fn conflict(key: &'static str) -> Self {
        Error::Conflict(Message::Key(key))
    }

    /// What the person is told: never internal text.
    pub fn message(&self) -> Message {
        match self {
            Error::Malformed(m)
            | Error::Invalid(m)
            | Error::Conflict(m)
            | Error::Throttled(m)
            | Error::Unauthenticated(m) => m.clone(),
            Error::Forbidden => Message::Key("error.forbidden"),
            Error::NotFound => Message::Key("error.not_found"),
            Error::TooLarge => Message::Key("error.too_large"),
            Error::Unavailable => Message::Key("error.unavailable"),
            _ if self.is_database_away() => Message::Key("error.unavailable"),
            Error::Database(_) | Error::Internal(_) => Message::Key("error.internal"),
        }
    }

    /// Whether this is a database error that means "cannot reach the database" (down,
    /// restarting, connection lost), directly or as the cause of an internal error.
    pub fn is_database_away(&self) -> bool {
        match self {
            Error::Database(e) => crate::db::is_unreachable(e),
            Error::Internal(e) => crate::db::is_unreachable_cause(e),
            _ => false,
        }
    }

    /// The constraint a database error names, if it is a constraint violation.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Database(sqlx::Error::Database(e)) => e.constraint(),
            _ => None,
        }
    }
}

/// Lets the database say no, once: maps the violation of one named constraint to the error a
/// person should see, and passes every other error through.
///
/// ```ignore
/// sqlx::query("INSERT INTO projects ...").execute(db).await
///     .on_constraint("projects_slug_key", |_| Error::conflict("projects.error.slug_taken"))?;
/// ```
pub trait ResultExt<T> {
    fn on_constraint(
        self,
        name: &str,
        map: impl FnOnce(Box<dyn DatabaseError>) -> Error,
    ) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(
        self,
        name: &str,
        map: impl FnOnce(Box<dyn DatabaseError>) -> Error,
    ) -> Result<T> {
        self.map_err(|e| match e.into() {
            Error::Database(sqlx::Error::Database(db)) if db.constraint() == Some(name) => map(db),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_other_than_the_named_constraint_pass_through() {
        let result: Result<()> = Err(Error::NotFound);
        let mapped = result.on_constraint("any_key", |_| Error::conflict("x"));
        assert!(matches!(mapped, Err(Error::NotFound)));
        let result: std::result::Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        let mapped = result.on_constraint("any_key", |_| Error::conflict("x"));
        assert!(matches!(
            mapped,
            Err(Error::Database(sqlx::Error::RowNotFound))
        ));
    }
}
