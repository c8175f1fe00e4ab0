//! Handlers of the community room.

pub mod comments_api;
pub mod comments_pages;
