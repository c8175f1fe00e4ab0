//! A form's refusals, field by field, so a page shows every one at once beside its field and
//! keeps what was typed, instead of stopping at the first.

use crate::error::{Error as Refusal, Message};
use crate::i18n::Catalogue;

/// What is wrong with a submitted form, by field name (the `name` of its input).
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(&'static str, Message)>);

impl FieldErrors {
    /// No refusal yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is refused with `message` (the first refusal of a field is kept).
    pub fn add(&mut self, field: &'static str, message: Message) {
        if self.get(field).is_none() {
            self.0.push((field, message));
        }
    }

    /// The value of a field's parse, or `None` with its refusal recorded. A refusal that is not
    /// about the input (a database failure) is returned as the error, to fail the request.
    pub fn check<T>(
        &mut self,
        field: &'static str,
        parsed: Result<T, Refusal>,
    ) -> Result<Option<T>, Refusal> {
        match parsed {
            Ok(value) => Ok(Some(value)),
            Err(Refusal::Invalid(message) | Refusal::Malformed(message)) => {
                self.add(field, message);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Whether the form passed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many fields are refused.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The refusal of `field`, if any.
    pub fn get(&self, field: &str) -> Option<&Message> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, m)| m)
    }

    /// The refusal of `field` in the reader's language, for the template.
    pub fn text(&self, field: &str, t: &Catalogue) -> Option<String> {
        self.get(field).map(|m| m.in_lang(t))
    }

    /// Every refusal, in the order found, as (field, text), for the summary above the form.
    pub fn all(&self, t: &Catalogue) -> Vec<(&'static str, String)> {
        self.0.iter().map(|(f, m)| (*f, m.in_lang(t))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_refused_field_is_kept_once_in_order() {
        let mut errors = FieldErrors::new();
        let title: Result<u8, Refusal> = Err(Refusal::Invalid(Message::Text("too long".into())));
        assert_eq!(errors.check("title", title).unwrap(), None);
        errors.add("goal", Message::Text("too small".into()));
        errors.add("title", Message::Text("second".into()));
        assert_eq!(errors.check("slug", Ok(3)).unwrap(), Some(3));
        let t = Lang::En.catalogue();
        assert_eq!(
            errors.all(t),
            vec![("title", "too long".into()), ("goal", "too small".into())]
        );
        assert_eq!(errors.text("slug", t), None);
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn a_failure_that_is_not_about_the_input_fails_the_request() {
        let mut errors = FieldErrors::new();
        let failed: Result<u8, Refusal> = Err(Refusal::Conflict(Message::Key("x")));
        assert!(errors.check("title", failed).is_err());
        assert!(errors.is_empty());
    }
}
