//! `zhonglian audit`: download every leaf, rebuild the tree, check the signed checkpoint, and
//! check consistency with the checkpoint seen on the previous run.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ledger::checkpoint::Verifier;
use crate::ledger::merkle::{self, CompactRange, Hash};
use crate::ledger::policy::Policy;

/// What the auditor remembers between runs.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditState {
    pub key: String,
    pub size: u64,
    pub root: String,
    pub checkpoint: String,
}

/// How to run an audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub server: String,
    pub state: Option<PathBuf>,
    pub key: Option<String>,
    /// A trust policy: its log's key is trusted (unless `key` is given) and the checkpoint's
    /// cosignatures must meet its quorum.
    pub policy: Option<Policy>,
    /// Leaf pages fetched at once.
    pub concurrency: usize,
    pub progress: bool,
}

/// The outcome: the size checked and every problem found (empty when all holds).
#[derive(Debug)]
pub struct AuditReport {
    pub size: u64,
    pub root: Hash,
    pub problems: Vec<String>,
}

#[derive(Deserialize)]
struct LeafView {
    index: u64,
    tx_hash: String,
    leaf_hash: String,
}

#[derive(Deserialize)]
struct ConsistencyView {
    path: Vec<String>,
}

const PAGE: u64 = 1000;

/// Runs the audit.
pub async fn run(options: &AuditOptions) -> anyhow::Result<AuditReport> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let base = format!("{}/api/v1/ledger", options.server.trim_end_matches('/'));
    let previous: Option<AuditState> = match &options.state {
        Some(path) if path.exists() => Some(serde_json::from_str(&std::fs::read_to_string(path)?)?),
        _ => None,
    };
    let mut problems = Vec::new();

    let server_key = get_text(&client, &format!("{base}/key")).await?;
    let policy_key = options
        .policy
        .as_ref()
        .and_then(|p| p.logs().first())
        .map(|l| l.key.to_string());
    let key = match (options.key.as_ref().or(policy_key.as_ref()), &previous) {
        (Some(k), _) => k.clone(),
        (None, Some(state)) => state.key.clone(),
        (None, None) => {
            eprintln!(
                "note: trusting the server's key on first use: {}",
                server_key.trim()
            );
            server_key.trim().to_owned()
        }
    };
    if key.trim() != server_key.trim() {
        problems.push(format!(
            "the server publishes key {} but the audit expects {}",
            server_key.trim(),
            key.trim()
        ));
    }
    let verifier = Verifier::parse(&key)?;
    let note = get_text(&client, &format!("{base}/checkpoint")).await?;
    let checkpoint = match verifier.verify(&note) {
        Ok(cp) => cp,
        Err(e) => {
            problems.push(format!("checkpoint signature: {e}"));
            return Ok(AuditReport {
                size: 0,
                root: merkle::empty_root(),
                problems,
            });
        }
    };
    if let Some(policy) = &options.policy {
        let evaluation = policy.evaluate(&note, super::now());
        if !super::print_evaluation(&evaluation) {
            problems.push(format!(
                "the checkpoint does not meet the policy's quorum; not signed: {}",
                evaluation.unsigned().join(", ")
            ));
        }
    }
    let size = checkpoint.size;

    let bar = if options.progress {
        indicatif::ProgressBar::new(size)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} leaves ({per_sec}, eta {eta})",
    )?);
    let mut leaf_hashes: Vec<Hash> = Vec::with_capacity(size as usize);
    let mut range = CompactRange::empty();
    let starts: Vec<u64> = (0..size).step_by(PAGE as usize).collect();
    for window in starts.chunks(options.concurrency.max(1)) {
        let mut tasks = tokio::task::JoinSet::new();
        for (slot, &start) in window.iter().enumerate() {
            let end = (start + PAGE).min(size);
            let url = format!("{base}/leaves?start={start}&end={end}");
            let client = client.clone();
            tasks.spawn(async move {
                let leaves: anyhow::Result<Vec<LeafView>> = async {
                    Ok(client
                        .get(&url)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?)
                }
                .await;
                (slot, start, end, leaves)
            });
        }
        let mut pages = Vec::with_capacity(window.len());
        while let Some(done) = tasks.join_next().await {
            pages.push(done?);
        }
        pages.sort_by_key(|(slot, ..)| *slot);
        for (_, start, end, leaves) in pages {
            let leaves = leaves?;
            if leaves.len() as u64 != end - start {
                problems.push(format!(
                    "the server returned {} leaves for [{start}, {end})",
                    leaves.len()
                ));
            }
            for (offset, leaf) in leaves.iter().enumerate() {
                let expected = start + offset as u64;
                if leaf.index != expected {
                    problems.push(format!(
                        "leaf {expected}: the server sent index {}",
                        leaf.index
                    ));
                }
                let Some(tx) = super::parse_hash(&leaf.tx_hash) else {
                    problems.push(format!(
                        "leaf {expected}: tx_hash is not a 32-byte hex hash"
                    ));
                    continue;
                };
                let computed = merkle::leaf_hash(&tx);
                if super::parse_hash(&leaf.leaf_hash) != Some(computed) {
                    problems.push(format!(
                        "leaf {expected}: the stored leaf hash does not match its tx_hash"
                    ));
                }
                leaf_hashes.push(computed);
                range.append(computed, |_, _| {});
            }
            bar.inc(end - start);
        }
    }
    bar.finish_and_clear();

    let root = range.root();
    if root != checkpoint.root {
        problems.push(format!(
            "the rebuilt root {} differs from the signed root {} at size {size}",
            hex::encode(root),
            hex::encode(checkpoint.root)
        ));
        if let Some(index) = locate(&client, &base, &leaf_hashes, &checkpoint.root).await? {
            problems.push(format!(
                "leaf {index} is not the leaf the checkpoint signed"
            ));
        }
    }

    if let Some(state) = &previous {
        let old_root = super::parse_hash(&state.root);
        if state.size > size {
            problems.push(format!(
                "the ledger shrank from {} to {size} leaves since the last audit",
                state.size
            ));
        } else if old_root != Some(merkle::root_of(&leaf_hashes[..state.size as usize])) {
            problems.push(format!(
                "the first {} leaves no longer match the root remembered from the last audit",
                state.size
            ));
        } else if let Some(old_root) = old_root {
            let proof: ConsistencyView = client
                .get(format!(
                    "{base}/proof/consistency?first={}&second={size}",
                    state.size
                ))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let path = hex_path(&proof.path);
            if let Err(e) =
                merkle::verify_consistency(state.size, size, &old_root, &checkpoint.root, &path)
            {
                problems.push(format!(
                    "the checkpoint is not consistent with the last audit's (size {}): {e}",
                    state.size
                ));
            }
        }
    }

    if problems.is_empty() {
        if let Some(path) = &options.state {
            let state = AuditState {
                key: key.trim().to_owned(),
                size,
                root: hex::encode(root),
                checkpoint: note,
            };
            std::fs::write(path, serde_json::to_string_pretty(&state)?)?;
        }
    }
    Ok(AuditReport {
        size,
        root,
        problems,
    })
}

