//! The ledger in PostgreSQL: batched appends sequenced by the head row, and O(log n) roots and
//! proofs from stored complete-subtree hashes.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::entry::NewEntry;
use super::merkle::{self, CompactRange, Hash, NodeId};
use crate::error::{Error, Message, ResultExt};
use crate::ids::UserId;

/// The constraint that keeps one transaction from being logged twice.
const UNIQUE_TX: &str = "ledger_leaves_tx_hash_key";

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A proof or root was asked for a size the ledger has not reached.
    #[error("tree size {requested} is beyond the ledger's size {size}")]
    BeyondSize { requested: u64, size: u64 },
    /// The sizes describe no proof (see [`merkle::ProofError`]).
    #[error("{0}")]
    Proof(#[from] merkle::ProofError),
    /// A transaction of the batch is in the ledger already; the caller's transaction is aborted.
    #[error("a transaction with this hash is already in the ledger")]
    Duplicate,
    /// Stored hashes that cannot be what the append path wrote.
    #[error("the stored tree is inconsistent: {0}")]
    Corrupt(String),
    /// A checkpoint for this size already signs another root.
    #[error("the log already signed a different root for size {0}")]
    Equivocation(u64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// A stored note that does not parse: only a corrupted table holds one.
    pub fn from_note(e: super::note::NoteError) -> Self {
        StoreError::Corrupt(format!("a stored checkpoint note: {e}"))
    }
}

/// The store's refusals come back from [`ResultExt::on_constraint`] as domain errors; its
/// callers match on [`StoreError`], so the one refusal it maps (a duplicate) gets its variant
/// back here.
impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        match e {
            Error::Database(e) => StoreError::Database(e),
            Error::Conflict(_) => StoreError::Duplicate,
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}

/// The head row: the size and its root.
#[derive(sqlx::FromRow)]
struct HeadRow {
    size: i64,
    root: Vec<u8>,
}

/// The head row as an append reads it: the size and the compact range to resume from.
#[derive(sqlx::FromRow)]
struct FrontierRow {
    size: i64,
    frontier: Vec<Vec<u8>>,
}

/// What one batch appended.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Index of the first leaf of the batch.
    pub first_index: u64,
    /// Tree size after the batch.
    pub size: u64,
    /// Root after the batch.
    pub root: Hash,
    /// `tx_hash` of each entry, in order.
    pub tx_hashes: Vec<Hash>,
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

/// Appends a batch inside the caller's transaction. The head row is locked until the caller
/// commits, so concurrent appenders queue up and never leave a gap or a duplicate.
pub async fn append(
    conn: &mut PgConnection,
    entries: &[NewEntry],
    sign: impl FnOnce(u64, &Hash) -> String,
) -> Result<Appended, StoreError> {
    let head: FrontierRow = sqlx::query_as("SELECT size, frontier FROM ledger_head FOR UPDATE")
        .fetch_one(&mut *conn)
        .await?;
    let size = head.size as u64;
    let frontier = head
        .frontier
        .into_iter()
        .map(to_hash)
        .collect::<Result<Vec<_>, _>>()?;
    let mut range = CompactRange::from_frontier(size, frontier)?;

    let n = entries.len();
    let mut idx = Vec::with_capacity(n);
    let mut tx_hashes = Vec::with_capacity(n);
    let mut leaf_hashes = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut texts = Vec::with_capacity(n);
    let mut node_levels: Vec<i16> = Vec::with_capacity(n);
    let mut node_idx: Vec<i64> = Vec::with_capacity(n);
    let mut node_hashes: Vec<Vec<u8>> = Vec::with_capacity(n);
    for (i, entry) in entries.iter().enumerate() {
        let tx = super::entry::tx_hash(&entry.text);
        let leaf = merkle::leaf_hash(&tx);
        idx.push((size + i as u64) as i64);
        tx_hashes.push(tx);
        leaf_hashes.push(leaf.to_vec());
        kinds.push(entry.kind.as_str());
        texts.push(entry.text.as_str());
        range.append(leaf, |node, hash| {
            node_levels.push(node.level as i16);
            node_idx.push(node.index as i64);
            node_hashes.push(hash.to_vec());
        });
    }
    let tx_bytes: Vec<Vec<u8>> = tx_hashes.iter().map(|h| h.to_vec()).collect();
    sqlx::query(
        "INSERT INTO ledger_leaves (idx, tx_hash, leaf_hash, kind, entry)
         SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[])",
    )
    .bind(&idx)
    .bind(&tx_bytes)
    .bind(&leaf_hashes)
    .bind(&kinds)
    .bind(&texts)
    .execute(&mut *conn)
    .await
    .on_constraint(UNIQUE_TX, |_| {
        Error::Conflict(Message::Text(StoreError::Duplicate.to_string()))
    })
    .map_err(StoreError::from)?;
    if !node_levels.is_empty() {
        sqlx::query(
            "INSERT INTO ledger_nodes (level, idx, hash)
             SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
        )
        .bind(&node_levels)
        .bind(&node_idx)
        .bind(&node_hashes)
        .execute(&mut *conn)
        .await?;
    }
    let mut party_tx = Vec::new();
    let mut party_user = Vec::new();
    let mut party_salt = Vec::new();
    for (entry, tx) in entries.iter().zip(&tx_bytes) {
        for (user, salt) in &entry.parties {
            party_tx.push(tx.clone());
            party_user.push(*user);
            party_salt.push(salt.to_vec());
        }
    }
    if !party_tx.is_empty() {
        sqlx::query(
            "INSERT INTO ledger_parties (tx_hash, user_id, salt)
             SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::bytea[])",
        )
        .bind(&party_tx)
        .bind(&party_user)
        .bind(&party_salt)
        .execute(&mut *conn)
        .await?;
    }
    let new_size = range.size();
    let root = range.root();
    let frontier: Vec<Vec<u8>> = range.frontier().iter().map(|h| h.to_vec()).collect();
    sqlx::query("UPDATE ledger_head SET size = $1, root = $2, frontier = $3")
        .bind(new_size as i64)
        .bind(root.to_vec())
        .bind(&frontier)
        .execute(&mut *conn)
        .await?;
    if new_size != size {
        store_checkpoint(conn, new_size, &root, sign(new_size, &root)).await?;
    }
    Ok(Appended {
        first_index: size,
        size: new_size,
        root,
        tx_hashes,
    })
}

