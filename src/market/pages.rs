//! The exchange in the browser: `/me/holdings`, the investor's shares by company, and each
//! company's market page (`/projects/{key}/market`): its next window, the indicative price while
//! it is open, the order form, the reader's orders with their fills, and past auctions with a
//! chart of their clearing prices drawn by the server.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auctions::{self, Auction, AuctionState};
use super::clearing::Side;
use super::holdings::{self, Holding};
use super::orders::{self, NewOrder, Order, OrderState, Placing};
use crate::app::AppState;
use crate::error::Error;
use crate::http::csrf::CsrfForm;
use crate::http::error::Result;
use crate::http::extract::{CurrentUser, MaybeUser, Path};
use crate::http::pages::{csv_attachment, render, with_notice, Chrome};
use crate::ids::OrderId;
use crate::money::pages::login_first;
use crate::money::Money;
use crate::pledges::limits::{DeclaredAmount, Shares};
use crate::projects::{repo, ProjectKind, ProjectState};

/// Routes of the exchange's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/holdings", get(holdings_page))
        .route("/projects/{key}/market", get(market_page))
        .route("/projects/{key}/market/orders", post(place_order))
        .route("/projects/{key}/market/auctions", post(schedule_auction))
        .route("/projects/{key}/market/holders.csv", get(holders_csv))
        .route("/orders/{id}/cancel", post(cancel_order))
}

/// One holding as the page shows it.
struct HoldingRow {
    href: String,
    market_href: String,
    company: String,
    shares: String,
    cost: String,
    last_price: String,
    /// "All 30", or "10 of 30; the rest from <date>".
    sellable: String,
}

impl HoldingRow {
    fn new(h: &Holding, c: &Chrome) -> Self {
        let t = c.t;
        let (shares, sellable) = (h.shares.to_string(), h.sellable_shares.to_string());
        let sellable = match h.locked_until {
            None => t.fill("market.sellable_all", &[("shares", &shares)]),
            Some(until) => t.fill(
                "market.sellable_from",
                &[
                    ("sellable", &sellable),
                    ("shares", &shares),
                    ("at", &c.date(&until)),
                ],
            ),
        };
        Self {
            href: format!("/projects/{}", h.slug),
            market_href: format!("/projects/{}/market", h.slug),
            company: h.company.clone(),
            shares,
            cost: c.money(&h.cost, &h.currency),
            last_price: h
                .last_price
                .map(|p| c.money(&p, &h.currency))
                .unwrap_or_else(|| t.get("market.no_auction_yet").to_owned()),
            sellable,
        }
    }
}

#[derive(Template)]
#[template(path = "market/holdings.html")]
struct HoldingsPage {
    chrome: Chrome,
    lockup_note: String,
    rows: Vec<HoldingRow>,
}

/// `GET /me/holdings`: the reader's shares, by company.
async fn holdings_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let days = state.settings.secondary_lockup_days;
    let rows = holdings::holdings(&state.db, user.user.id, days)
        .await?
        .iter()
        .map(|h| HoldingRow::new(h, &chrome))
        .collect();
    let lockup_note = chrome
        .t
        .fill("market.lockup_note", &[("days", &days.to_string())]);
    render(&HoldingsPage {
        chrome,
        lockup_note,
        rows,
    })
}

/// The window the page shows first: the open one, else the next scheduled one.
struct WindowView {
    id: String,
    state_key: &'static str,
    opens: String,
    closes: String,
    /// "11.00 a share for 40 shares", while open.
    indicative: Option<String>,
    open: bool,
}

/// One of the reader's orders.
struct OrderRow {
    id: String,
    side_key: &'static str,
    shares: String,
    limit: String,
    state_key: &'static str,
    /// "8 of 10 at 9.00", once cleared.
    filled: Option<String>,
    cancellable: bool,
    placed: String,
}

/// A past auction.
struct PastRow {
    date: String,
    price: String,
    volume: String,
    state_key: &'static str,
}

/// The chart of clearing prices, oldest first, as SVG coordinates.
struct PriceChart {
    points: String,
    described: String,
    low: String,
    high: String,
}

