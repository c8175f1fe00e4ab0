//! The community around a project: its discussion (comments and one level of replies).
//!
//! `comments` is the domain (types, rules, SQL); `web` holds its handlers.

pub mod comments;
pub mod comments_list;
pub mod web;