/// Stores a signed checkpoint, refusing a second, different root for a size already signed.
async fn store_checkpoint(
    conn: &mut PgConnection,
    size: u64,
    root: &Hash,
    note: String,
) -> Result<(), StoreError> {
    let stored: Vec<u8> = sqlx::query_scalar(
        "WITH ins AS (
             INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3)
             ON CONFLICT (size) DO NOTHING RETURNING root)
         SELECT root FROM ins
         UNION ALL SELECT root FROM ledger_checkpoints WHERE size = $1
         LIMIT 1",
    )
    .bind(size as i64)
    .bind(root.to_vec())
    .bind(note)
    .fetch_one(&mut *conn)
    .await?;
    if stored != root.as_slice() {
        return Err(StoreError::Equivocation(size));
    }
    Ok(())
}

/// The head: current size and root.
pub async fn head(db: impl sqlx::PgExecutor<'_>) -> Result<(u64, Hash), StoreError> {
    let head: HeadRow = sqlx::query_as("SELECT size, root FROM ledger_head")
        .fetch_one(db)
        .await?;
    Ok((head.size as u64, to_hash(head.root)?))
}

/// The current size.
pub async fn size(db: &PgPool) -> Result<u64, sqlx::Error> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head")
        .fetch_one(db)
        .await?;
    Ok(size as u64)
}

/// A stored checkpoint note and the size it signs.
#[derive(sqlx::FromRow)]
struct CheckpointRow {
    size: i64,
    note: String,
}

