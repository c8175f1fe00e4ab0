//! The log as C2SP tlog-tiles (`/ledger/tlog/`): the checkpoint with its cosignatures, the
//! Merkle tree as tiles of height 8 and the entries as bundles, all read from the stored
//! subtree hashes (never a rebuild) and only within the latest signed checkpoint.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sqlx::PgPool;

use crate::app::AppState;
use crate::http::error::{Error, Result};

/// Hashes in a full tile (tiles have height 8).
pub const TILE_WIDTH: u64 = 256;
/// The tile height: a level-`L` tile holds Merkle hashes at level `8 L`.
pub const TILE_HEIGHT: u32 = 8;
/// The most `x`-prefixed path elements an index can need (a `u64` has 20 digits).
const MAX_INDEX_ELEMENTS: usize = 7;

/// Full tiles and bundles never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint and partial tiles: "headers SHOULD prevent caching beyond a few seconds".
pub const SHORT_LIVED: &str = "public, max-age=5";

/// Routes of the tiles.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ledger/tlog/checkpoint", get(checkpoint))
        .route("/ledger/tlog/tile/{*path}", get(tile))
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    /// Merkle hashes at level `8 L`.
    Hashes { level: u8 },
    /// The entries under the level-0 tile of the same index.
    Entries,
}

/// A parsed, canonical tile path: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    pub kind: TileKind,
    pub index: u64,
    /// 256 for a full tile, 1 to 255 for a partial one.
    pub width: u64,
}

impl TilePath {
    /// Parses the part of the path after `tile/`, refusing every non-canonical spelling.
    pub fn parse(path: &str) -> Option<Self> {
        let (first, rest) = path.split_once('/')?;
        let kind = if first == "entries" {
            TileKind::Entries
        } else {
            // "<L> MUST be a decimal ASCII integer between 0 and 63, with no additional leading
            // zeroes."
            let level = canonical_decimal(first)?;
            if level > 63 {
                return None;
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                // "<W> is the width of the tile, a decimal ASCII integer between 1 and 255,
                // with no additional leading zeroes."
                let width = canonical_decimal(width)?;
                if !(1..TILE_WIDTH).contains(&width) {
                    return None;
                }
                (index, width)
            }
            None => (rest, TILE_WIDTH),
        };
        Some(Self {
            kind,
            index: parse_index(index_part)?,
            width,
        })
    }

    /// The path after `tile/` (the inverse of [`TilePath::parse`]).
    pub fn to_path(&self) -> String {
        let head = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("{head}/{}", format_index(self.index));
        if self.width < TILE_WIDTH {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// The Merkle level of the hashes (entries stand on level 0).
    pub fn merkle_level(&self) -> u32 {
        match self.kind {
            TileKind::Hashes { level } => TILE_HEIGHT * u32::from(level),
            TileKind::Entries => 0,
        }
    }

    /// The hashes at [`Self::merkle_level`] this tile holds, as `[first, end)`, and how many
    /// leaves a tree needs for all of them to exist; `None` when no tree of `u64` size could.
    fn span(&self) -> Option<(u64, u64, u64)> {
        let first = self.index.checked_mul(TILE_WIDTH)?;
        let end = first.checked_add(self.width)?;
        let level = self.merkle_level();
        if level >= 64 {
            return None;
        }
        let leaves_needed = end.checked_mul(1u64 << level)?;
        Some((first, end, leaves_needed))
    }
}

/// "zero-padded 3-digit path elements. All but the last path element MUST begin with an x."
/// The shortest spelling only: `x000/...` is a leading zero and is refused.
fn parse_index(text: &str) -> Option<u64> {
    let elements: Vec<&str> = text.split('/').collect();
    if elements.len() > MAX_INDEX_ELEMENTS {
        return None;
    }
    let (last, prefix) = elements.split_last()?;
    let mut index: u64 = 0;
    for (i, element) in prefix.iter().enumerate() {
        let digits = element.strip_prefix('x')?;
        let group = three_digits(digits)?;
        if i == 0 && group == 0 {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(group)?;
    }
    index.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(text: &str) -> Option<u64> {
    if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A decimal with no sign and no leading zero (`0` itself is fine).
fn canonical_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || text.len() > 3
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

/// `1234067` as `x001/x234/067`.
pub fn format_index(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}")
            } else {
                format!("{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The size of the latest signed checkpoint (0 before the first leaf).
async fn signed_size(db: &PgPool) -> Result<u64, sqlx::Error> {
    let size: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(size), 0)::bigint FROM ledger_checkpoints")
            .fetch_one(db)
            .await?;
    Ok(size as u64)
}

/// The bytes of a tile: its hashes concatenated, or its entries each behind a big-endian
/// uint16 length. `None` when the tile reaches past `size` leaves.
pub async fn read(db: &PgPool, tile: TilePath, size: u64) -> Result<Option<Vec<u8>>> {
    let Some((first, end, needed)) = tile.span() else {
        return Ok(None);
    };
    if needed > size {
        return Ok(None);
    }
    let rows: Vec<Vec<u8>> = match tile.kind {
        TileKind::Entries => {
            sqlx::query_scalar(
                "SELECT tx_hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(first as i64)
            .bind(end as i64)
            .fetch_all(db)
            .await?
        }
        TileKind::Hashes { level: 0 } => {
            sqlx::query_scalar(
                "SELECT leaf_hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(first as i64)
            .bind(end as i64)
            .fetch_all(db)
            .await?
        }
        TileKind::Hashes { .. } => {
            sqlx::query_scalar(
                "SELECT hash FROM ledger_nodes
                 WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
            )
            .bind(tile.merkle_level() as i16)
            .bind(first as i64)
            .bind(end as i64)
            .fetch_all(db)
            .await?
        }
    };
    if rows.len() as u64 != tile.width || rows.iter().any(|r| r.len() != 32) {
        return Err(super::store::StoreError::Corrupt(format!(
            "tile {} is missing stored hashes",
            tile.to_path()
        ))
        .into());
    }
    let mut body = Vec::with_capacity(rows.len() * 34);
    for row in rows {
        if tile.kind == TileKind::Entries {
            // "big-endian uint16 length-prefixed log entries": ours are 32-byte tx hashes.
            body.extend_from_slice(&(row.len() as u16).to_be_bytes());
        }
        body.extend_from_slice(&row);
    }
    Ok(Some(body))
}

fn not_found(text: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, SHORT_LIVED),
        ],
        text,
    )
        .into_response()
}

/// `GET /ledger/tlog/checkpoint`: the latest checkpoint with its cosignatures.
async fn checkpoint(State(state): State<AppState>) -> Result<Response> {
    let (_, note) = super::cosignatures::published(&state.db, None)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, SHORT_LIVED),
        ],
        note,
    )
        .into_response())
}

