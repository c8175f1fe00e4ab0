//! Account values, parsed once at the edge.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Message};

pub use crate::ids::UserId;

/// A syntactically plausible e-mail address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The longest address accepted, in bytes of UTF-8 once trimmed and lower-cased (RFC 5321's
    /// path limit, less the angle brackets).
    pub const MAX_BYTES: usize = 254;

    /// Accepts `local@domain.tld` without spaces, up to 254 bytes; case is folded.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= Self::MAX_BYTES
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(Error::Invalid(Message::Key("accounts.error.email")))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password good enough to hash: at least 10 characters, at most 1,024 bytes.
pub struct Password(String);

impl Password {
    /// The shortest password accepted.
    pub const MIN_CHARS: usize = 10;
    /// The longest password accepted, in bytes of UTF-8: argon2's cost grows with the input, so
    /// anything longer is refused before it is hashed (at sign-up and at log-in alike).
    pub const MAX_BYTES: usize = 1024;

    /// Refuses passwords that are too short (or absurdly long, which would only burn CPU).
    pub fn parse(raw: String) -> Result<Self, Error> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Error::Invalid(Message::Key(
                "accounts.error.password_short",
            )));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(Error::Invalid(Message::Key("accounts.error.password_long")));
        }
        Ok(Self(raw))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Whether `c` changes the direction of the text around it (embeddings, overrides, isolates and
/// the invisible direction marks). Such characters let a name or title display as something other
/// than what it is (`evil\u{202E}gpj.exe` shows as `evilexe.jpg`), so names and titles refuse them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A name shown to others: 1 to 80 characters after trimming, no control characters and no
/// bidirectional controls.
#[derive(Debug, Clone)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and checks the name.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let name = raw.trim();
        if name.chars().any(is_bidi_control) {
            return Err(Error::Invalid(Message::Key("accounts.error.bidi")));
        }
        let chars = name.chars().count();
        if chars == 0 || chars > 80 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(Message::Key("accounts.error.display_name")));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user may do on the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Founder,
    Backer,
    Regulator,
    Auditor,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Founder => "founder",
            Role::Backer => "backer",
            Role::Regulator => "regulator",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Option<Role> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "founder" => Some(Role::Founder),
            "backer" => Some(Role::Backer),
            "regulator" => Some(Role::Regulator),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    /// Whether anyone may give themselves this role at sign-up.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Founder | Role::Backer)
    }
}

/// Roles chosen at sign-up: founder and/or backer, nothing else.
pub fn self_service_roles(raw: &[String]) -> Result<Vec<Role>, Error> {
    let mut roles = Vec::new();
    for name in raw {
        let role = Role::parse(name)
            .filter(|r| r.is_self_service())
            .ok_or(Error::Invalid(Message::Key("accounts.error.role")))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(Error::Invalid(Message::Key("accounts.error.role")));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_case_folded_and_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@example",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_shorter_than_ten_characters_are_refused() {
        assert!(Password::parse("123456789".into()).is_err());
        assert!(Password::parse("1234567890".into()).is_ok());
        assert!(Password::parse("密码密码密码密码密码".into()).is_ok());
    }

    #[test]
    fn passwords_longer_than_1024_bytes_are_refused() {
        assert!(Password::parse("a".repeat(1024)).is_ok());
        assert!(Password::parse("a".repeat(1025)).is_err());
        // 342 characters, but 1,026 bytes.
        assert!(Password::parse("密".repeat(342)).is_err());
    }

    #[test]
    fn display_names_with_bidirectional_controls_are_refused() {
        let cases = [
            ("Ada Lovelace", true),
            ("众链用户", true),
            ("مرحبا", true),
            ("evil\u{202E}gpj.exe", false),
            ("\u{202A}embedded", false),
            ("\u{202B}embedded", false),
            ("\u{202C}pop", false),
            ("\u{202D}override", false),
            ("a\u{2066}isolate", false),
            ("a\u{2067}isolate", false),
            ("a\u{2068}isolate", false),
            ("a\u{2069}pop", false),
            ("mark\u{200E}", false),
            ("mark\u{200F}", false),
            ("arabic\u{061C}mark", false),
        ];
        for (name, accepted) in cases {
            let parsed = DisplayName::parse(name);
            assert_eq!(parsed.is_ok(), accepted, "{name:?}");
            if let Err(e) = parsed {
                // Invalid is the 422 refusal (see `http::error`'s mapping test).
                assert!(matches!(e, Error::Invalid(_)), "{name:?}");
            }
        }
        let Err(Error::Invalid(Message::Key(key))) = DisplayName::parse("a\u{202E}b") else {
            panic!("a bidi control was not refused with a message");
        };
        assert_eq!(key, "accounts.error.bidi");
    }

    #[test]
    fn only_founder_and_backer_can_be_chosen_at_sign_up() {
        assert!(self_service_roles(&["regulator".into()]).is_err());
        assert!(self_service_roles(&[]).is_err());
        assert_eq!(
            self_service_roles(&["founder".into(), "backer".into(), "founder".into()]).unwrap(),
            vec![Role::Founder, Role::Backer]
        );
    }
}