fn hex_path(path: &[String]) -> Vec<Vec<u8>> {
    path.iter()
        .map(|p| hex::decode(p).unwrap_or_default())
        .collect()
}

/// Finds the first leaf that differs from what the checkpoint signed: the smallest prefix whose
/// rebuilt root is not consistent with the signed root (the server's proofs come from its stored
/// subtree hashes, which were fixed when the checkpoint was signed).
async fn locate(
    client: &reqwest::Client,
    base: &str,
    leaves: &[Hash],
    signed_root: &Hash,
) -> anyhow::Result<Option<u64>> {
    let size = leaves.len() as u64;
    let consistent = |m: u64| {
        let url = format!("{base}/proof/consistency?first={m}&second={size}");
        let prefix_root = merkle::root_of(&leaves[..m as usize]);
        async move {
            let proof: ConsistencyView = client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok::<bool, anyhow::Error>(
                merkle::verify_consistency(
                    m,
                    size,
                    &prefix_root,
                    signed_root,
                    &hex_path(&proof.path),
                )
                .is_ok(),
            )
        }
    };
    // Invariant: prefixes of length <= lo are consistent; a prefix of length hi is not.
    let (mut lo, mut hi) = (0u64, size);
    if size == 0 || consistent(size).await? {
        return Ok(None);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if consistent(mid).await? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(hi - 1))
}

async fn get_text(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    Ok(client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}
