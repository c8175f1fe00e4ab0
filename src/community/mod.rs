//! The community around a project: who follows it, and the reminders its followers are sent.
//! `follows` and `reminders` are the domain; `api` and `pages` are their handlers.

pub mod api;
pub mod follows;
pub mod pages;
pub mod reminders;
