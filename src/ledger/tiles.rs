//! The ledger as C2SP tlog-tiles, read-only, under `/ledger/tlog/`: the checkpoint, Merkle tiles
//! `tile/<L>/<N>[.p/<W>]` and entry bundles `tile/entries/<N>[.p/<W>]`, so that any standard
//! client can audit the log without our API.
//!
//! A tile of level `L` holds Merkle hashes of level `8L`, which are exactly the stored hashes of
//! complete subtrees (`ledger_leaves.leaf_hash` at level 0, `ledger_nodes` above): a tile is one
//! indexed range read, never a rebuild. Our entry is the 32-byte `tx_hash` (the leaf input).

/// Hashes in a full tile (the tile height is 8).
pub const TILE_WIDTH: u64 = 256;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    /// `None` for an entry bundle, else the tile's level (0 to 63).
    pub level: Option<u8>,
    /// The tile's index within its level.
    pub index: u64,
    /// The width of a partial tile; `None` for a full one.
    pub width: Option<u8>,
}

/// A decimal with no leading zeroes.
fn decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty() && (text == "0" || !text.starts_with('0'));
    (canonical && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `N` as the spec writes it: zero-padded 3-digit elements, all but the last with an `x`.
pub fn encode_index(mut index: u64) -> String {
    let mut parts = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        parts.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

impl TilePath {
    /// Parses the part after `tile/`; only the canonical spelling of a path is accepted.
    pub fn parse(path: &str) -> Option<Self> {
        let (path, width) = match path.split_once(".p/") {
            Some((path, w)) => {
                let w = decimal(w).filter(|w| (1..TILE_WIDTH).contains(w))?;
                (path, Some(w as u8))
            }
            None => (path, None),
        };
        let (level, index) = path.split_once('/')?;
        let level = match level {
            "entries" => None,
            l => Some(decimal(l).filter(|l| *l <= 63)? as u8),
        };
        let mut n: u64 = 0;
        for (i, part) in index.split('/').enumerate() {
            let last = i == index.split('/').count() - 1;
            let digits = if last { part } else { part.strip_prefix('x')? };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
        }
        (encode_index(n) == index).then_some(Self {
            level,
            index: n,
            width,
        })
    }

    /// The path after `tile/` (the inverse of [`TilePath::parse`]).
    pub fn to_path(&self) -> String {
        let level = self
            .level
            .map_or_else(|| "entries".to_owned(), |l| l.to_string());
        let mut path = format!("{level}/{}", encode_index(self.index));
        if let Some(width) = self.width {
            path.push_str(&format!(".p/{width}"));
        }
        path
    }

    /// The Merkle level of the tile's hashes (entries are leaves).
    pub fn merkle_level(&self) -> u32 {
        8 * u32::from(self.level.unwrap_or(0))
    }

    /// The number of hashes or entries the tile holds.
    fn count(&self) -> u64 {
        self.width.map_or(TILE_WIDTH, u64::from)
    }

    /// The range of stored hashes (at [`Self::merkle_level`]) the tile is made of, when every
    /// one of them covers leaves within a tree of `size`.
    pub fn hash_range(&self, size: u64) -> Option<(u64, u64)> {
        let start = self.index.checked_mul(TILE_WIDTH)?;
        let end = start.checked_add(self.count())?;
        let covered = end.checked_mul(1u64.checked_shl(self.merkle_level())?)?;
        (covered <= size).then_some((start, end))
    }
}

/// The bytes of `tile`, or `None` when the latest signed tree does not hold all of it. One
/// statement reads the signed size and the range, so both come from one snapshot.
pub async fn read(db: &sqlx::PgPool, tile: &TilePath) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let Some((start, end)) = tile
        .hash_range(u64::MAX)
        .filter(|(_, e)| *e <= i64::MAX as u64)
    else {
        return Ok(None);
    };
    let range = match tile.level {
        None => "SELECT tx_hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        Some(0) => "SELECT leaf_hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        Some(_) => {
            "SELECT hash FROM ledger_nodes WHERE level = $3 AND idx >= $1 AND idx < $2 ORDER BY idx"
        }
    };
    let sql =
        format!("SELECT (SELECT coalesce(max(size), 0) FROM ledger_checkpoints), ARRAY({range})");
    let (size, hashes): (i64, Vec<Vec<u8>>) = sqlx::query_as(&sql)
        .bind(start as i64)
        .bind(end as i64)
        .bind(tile.merkle_level() as i16)
        .fetch_one(db)
        .await?;
    if tile.hash_range(size as u64).is_none() {
        return Ok(None);
    }
    if hashes.len() as u64 != end - start || hashes.iter().any(|h| h.len() != 32) {
        return Err(sqlx::Error::Protocol(format!(
            "the stored tree lacks hashes of tile {tile:?}"
        )));
    }
    Ok(Some(match tile.level {
        // Each entry is a big-endian uint16 length, then the 32-byte tx_hash.
        None => hashes
            .iter()
            .flat_map(|h| [0u8, 32].into_iter().chain(h.iter().copied()))
            .collect(),
        Some(_) => hashes.concat(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_written_as_the_spec_writes_them() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(67), "067");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(1000), "x001/000");
    }

    #[test]
    fn only_canonical_tile_paths_parse() {
        let full = TilePath::parse("0/x001/x234/067").unwrap();
        assert_eq!(
            full,
            TilePath {
                level: Some(0),
                index: 1234067,
                width: None
            }
        );
        let partial = TilePath::parse("entries/005.p/17").unwrap();
        assert_eq!(
            (partial.level, partial.index, partial.width),
            (None, 5, Some(17))
        );
        assert_eq!(TilePath::parse("63/000.p/255").unwrap().level, Some(63));
        for bad in [
            "",
            "0",
            "0/",
            "0/5",
            "0/0005",
            "00/000",
            "64/000",
            "0/x000/005",
            "0/001/002",
            "0/x01/002",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/000.p/",
            "data/000",
            "-1/000",
            "0/000/",
            "0/abc",
            "entries/x000",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_tile_exists_only_when_the_tree_covers_it() {
        // The spec's example: a tree of 70,000 leaves.
        let size = 70_000;
        let tile = |level, index, width| TilePath {
            level,
            index,
            width,
        };
        assert!(tile(Some(0), 272, None).hash_range(size).is_some());
        assert!(tile(Some(0), 273, None).hash_range(size).is_none());
        assert!(tile(Some(0), 273, Some(112)).hash_range(size).is_some());
        assert!(tile(Some(0), 273, Some(113)).hash_range(size).is_none());
        assert!(tile(Some(1), 0, None).hash_range(size).is_some());
        assert!(tile(Some(1), 1, Some(17)).hash_range(size).is_some());
        assert!(tile(Some(1), 1, Some(18)).hash_range(size).is_none());
        assert!(tile(Some(2), 0, Some(1)).hash_range(size).is_some());
        assert!(tile(Some(2), 0, Some(2)).hash_range(size).is_none());
        assert!(tile(None, 273, Some(112)).hash_range(size).is_some());
    }
}
