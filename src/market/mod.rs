//! The exchange: equity holdings past their lock-up trade in call auctions the issuer schedules.
//! Built so far: holdings, auction windows, and the pure core that the server, the indicative price and
//! `zhonglian verify-auction` will share.
//!
//! - [`holdings`]: an investor's shares by company, and how many are past the lock-up.
//! - [`auctions`]: the windows an issuer schedules and the regulator may halt.
//! - [`clearing`]: the one clearing price, every order's fill and the trades.
//! - [`book`]: the published, de-identified order book, its Merkle root and its replay.
//! - `api`, `pages`: the handlers.

pub mod api;
pub mod auctions;
pub mod book;
pub mod clearing;
pub mod holdings;
pub mod pages;