/// What the order form holds, sent back with a refusal.
#[derive(Default)]
struct OrderForm {
    side: String,
    shares: String,
    limit_price: String,
    error: Option<String>,
    /// Why the issuer's window was refused.
    schedule_error: Option<String>,
}

#[derive(Template)]
#[template(path = "market/company.html")]
struct MarketPage {
    chrome: Chrome,
    company: String,
    slug: String,
    currency: String,
    window: Option<WindowView>,
    orders: Vec<OrderRow>,
    past: Vec<PastRow>,
    chart: Option<PriceChart>,
    form: OrderForm,
    /// The reader has never declared income and net worth: the form asks for them with a buy.
    asks_declaration: bool,
    /// The reader's shares that may be offered now.
    sellable: Option<i64>,
    /// The reader is the company's founder: the page offers to schedule a window.
    is_issuer: bool,
}

fn state_key(state: AuctionState) -> &'static str {
    match state {
        AuctionState::Scheduled => "market.state.scheduled",
        AuctionState::Open => "market.state.open",
        AuctionState::Closed => "market.state.closed",
        AuctionState::Halted => "market.state.halted",
        AuctionState::Cleared => "market.state.cleared",
    }
}

fn order_row(o: &Order, c: &Chrome, window_open: bool) -> OrderRow {
    let t = c.t;
    let filled = o.filled.map(|f| {
        t.fill(
            "market.filled",
            &[
                ("filled", &f.to_string()),
                ("shares", &o.shares.to_string()),
                (
                    "price",
                    &o.price
                        .map(|p| c.money(&p, &o.currency))
                        .unwrap_or_else(|| "-".into()),
                ),
            ],
        )
    });
    OrderRow {
        id: o.id.to_string(),
        side_key: match o.side {
            Side::Buy => "market.buy",
            Side::Sell => "market.sell",
        },
        shares: o.shares.to_string(),
        limit: c.money(&o.limit_price, &o.currency),
        state_key: match o.state {
            OrderState::Open => "market.order_state.open",
            OrderState::Cancelled => "market.order_state.cancelled",
            OrderState::Excluded => "market.order_state.excluded",
            OrderState::Cleared => "market.order_state.cleared",
        },
        filled,
        cancellable: o.state == OrderState::Open && window_open,
        placed: c.moment(&o.placed_at),
    }
}

/// The chart's width and height in SVG units, and its margin.
const CHART: (f64, f64, f64) = (600.0, 180.0, 24.0);

