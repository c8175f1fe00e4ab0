//! `zhonglian audit --tiles` and `--follow`: audit a log through its C2SP tlog-tiles only. Each
//! new signed checkpoint's leaves come from the entry bundles, are checked against the level-0
//! tiles, and are appended onto the compact range of the last checkpoint seen; the new root
//! must equal the checkpoint's, which also proves the new tree extends the old one. The tiles
//! above level 0 that the new leaves complete are checked too, so a client that trusts them
//! (a Go `tlog.TileHashReader`, a witness) reads the same tree.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ledger::checkpoint::{Checkpoint, Verifier};
use crate::ledger::merkle::{self, CompactRange, Hash};
use crate::ledger::tiles::{TilePath, TILE_WIDTH};

/// The tile height: a level-`L` tile holds Merkle hashes at level `8 L`.
const TILE_HEIGHT: u32 = 8;

/// The tile of `level` (`None`: the entry bundle) and `index` for a tree with `count` hashes in
/// it from the tile's start on (256 or more: a full tile).
fn tile_at(level: Option<u8>, index: u64, count: u64) -> TilePath {
    TilePath {
        level,
        index,
        width: (count < TILE_WIDTH).then_some(count as u8),
    }
}

/// The hashes or entries a tile holds.
fn hashes_in(tile: &TilePath) -> u64 {
    tile.width.map_or(TILE_WIDTH, u64::from)
}

/// How to follow a log.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub server: String,
    pub key: Option<String>,
    /// A trust policy: its log's key is trusted (unless `key` is given), and every checkpoint
    /// must carry its quorum of cosignatures.
    pub policy: Option<crate::ledger::policy::Policy>,
    pub state: Option<PathBuf>,
    /// Tiles fetched at once.
    pub concurrency: usize,
    /// `None`: audit once and return; `Some`: poll the checkpoint this often, for ever.
    pub interval: Option<Duration>,
}

/// What the follower remembers between checkpoints and runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowState {
    pub key: String,
    pub size: u64,
    pub root: String,
    pub checkpoint: String,
    /// The compact range of the tree of `size` leaves, hex, left to right.
    pub frontier: Vec<String>,
}

/// The outcome of one pass: the size reached, the leaves checked, and the first problem.
#[derive(Debug)]
pub struct FollowReport {
    pub size: u64,
    pub root: Hash,
    pub new_leaves: u64,
    pub problem: Option<String>,
}

/// The check a checkpoint note must pass before anything in it is used: today the log's own
/// signature; a trust policy (witness quorum) can take its place.
pub type NoteCheck = Box<dyn Fn(&str) -> Result<Checkpoint, String> + Send + Sync>;

/// A [`NoteCheck`] that accepts notes signed by the log's key.
pub fn log_signature(verifier: Verifier) -> NoteCheck {
    Box::new(move |note| verifier.verify(note).map_err(|e| e.to_string()))
}

/// A [`NoteCheck`] that accepts notes signed by the log's key and cosigned by the policy's
/// quorum; a refusal names the witnesses that did not sign.
pub fn quorum(verifier: Verifier, policy: crate::ledger::policy::Policy) -> NoteCheck {
    Box::new(move |note| {
        let checkpoint = verifier.verify(note).map_err(|e| e.to_string())?;
        let evaluation = policy.evaluate(note, super::now());
        if evaluation.valid() {
            Ok(checkpoint)
        } else {
            Err(format!(
                "the checkpoint does not meet the policy's quorum; not signed: {}",
                evaluation.unsigned().join(", ")
            ))
        }
    })
}

/// Audits once (`interval: None`) or for ever, printing one line per checkpoint. Returns the
/// last report; an error or a problem ends the run.
pub async fn run(options: &FollowOptions) -> anyhow::Result<FollowReport> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let prefix = format!("{}/ledger/tlog/", options.server.trim_end_matches('/'));
    let previous = load_state(options)?;
    let policy_key = options
        .policy
        .as_ref()
        .and_then(|p| p.logs().first())
        .map(|l| l.key.to_string());
    let key = match (&options.key, &previous) {
        (Some(k), _) => super::read_key(k)?.trim().to_owned(),
        (None, Some(state)) => state.key.clone(),
        (None, None) => match policy_key {
            Some(k) => k,
            None => anyhow::bail!("--key or --policy is needed the first time (no state file yet)"),
        },
    };
    if let Some(state) = &previous {
        anyhow::ensure!(
            state.key == key,
            "the state file was written for key {}, not {key}",
            state.key
        );
    }
    let check = match options.policy.clone() {
        Some(policy) => quorum(Verifier::parse(&key)?, policy),
        None => log_signature(Verifier::parse(&key)?),
    };
    let mut follower = Follower::resume(&prefix, client, key, previous, options.concurrency)?;
    loop {
        let report = match (follower.step(&check).await, options.interval) {
            (Ok(report), _) => report,
            // A log that cannot be reached is not a log that lies: a follower tries again.
            (Err(e), Some(interval)) => {
                eprintln!("cannot read the log ({e:#}); trying again");
                tokio::time::sleep(interval).await;
                continue;
            }
            (Err(e), None) => return Err(e),
        };
        match &report.problem {
            Some(problem) => println!("FAIL at size {}: {problem}", report.size),
            None => {
                println!(
                    "checkpoint {} {}: {} new leaves checked through tiles",
                    report.size,
                    hex::encode(report.root),
                    report.new_leaves
                );
                if let Some(path) = &options.state {
                    std::fs::write(path, serde_json::to_string_pretty(&follower.state())?)?;
                }
            }
        }
        match options.interval {
            Some(interval) if report.problem.is_none() => tokio::time::sleep(interval).await,
            _ => return Ok(report),
        }
    }
}

