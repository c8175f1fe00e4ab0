//! A confirmation step that needs no script: a POST that would cancel or decide something, sent
//! without `confirm=yes`, is answered with a page that says what will happen and re-posts the
//! same fields with `confirm=yes`; only that second POST acts.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::error::Result;
use super::pages::{render, Chrome};

/// The value of the `confirm` field that makes a POST act.
pub const CONFIRMED: &str = "yes";

/// A form whose only field (besides the CSRF token) is the confirmation.
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmOnly {
    #[serde(default)]
    pub confirm: Option<String>,
}

impl ConfirmOnly {
    /// Whether the POST carries `confirm=yes`.
    pub fn confirmed(&self) -> bool {
        is_confirmed(self.confirm.as_deref())
    }
}

/// Whether a `confirm` field says the reader confirmed.
pub fn is_confirmed(confirm: Option<&str>) -> bool {
    confirm == Some(CONFIRMED)
}

/// A field the confirmation carries back to the action: shown with its label when it has one,
/// as an input beside its refusal when it was refused.
pub struct Carried {
    pub name: &'static str,
    pub label: Option<String>,
    pub value: String,
    pub error: Option<String>,
    /// The input's type when it is shown as an input (`text`, `datetime-local`).
    pub input: &'static str,
}

impl Carried {
    /// A field carried as it was typed, without a label.
    pub fn hidden(name: &'static str, value: &str) -> Self {
        Self {
            name,
            label: None,
            value: value.to_owned(),
            error: None,
            input: "text",
        }
    }

    /// A field carried and shown under `label`.
    pub fn shown(name: &'static str, label: &str, value: &str) -> Self {
        Self {
            label: Some(label.to_owned()),
            ..Self::hidden(name, value)
        }
    }

    /// The field shown as an input of `input` type, so it can be typed again.
    pub fn as_input(mut self, input: &'static str) -> Self {
        self.input = input;
        self
    }
}

/// The confirmation page of one action.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Confirm {
    pub chrome: Chrome,
    /// The question, e.g. "Cancel this pledge?".
    pub heading: String,
    /// What the project or pledge is: its title.
    pub subject: String,
    /// What will happen once confirmed.
    pub consequence: String,
    /// The POST to repeat.
    pub action: String,
    pub fields: Vec<Carried>,
    /// Where "Go back" leads.
    pub back: String,
    /// Whether the action cannot be undone (the button is marked as dangerous).
    pub danger: bool,
}

impl Confirm {
    /// Whether a carried field was refused (the page then answers 422 and shows it as an input).
    fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some())
    }

    /// The page as a response: 200 to ask, 422 when a carried field was refused.
    pub fn respond(&self) -> Result<Response> {
        let mut response = render(self)?;
        if self.has_errors() {
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirm_yes_confirms() {
        assert!(is_confirmed(Some("yes")));
        for other in [None, Some(""), Some("no"), Some("YES"), Some("yes ")] {
            assert!(!is_confirmed(other), "{other:?}");
        }
        assert!(!ConfirmOnly::default().confirmed());
    }
}