fn price_chart(cleared: &[&Auction], c: &Chrome, currency: &str) -> Option<PriceChart> {
    let prices: Vec<rust_decimal::Decimal> = cleared
        .iter()
        .rev()
        .filter_map(|a| a.clearing_price)
        .collect();
    let (low, high) = (prices.iter().min()?, prices.iter().max()?);
    let (w, h, m) = CHART;
    let span = (*high - *low).max(rust_decimal::Decimal::new(1, 2));
    let step = if prices.len() > 1 {
        (w - 2.0 * m) / (prices.len() - 1) as f64
    } else {
        0.0
    };
    let points = prices
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let share: f64 = ((*p - *low) / span).try_into().unwrap_or(0.0);
            format!(
                "{:.1},{:.1}",
                m + step * i as f64,
                h - m - share * (h - 2.0 * m)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(PriceChart {
        points,
        described: c
            .t
            .fill("market.chart_label", &[("n", &prices.len().to_string())]),
        low: c.money(low, currency),
        high: c.money(high, currency),
    })
}

/// Renders the market page of the company `key` for the reader, with `form` as sent.
async fn market_response(
    state: &AppState,
    chrome: Chrome,
    reader: Option<&crate::accounts::AuthUser>,
    key: &str,
    form: OrderForm,
) -> Result<Response> {
    let company = repo::find_by_key(&state.db, key)
        .await?
        .filter(|p| p.kind == ProjectKind::Equity && p.state == ProjectState::Funded)
        .ok_or(Error::NotFound)?;
    let windows = auctions::of_company(&state.db, company.id).await?;
    let current = windows
        .iter()
        .filter(|a| matches!(a.state, AuctionState::Open | AuctionState::Scheduled))
        .min_by_key(|a| a.opens_at);
    let window = match current {
        Some(a) => {
            let indicative = auctions::indicative(&state.db, a).await?.map(|i| {
                chrome.t.fill(
                    "market.indicative",
                    &[
                        ("price", &chrome.money(&i.price, &company.currency)),
                        ("volume", &i.volume.to_string()),
                    ],
                )
            });
            Some(WindowView {
                id: a.id.to_string(),
                state_key: state_key(a.state),
                opens: chrome.moment(&a.opens_at),
                closes: chrome.moment(&a.closes_at),
                indicative,
                open: a.state == AuctionState::Open,
            })
        }
        None => None,
    };
    let open = window.as_ref().is_some_and(|w| w.open);
    let past_windows: Vec<&Auction> = windows
        .iter()
        .filter(|a| matches!(a.state, AuctionState::Cleared | AuctionState::Halted))
        .collect();
    let past = past_windows
        .iter()
        .map(|a| PastRow {
            date: chrome.moment(&a.closes_at),
            price: a
                .clearing_price
                .map(|p| chrome.money(&p, &company.currency))
                .unwrap_or_else(|| chrome.t.get("market.no_trade").to_owned()),
            volume: a.volume.unwrap_or(0).to_string(),
            state_key: state_key(a.state),
        })
        .collect();
    let chart = price_chart(&past_windows, &chrome, &company.currency);
    let (orders, asks_declaration, sellable) = match reader {
        Some(user) => {
            let mine = orders::of_user(&state.db, user.user.id, Some(company.id)).await?;
            let declared = crate::pledges::declared_profile(&state.db, user.user.id).await?;
            let mut conn = state.db.acquire().await?;
            let sellable = holdings::unlocked_shares(
                &mut conn,
                user.user.id,
                company.id,
                state.settings.secondary_lockup_days,
            )
            .await?;
            let rows = mine.iter().map(|o| order_row(o, &chrome, open)).collect();
            (rows, declared.is_none(), Some(sellable))
        }
        None => (Vec::new(), false, None),
    };
    let refused = form.error.is_some() || form.schedule_error.is_some();
    let is_issuer = reader.is_some_and(|u| u.user.id == company.founder_id);
    let mut response = render(&MarketPage {
        chrome,
        company: company.title,
        slug: company.slug,
        currency: company.currency,
        window,
        orders,
        past,
        chart,
        form,
        asks_declaration,
        sellable,
        is_issuer,
    })?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /projects/{key}/market`.
async fn market_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let form = OrderForm {
        side: "buy".into(),
        ..OrderForm::default()
    };
    market_response(&state, chrome, user.as_ref(), &key, form).await
}

#[derive(Deserialize)]
struct OrderFields {
    auction: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    shares: String,
    #[serde(default)]
    limit_price: String,
    #[serde(default)]
    annual_income: String,
    #[serde(default)]
    net_worth: String,
}

impl OrderFields {
    fn order(&self) -> std::result::Result<NewOrder, Error> {
        let side = match self.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(Error::invalid("market.error.side")),
        };
        Ok(NewOrder {
            side,
            shares: Shares::parse(&self.shares)?,
            limit_price: Money::parse(&self.limit_price)?,
        })
    }

    fn declaration(
        &self,
    ) -> std::result::Result<Option<(rust_decimal::Decimal, rust_decimal::Decimal)>, Error> {
        match (self.annual_income.trim(), self.net_worth.trim()) {
            ("", "") => Ok(None),
            (income, worth) => Ok(Some((
                DeclaredAmount::parse(income)?.value(),
                DeclaredAmount::parse(worth)?.value(),
            ))),
        }
    }
}

/// `POST /projects/{key}/market/orders`: places the form's order; a refusal is shown beside
/// the form.
async fn place_order(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(key): Path<String>,
    CsrfForm(fields): CsrfForm<OrderFields>,
) -> Result<Response> {
    let back = format!("/projects/{key}/market");
    let Some(user) = user else {
        return Ok(login_first(&back));
    };
    let placed = async {
        let auction = fields.auction.parse().map_err(|_| Error::NotFound)?;
        let placing = Placing {
            rule: &state.settings.investor_limit_rule,
            lockup_days: state.settings.secondary_lockup_days,
            declaration: fields.declaration()?,
            key: None,
        };
        orders::place(&state.db, user.user.id, auction, fields.order()?, placing).await
    };
    match placed.await {
        Ok(_) => Ok(Redirect::to(&with_notice(&back, "order_placed")).into_response()),
        Err(e @ (Error::Database(_) | Error::Internal(_))) => Err(e.into()),
        Err(e) => {
            let form = OrderForm {
                side: fields.side,
                shares: fields.shares,
                limit_price: fields.limit_price,
                error: Some(e.message().in_lang(chrome.t)),
                schedule_error: None,
            };
            market_response(&state, chrome, Some(&user), &key, form).await
        }
    }
}

#[derive(Deserialize)]
struct CancelFields {
    #[serde(default)]
    back: String,
}

/// `POST /orders/{id}/cancel`: cancels the reader's open order and returns to its market.
async fn cancel_order(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<OrderId>,
    CsrfForm(fields): CsrfForm<CancelFields>,
) -> Result<Response> {
    orders::cancel(&state.db, user.user.id, id).await?;
    // Only a path on this site, so the form cannot send the reader elsewhere.
    let back = if fields.back.starts_with('/') && !fields.back.starts_with("//") {
        fields.back
    } else {
        "/me/holdings".to_owned()
    };
    Ok(Redirect::to(&with_notice(&back, "order_cancelled")).into_response())
}

#[derive(Deserialize)]
struct WindowFields {
    #[serde(default)]
    opens_in_hours: String,
    #[serde(default)]
    lasts_hours: String,
}

impl WindowFields {
    /// The window these fields describe, from now: whole hours, checked by [`auctions::Window`].
    fn window(&self) -> std::result::Result<auctions::Window, Error> {
        let hours = |raw: &str| {
            raw.trim()
                .parse::<u16>()
                .map_err(|_| Error::invalid("market.error.hours"))
        };
        let now = time::OffsetDateTime::now_utc();
        let opens = now + time::Duration::hours(i64::from(hours(&self.opens_in_hours)?));
        let closes = opens + time::Duration::hours(i64::from(hours(&self.lasts_hours)?));
        auctions::Window::new(opens, closes, now)
    }
}

/// `POST /projects/{key}/market/auctions`: the company's founder schedules a window.
async fn schedule_auction(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    CsrfForm(fields): CsrfForm<WindowFields>,
) -> Result<Response> {
    let back = format!("/projects/{key}/market");
    let scheduled = async {
        let company = repo::find_by_key(&state.db, &key)
            .await?
            .ok_or(Error::NotFound)?;
        auctions::schedule(&state.db, user.user.id, company.id, fields.window()?).await
    };
    match scheduled.await {
        Ok(_) => Ok(Redirect::to(&with_notice(&back, "auction_scheduled")).into_response()),
        Err(e @ (Error::Database(_) | Error::Internal(_) | Error::NotFound | Error::Forbidden)) => {
            Err(e.into())
        }
        Err(e) => {
            let form = OrderForm {
                side: "buy".into(),
                schedule_error: Some(e.message().in_lang(chrome.t)),
                ..OrderForm::default()
            };
            market_response(&state, chrome, Some(&user), &key, form).await
        }
    }
}

/// `GET /projects/{key}/market/holders.csv`: the company's register after every settled trade,
/// for its founder (anyone else: not found).
async fn holders_csv(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let company = repo::find_by_key(&state.db, &key)
        .await?
        .filter(|p| p.kind == ProjectKind::Equity && p.founder_id == user.user.id)
        .ok_or(Error::NotFound)?;
    let body = holdings::register_csv_text(&state.db, company.id, chrome.lang).await?;
    Ok(csv_attachment(&format!("holders-{}.csv", company.id), body))
}