/// The latest signed checkpoint note, if any leaf was ever appended.
pub async fn latest_checkpoint(db: &PgPool) -> Result<Option<(u64, String)>, StoreError> {
    let row: Option<CheckpointRow> =
        sqlx::query_as("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(db)
            .await?;
    Ok(row.map(|r| (r.size as u64, r.note)))
}

/// One stored subtree hash (level 0: a leaf), or the head as level -1 (`idx` is its size).
#[derive(sqlx::FromRow)]
struct NodeRow {
    level: i16,
    idx: i64,
    hash: Vec<u8>,
}

/// The head and the given subtree hashes, read in one statement (so from one snapshot): a root
/// or proof costs one round trip.
struct Snapshot {
    size: u64,
    root: Hash,
    nodes: HashMap<NodeId, Hash>,
}

impl Snapshot {
    async fn read(db: &PgPool, ids: &[NodeId]) -> Result<Self, StoreError> {
        let (leaves, inner): (Vec<&NodeId>, Vec<&NodeId>) = ids.iter().partition(|n| n.level == 0);
        let leaf_idx: Vec<i64> = leaves.iter().map(|n| n.index as i64).collect();
        let levels: Vec<i16> = inner.iter().map(|n| n.level as i16).collect();
        let inner_idx: Vec<i64> = inner.iter().map(|n| n.index as i64).collect();
        // Level -1 carries the head (size, root).
        let rows: Vec<NodeRow> = sqlx::query_as(
            "SELECT -1::smallint AS level, size AS idx, root AS hash FROM ledger_head
             UNION ALL
             SELECT n.level, n.idx, n.hash
               FROM unnest($1::smallint[], $2::bigint[]) AS q(level, idx)
               JOIN ledger_nodes n USING (level, idx)
             UNION ALL
             SELECT 0::smallint, l.idx, l.leaf_hash FROM ledger_leaves l WHERE l.idx = ANY($3)",
        )
        .bind(&levels)
        .bind(&inner_idx)
        .bind(&leaf_idx)
        .fetch_all(db)
        .await?;
        let mut head = None;
        let mut nodes = HashMap::with_capacity(rows.len());
        for NodeRow { level, idx, hash } in rows {
            let hash = to_hash(hash)?;
            if level < 0 {
                head = Some((idx as u64, hash));
            } else {
                nodes.insert(
                    NodeId {
                        level: level as u8,
                        index: idx as u64,
                    },
                    hash,
                );
            }
        }
        let (size, root) = head.ok_or_else(|| StoreError::Corrupt("no ledger head".into()))?;
        Ok(Self { size, root, nodes })
    }

    fn check_size(&self, requested: u64) -> Result<(), StoreError> {
        if requested > self.size {
            return Err(StoreError::BeyondSize {
                requested,
                size: self.size,
            });
        }
        Ok(())
    }

    fn get(&self, id: NodeId) -> Option<Hash> {
        self.nodes.get(&id).copied()
    }

    /// The root of the first `n` leaves (the nodes of `root_plan(n)` must have been read).
    fn root_at(&self, n: u64) -> Result<Hash, StoreError> {
        if n == self.size {
            return Ok(self.root);
        }
        merkle::root_plan(n)
            .into_iter()
            .map(|id| self.get(id))
            .collect::<Option<Vec<_>>>()
            .map(|parts| merkle::fold_range(&parts))
            .ok_or_else(|| StoreError::Corrupt(format!("missing subtree for size {n}")))
    }
}

/// The root of the tree of the first `size` leaves.
pub async fn root_at(db: &PgPool, size: u64) -> Result<Hash, StoreError> {
    let snapshot = Snapshot::read(db, &merkle::root_plan(size)).await?;
    snapshot.check_size(size)?;
    snapshot.root_at(size)
}

/// An inclusion proof with what it proves.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: Hash,
    pub path: Vec<Hash>,
    pub root: Hash,
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub async fn inclusion(db: &PgPool, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
    let plan = merkle::inclusion_plan(index, size)?;
    let leaf = NodeId { level: 0, index };
    let mut ids = plan.node_ids();
    ids.extend(merkle::root_plan(size));
    ids.push(leaf);
    ids.sort_unstable();
    ids.dedup();
    let snapshot = Snapshot::read(db, &ids).await?;
    snapshot.check_size(size)?;
    let missing = || StoreError::Corrupt("missing subtree for a proof".into());
    Ok(InclusionProof {
        leaf_index: index,
        tree_size: size,
        leaf_hash: snapshot.get(leaf).ok_or_else(missing)?,
        path: plan.assemble(|id| snapshot.get(id)).ok_or_else(missing)?,
        root: snapshot.root_at(size)?,
    })
}

/// The index of a transaction, if it is in the ledger.
pub async fn index_of(db: &PgPool, tx_hash: &Hash) -> Result<Option<u64>, StoreError> {
    let idx: Option<i64> = sqlx::query_scalar("SELECT idx FROM ledger_leaves WHERE tx_hash = $1")
        .bind(tx_hash.to_vec())
        .fetch_optional(db)
        .await?;
    Ok(idx.map(|i| i as u64))
}

/// A consistency proof between two sizes, with both roots.
#[derive(Debug, Clone)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub first_root: Hash,
    pub second_root: Hash,
    pub path: Vec<Hash>,
}

