//! Typed ids: one newtype per kind of thing, so a `ProjectId` can never be passed where a
//! `UserId` is expected, and no raw `Uuid` travels between rooms.
//!
//! Every id is `Copy`, prints and parses as its inner value (`Display`, `FromStr`), is
//! transparent to serde, to sqlx (`.bind(id)`, a `FromRow` field) and to the OpenAPI document.
//! A path segment that does not parse is a 404 (see `http::extract::Path`).

/// Declares an id newtype over `Uuid` (or another inner type given after `:`).
macro_rules! decl_id {
    ($(#[$meta:meta])* $name:ident) => {
        decl_id!($(#[$meta])* $name: uuid::Uuid);
    };
    ($(#[$meta:meta])* $name:ident: $inner:ty) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            sqlx::Type,
            utoipa::ToSchema,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        #[schema(value_type = $inner)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = <$inner as std::str::FromStr>::Err;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.parse().map(Self)
            }
        }

        impl From<$inner> for $name {
            fn from(inner: $inner) -> Self {
                Self(inner)
            }
        }
    };
}

decl_id!(
    /// A user's id.
    UserId
);
decl_id!(
    /// A project's id.
    ProjectId
);
decl_id!(
    /// A reward tier's id.
    TierId
);
decl_id!(
    /// A pledge's id.
    PledgeId
);
decl_id!(
    /// A call auction's id.
    AuctionId
);
decl_id!(
    /// An exchange order's id.
    OrderId
);
decl_id!(
    /// A money account's id.
    AccountId
);
decl_id!(
    /// A journal entry's id (a sequence number).
    JournalEntryId: i64
);
decl_id!(
    /// A session's id (the `sid` of its token).
    SessionId
);
decl_id!(
    /// A wallet top-up's id.
    DepositId
);
decl_id!(
    /// A project update's id.
    UpdateId
);
decl_id!(
    /// A comment's (or a reply's) id.
    CommentId
);
decl_id!(
    /// A withdrawal's id.
    WithdrawalId
);
decl_id!(
    /// An add-on's id.
    AddonId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_prints_and_parses_as_its_inner_value() {
        let raw = "5b0f3c4e-8f5a-4d0e-9a57-0c7b2f6f6f10";
        let id: ProjectId = raw.parse().expect("a uuid parses");
        assert_eq!(id.to_string(), raw);
        assert!("not-a-uuid".parse::<ProjectId>().is_err());
        assert_eq!(
            "42".parse::<JournalEntryId>().ok(),
            Some(JournalEntryId(42))
        );
    }

    #[test]
    fn an_id_is_transparent_to_serde() {
        let id = UserId(uuid::Uuid::nil());
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(json, "\"00000000-0000-0000-0000-000000000000\"");
        let back: UserId = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, id);
    }
}
