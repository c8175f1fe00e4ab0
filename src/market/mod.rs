//! The exchange: equity holdings past their lock-up trade in call auctions the issuer schedules
//! and the regulator may halt; at the close one clearing price maximises the shares traded, the
//! trades settle exactly once (delivery versus payment) and go on the ledger with the root of the
//! de-identified order book, so that anyone can replay the auction.
//!
//! - [`holdings`]: an investor's shares by company, and how many may be offered.
//! - [`auctions`]: the windows an issuer schedules and the regulator may halt.
//! - [`orders`]: limit orders, what they hold, their cancellation.
//! - [`clearing`]: the one clearing price, every order's fill and the trades (pure).
//! - [`book`]: the published, de-identified order book, its Merkle root and its replay (pure).
//! - [`clear`] and `deliver`: the worker that clears at the close and settles the trades.
//! - [`freezes`]: companies whose trading the regulator froze.
//! - [`published`]: a cleared auction's book, its entry and the receipts of its orders.
//! - `api`, `pages`: the handlers.

pub mod api;
pub mod auctions;
pub mod book;
pub mod clear;
pub mod clearing;
mod deliver;
pub mod freezes;
pub mod holdings;
pub mod orders;
pub mod pages;
pub mod published;