/// The consistency proof from `first` to `second` leaves, with both roots, in one read.
pub async fn consistency(
    db: &PgPool,
    first: u64,
    second: u64,
) -> Result<ConsistencyProof, StoreError> {
    if first > second {
        return Err(merkle::ProofError::FirstExceedsSecond { first, second }.into());
    }
    // Every tree extends the empty tree; RFC 9162 gives that case an empty proof.
    let plan = if first == 0 {
        merkle::ProofPlan::default()
    } else {
        merkle::consistency_plan(first, second)?
    };
    let mut ids = plan.node_ids();
    ids.extend(merkle::root_plan(first));
    ids.extend(merkle::root_plan(second));
    ids.sort_unstable();
    ids.dedup();
    let snapshot = Snapshot::read(db, &ids).await?;
    snapshot.check_size(second)?;
    Ok(ConsistencyProof {
        first,
        second,
        first_root: snapshot.root_at(first)?,
        second_root: snapshot.root_at(second)?,
        path: plan
            .assemble(|id| snapshot.get(id))
            .ok_or_else(|| StoreError::Corrupt("missing subtree for a proof".into()))?,
    })
}

/// One published leaf.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub index: u64,
    pub tx_hash: Hash,
    pub leaf_hash: Hash,
    pub kind: String,
    pub appended_at: OffsetDateTime,
}

/// A row of `ledger_leaves` without its entry text.
#[derive(sqlx::FromRow)]
struct LeafRow {
    idx: i64,
    tx_hash: Vec<u8>,
    leaf_hash: Vec<u8>,
    kind: String,
    appended_at: OffsetDateTime,
}

/// Leaves `[start, end)`.
pub async fn leaves(db: &PgPool, start: u64, end: u64) -> Result<Vec<Leaf>, StoreError> {
    let rows: Vec<LeafRow> = sqlx::query_as(
        "SELECT idx, tx_hash, leaf_hash, kind, appended_at FROM ledger_leaves
         WHERE idx >= $1 AND idx < $2 ORDER BY idx",
    )
    .bind(start as i64)
    .bind(end as i64)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Leaf {
                index: row.idx as u64,
                tx_hash: to_hash(row.tx_hash)?,
                leaf_hash: to_hash(row.leaf_hash)?,
                kind: row.kind,
                appended_at: row.appended_at,
            })
        })
        .collect()
}

/// A stored entry with its position.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub index: u64,
    pub tx_hash: Hash,
    pub kind: String,
    pub text: String,
    pub appended_at: OffsetDateTime,
}

/// A row of `ledger_leaves` with its entry text.
#[derive(sqlx::FromRow)]
struct EntryRow {
    idx: i64,
    kind: String,
    entry: String,
    appended_at: OffsetDateTime,
}

/// The entry with this hash.
pub async fn entry(db: &PgPool, tx_hash: &Hash) -> Result<Option<StoredEntry>, StoreError> {
    let row: Option<EntryRow> = sqlx::query_as(
        "SELECT idx, kind, entry, appended_at FROM ledger_leaves WHERE tx_hash = $1",
    )
    .bind(tx_hash.to_vec())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| StoredEntry {
        index: row.idx as u64,
        tx_hash: *tx_hash,
        kind: row.kind,
        text: row.entry,
        appended_at: row.appended_at,
    }))
}

/// The salt of `user`'s commitment in the entry, if they are one of its parties.
pub async fn party_salt(
    db: &PgPool,
    tx_hash: &Hash,
    user: UserId,
) -> Result<Option<[u8; 32]>, StoreError> {
    let salt: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT salt FROM ledger_parties WHERE tx_hash = $1 AND user_id = $2")
            .bind(tx_hash.to_vec())
            .bind(user)
            .fetch_optional(db)
            .await?;
    salt.map(to_hash).transpose()
}

/// Signs the current head if it has no checkpoint yet (a fresh ledger, or data from before the
/// key was configured).
pub async fn ensure_checkpoint(
    db: &PgPool,
    sign: impl FnOnce(u64, &Hash) -> String,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let head: HeadRow = sqlx::query_as("SELECT size, root FROM ledger_head FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    let (size, root) = (head.size, to_hash(head.root)?);
    let signed: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ledger_checkpoints WHERE size = $1)")
            .bind(size)
            .fetch_one(&mut *tx)
            .await?;
    if !signed {
        store_checkpoint(&mut tx, size as u64, &root, sign(size as u64, &root)).await?;
    }
    tx.commit().await?;
    Ok(())
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BeyondSize { .. } | StoreError::Proof(_) => {
                Error::Malformed(Message::Text(e.to_string()))
            }
            StoreError::Duplicate => Error::Conflict(Message::Text(e.to_string())),
            StoreError::Database(e) => Error::Database(e),
            other => Error::Internal(other.into()),
        }
    }
}
