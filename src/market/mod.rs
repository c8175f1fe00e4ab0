//! The exchange: equity holdings past their lock-up trade in call auctions the issuer schedules.
//! Built so far: the pure core that the server, the indicative price and `zhonglian
//! verify-auction` share.
//!
//! - [`clearing`]: the one clearing price, every order's fill and the trades.
//! - [`book`]: the published, de-identified order book, its Merkle root and its replay.

pub mod book;
pub mod clearing;