fn load_state(options: &FollowOptions) -> anyhow::Result<Option<FollowState>> {
    match &options.state {
        Some(path) if path.exists() => {
            Ok(Some(serde_json::from_str(&std::fs::read_to_string(path)?)?))
        }
        _ => Ok(None),
    }
}

/// The follower between checkpoints: the tree it has checked, as a compact range.
struct Follower {
    prefix: String,
    client: reqwest::Client,
    key: String,
    range: CompactRange,
    checkpoint: String,
    concurrency: usize,
}

impl Follower {
    fn resume(
        prefix: &str,
        client: reqwest::Client,
        key: String,
        state: Option<FollowState>,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let (range, checkpoint) = match state {
            None => (CompactRange::empty(), String::new()),
            Some(state) => {
                let frontier = state
                    .frontier
                    .iter()
                    .map(|h| super::parse_hash(h))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| anyhow::anyhow!("the state file's frontier is not hex"))?;
                let range = CompactRange::from_frontier(state.size, frontier)?;
                anyhow::ensure!(
                    hex::encode(range.root()) == state.root,
                    "the state file's frontier does not hash to its root"
                );
                (range, state.checkpoint)
            }
        };
        Ok(Self {
            prefix: prefix.to_owned(),
            client,
            key,
            range,
            checkpoint,
            concurrency: concurrency.max(1),
        })
    }

    fn state(&self) -> FollowState {
        FollowState {
            key: self.key.clone(),
            size: self.range.size(),
            root: hex::encode(self.range.root()),
            checkpoint: self.checkpoint.clone(),
            frontier: self.range.frontier().iter().map(hex::encode).collect(),
        }
    }

    fn report(&self, new_leaves: u64, problem: Option<String>) -> FollowReport {
        FollowReport {
            size: self.range.size(),
            root: self.range.root(),
            new_leaves,
            problem,
        }
    }

    /// Reads the checkpoint and checks every leaf it adds. The range moves on only when all
    /// of them hold.
    async fn step(&mut self, check: &NoteCheck) -> anyhow::Result<FollowReport> {
        let note = self.get_text("checkpoint").await?;
        let checkpoint = match check(&note) {
            Ok(cp) => cp,
            Err(e) => return Ok(self.report(0, Some(format!("checkpoint: {e}")))),
        };
        let old = self.range.size();
        if checkpoint.size < old {
            return Ok(self.report(
                0,
                Some(format!(
                    "the log shrank: a signed checkpoint of {} after one of {old}",
                    checkpoint.size
                )),
            ));
        }
        let mut range = self.range.clone();
        let mut completed: BTreeMap<(u8, u64), Hash> = BTreeMap::new();
        let leaves = match self.new_leaves(old, checkpoint.size).await? {
            Ok(leaves) => leaves,
            Err(problem) => return Ok(self.report(0, Some(problem))),
        };
        for leaf in leaves {
            range.append(leaf, |node, hash| {
                if u32::from(node.level) % TILE_HEIGHT == 0 {
                    completed.insert((node.level, node.index), hash);
                }
            });
        }
        if range.root() != checkpoint.root {
            return Ok(self.report(
                0,
                Some(format!(
                    "the tiles rebuild to root {}, the checkpoint of {} signs {} \
                     (or it does not extend the tree of {old})",
                    hex::encode(range.root()),
                    checkpoint.size,
                    hex::encode(checkpoint.root)
                )),
            ));
        }
        if let Some(problem) = self.check_upper_tiles(&completed, checkpoint.size).await? {
            return Ok(self.report(0, Some(problem)));
        }
        self.range = range;
        self.checkpoint = note;
        Ok(self.report(checkpoint.size - old, None))
    }

    /// The leaf hashes of `[old, new)`: each entry in the bundles hashed, and compared with the
    /// level-0 tile the log serves for it.
    async fn new_leaves(&self, old: u64, new: u64) -> anyhow::Result<Result<Vec<Hash>, String>> {
        let mut paths = Vec::new();
        for n in old / TILE_WIDTH..new.div_ceil(TILE_WIDTH) {
            let width = (new - n * TILE_WIDTH).min(TILE_WIDTH);
            paths.push(tile_at(None, n, width));
            paths.push(tile_at(Some(0), n, width));
        }
        let bodies = self.fetch_all(&paths).await?;
        let mut leaves = Vec::with_capacity((new - old) as usize);
        for pair in paths.chunks(2).zip(bodies.chunks(2)) {
            let ([bundle_path, tile_path], [bundle, tile]) = pair else {
                unreachable!("paths come in pairs");
            };
            let entries = match split_bundle(bundle) {
                Some(e) if e.len() as u64 == hashes_in(bundle_path) => e,
                _ => {
                    return Ok(Err(format!(
                        "tile/{} is not {} length-prefixed entries",
                        bundle_path.to_path(),
                        hashes_in(bundle_path)
                    )))
                }
            };
            if tile.len() as u64 != hashes_in(bundle_path) * 32 {
                return Ok(Err(format!(
                    "tile/{} is {} bytes",
                    tile_path.to_path(),
                    tile.len()
                )));
            }
            let start = bundle_path.index * TILE_WIDTH;
            for (i, entry) in entries.iter().enumerate() {
                let index = start + i as u64;
                let leaf = merkle::leaf_hash(entry);
                if tile[i * 32..(i + 1) * 32] != leaf {
                    return Ok(Err(format!(
                        "leaf {index}: the level-0 tile does not hold the hash of the entry"
                    )));
                }
                if index >= old {
                    leaves.push(leaf);
                }
            }
        }
        Ok(Ok(leaves))
    }

    /// Every hash of a tile above level 0 that the new leaves completed, against the tile the
    /// log serves for the new size.
    async fn check_upper_tiles(
        &self,
        completed: &BTreeMap<(u8, u64), Hash>,
        size: u64,
    ) -> anyhow::Result<Option<String>> {
        let mut tiles: BTreeMap<(u8, u64), TilePath> = BTreeMap::new();
        for &(level, index) in completed.keys().filter(|(level, _)| *level > 0) {
            let n = index / TILE_WIDTH;
            let hashes_at_level = size >> level;
            let width = (hashes_at_level - n * TILE_WIDTH).min(TILE_WIDTH);
            let tile_level = (u32::from(level) / TILE_HEIGHT) as u8;
            tiles.insert((level, n), tile_at(Some(tile_level), n, width));
        }
        let paths: Vec<TilePath> = tiles.values().copied().collect();
        let bodies = self.fetch_all(&paths).await?;
        for (((level, n), tile), body) in tiles.iter().zip(&bodies) {
            let tile_width = hashes_in(tile);
            if body.len() as u64 != tile_width * 32 {
                return Ok(Some(format!(
                    "tile/{} is {} bytes",
                    tile.to_path(),
                    body.len()
                )));
            }
            let from = n * TILE_WIDTH;
            for (&(_, index), hash) in completed.range((*level, from)..(*level, from + tile_width))
            {
                let at = ((index - from) * 32) as usize;
                if body[at..at + 32] != *hash {
                    return Ok(Some(format!(
                        "tile/{} holds a wrong hash at position {}",
                        tile.to_path(),
                        index - from
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Fetches tiles, `concurrency` at a time, in the order given.
    async fn fetch_all(&self, paths: &[TilePath]) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut bodies = Vec::with_capacity(paths.len());
        for window in paths.chunks(self.concurrency) {
            let mut tasks = tokio::task::JoinSet::new();
            for (slot, path) in window.iter().enumerate() {
                let url = format!("{}tile/{}", self.prefix, path.to_path());
                let client = self.client.clone();
                tasks.spawn(async move { (slot, get_bytes(&client, &url).await) });
            }
            let mut done = Vec::with_capacity(window.len());
            while let Some(result) = tasks.join_next().await {
                done.push(result?);
            }
            done.sort_by_key(|(slot, _)| *slot);
            for (_, body) in done {
                bodies.push(body?);
            }
        }
        Ok(bodies)
    }

    async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let bytes = get_bytes(&self.client, &format!("{}{path}", self.prefix)).await?;
        Ok(String::from_utf8(bytes)?)
    }
}

async fn get_bytes(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = client.get(url).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    Ok(response.bytes().await?.to_vec())
}

/// The entries of a bundle ("big-endian uint16 length-prefixed log entries"), or `None` when
/// the bytes do not split exactly.
pub fn split_bundle(mut data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::new();
    while !data.is_empty() {
        let (length, rest) = data.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_be_bytes(*length));
        if rest.len() < length {
            return None;
        }
        let (entry, rest) = rest.split_at(length);
        entries.push(entry);
        data = rest;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_split_into_length_prefixed_entries() {
        let bundle = [0, 2, 7, 8, 0, 0, 0, 1, 9];
        let entries = split_bundle(&bundle).unwrap();
        assert_eq!(entries, vec![&[7u8, 8][..], &[][..], &[9][..]]);
        assert_eq!(split_bundle(&[0, 3, 1, 2]), None);
        assert_eq!(split_bundle(&[0]), None);
        assert_eq!(split_bundle(&[]), Some(vec![]));
    }
}