/// `GET /ledger/tlog/tile/<L>/<N>[.p/<W>]` and `/ledger/tlog/tile/entries/<N>[.p/<W>]`.
async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> Result<Response> {
    let Some(tile) = TilePath::parse(&path) else {
        return Ok(not_found(
            "not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], \
             N in x-prefixed 3-digit elements, no leading zeros, 1 <= W <= 255\n",
        ));
    };
    let size = signed_size(&state.db).await?;
    let Some(body) = read(&state.db, tile, size).await? else {
        return Ok(not_found(
            "this tile is not within the latest signed checkpoint\n",
        ));
    };
    let cache = if tile.width == TILE_WIDTH {
        IMMUTABLE
    } else {
        SHORT_LIVED
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> Option<TilePath> {
        TilePath::parse(path)
    }

    #[test]
    fn index_is_written_in_x_prefixed_groups_of_three() {
        assert_eq!(format_index(0), "000");
        assert_eq!(format_index(67), "067");
        assert_eq!(format_index(1234067), "x001/x234/067");
        assert_eq!(format_index(1000), "x001/000");
        assert_eq!(format_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn canonical_paths_round_trip() {
        for path in [
            "0/000",
            "0/x001/x234/067",
            "1/000.p/1",
            "63/x018/x446/x744/x073/x709/x551/615",
            "entries/005",
            "entries/x001/000.p/255",
        ] {
            let tile = parse(path).unwrap_or_else(|| panic!("{path} should parse"));
            assert_eq!(tile.to_path(), path);
        }
        assert_eq!(
            parse("2/x001/x234/067.p/112"),
            Some(TilePath {
                kind: TileKind::Hashes { level: 2 },
                index: 1234067,
                width: 112
            })
        );
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for path in [
            "00/000",
            "01/000",
            "64/000",
            "-1/000",
            "+1/000",
            "0/0",
            "0/00",
            "0/0000",
            "0/x000/001",
            "0/001/001",
            "0/x1/001",
            "0/x001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/01",
            "0/000.p/",
            "0/000.p",
            "0/000/",
            "0/",
            "0",
            "entries",
            "entry/000",
            "0/x018/x446/x744/x073/x709/x551/616",
            "0/x001/x001/x001/x001/x001/x001/x001/001",
            "0/000.p/1/2",
        ] {
            assert_eq!(parse(path), None, "{path} should be refused");
        }
    }

    #[test]
    fn a_tile_needs_every_leaf_under_its_hashes() {
        let full = parse("0/001").unwrap();
        assert_eq!(full.span(), Some((256, 512, 512)));
        let partial = parse("1/000.p/3").unwrap();
        assert_eq!(partial.span(), Some((0, 3, 768)));
        assert_eq!(parse("8/000.p/1").unwrap().span(), None);
        assert_eq!(
            parse("0/x018/x446/x744/x073/x709/x551/615").unwrap().span(),
            None
        );
    }
}
