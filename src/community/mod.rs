//! The community around a project: its discussion (comments and one level of replies), who
//! follows it, and the reminders its followers are sent.
//!
//! `comments`, `comments_list`, `follows` and `reminders` are the domain (types, rules, SQL),
//! `kept` what anonymous visitors see of it, reused for a few seconds;
//! `web` holds the discussion's handlers, `api` and `pages` those of following.

pub mod api;
pub mod comments;
pub mod comments_list;
pub mod follows;
pub mod kept;
pub mod pages;
pub mod reminders;
pub mod web;
