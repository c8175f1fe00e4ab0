//! The command-line verifiers and the auditor: they use only the pure ledger code and HTTP,
//! never the database, so anyone can run them against any Zhonglian server.

pub mod auction;
pub mod audit;
pub mod follow;

use std::path::Path;

use crate::ledger::checkpoint::Verifier;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::policy::{Evaluation, Policy, WitnessOutcome};
use crate::ledger::receipt::{self, Receipt};
use crate::ledger::tlog_proof::{self, TlogProof};

/// What `verify-receipt` trusts: a log key alone, or a trust policy with its quorum.
pub enum Trust<'a> {
    Key(&'a str),
    Policy(&'a Path),
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_step(ok: bool, name: &str, detail: &str) {
    println!("{} {name}: {detail}", if ok { "ok  " } else { "FAIL" });
}

/// Loads the trust: a policy file, or a key as the policy `log KEY` / `quorum none`.
pub fn load_policy(trust: &Trust<'_>) -> anyhow::Result<Policy> {
    match trust {
        Trust::Policy(file) => {
            Ok(Policy::parse(&read(file)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?)
        }
        Trust::Key(key) => {
            let verifier = Verifier::parse(&read_key(key)?)?;
            Ok(Policy::of(verifier.key().clone(), Vec::new(), true))
        }
    }
}

/// Prints what a policy made of a checkpoint: the log's signature, each known witness, the
/// ignored signers, and the quorum (naming who signed and who did not). True if it holds.
pub fn print_evaluation(evaluation: &Evaluation) -> bool {
    match &evaluation.log {
        Ok(detail) => print_step(true, "log", detail),
        Err(e) => print_step(false, "log", e),
    }
    for (name, outcome) in &evaluation.witnesses {
        let detail = match outcome {
            WitnessOutcome::Signed(t) => format!("cosigned at {t}"),
            WitnessOutcome::Failed(why) => why.clone(),
            WitnessOutcome::Missing => "no cosignature".to_owned(),
        };
        let ok = matches!(outcome, WitnessOutcome::Signed(_));
        print_step(ok, &format!("witness {name}"), &detail);
    }
    for name in &evaluation.unknown {
        if evaluation
            .checkpoint
            .as_ref()
            .is_none_or(|c| &c.origin != name)
        {
            println!("note {name}: not in the policy, ignored");
        }
    }
    let list = |names: Vec<&str>| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    print_step(
        evaluation.quorum_met,
        "quorum",
        &format!(
            "{}; signed: {}; not signed: {}",
            if evaluation.quorum_met {
                "met"
            } else {
                "NOT met"
            },
            list(evaluation.signed()),
            list(evaluation.unsigned())
        ),
    );
    evaluation.valid()
}

/// `zhonglian verify-receipt FILE (--key KEY | --policy FILE) [--entry FILE]`: checks a JSON
/// receipt or a `.tlog-proof` file, prints each step; true only if all hold. A proof's entry is
/// the `--entry` file when given, else the proof's `extra` line.
pub fn verify_receipt(file: &Path, trust: Trust<'_>, entry: Option<&Path>) -> anyhow::Result<bool> {
    let policy = load_policy(&trust)?;
    let text = read(file)?;
    let valid = if text.starts_with(tlog_proof::HEADER) {
        verify_tlog_proof(&text, &policy, entry)?
    } else {
        verify_json_receipt(&text, &policy)
    };
    println!(
        "{}",
        if valid {
            "receipt is valid"
        } else {
            "receipt is NOT valid"
        }
    );
    Ok(valid)
}

fn verify_tlog_proof(text: &str, policy: &Policy, entry: Option<&Path>) -> anyhow::Result<bool> {
    let proof = match TlogProof::parse(text) {
        Ok(p) => p,
        Err(e) => {
            print_step(false, "parse", &e.to_string());
            return Ok(false);
        }
    };
    let entry = match (entry, &proof.extra) {
        (Some(file), _) => std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?,
        (None, Some(extra)) => extra.clone(),
        (None, None) => anyhow::bail!("the proof carries no entry: give it with --entry FILE"),
    };
    let check = proof.verify(&entry, policy, now());
    let checkpoint_ok = print_evaluation(&check.evaluation);
    match &check.inclusion {
        Ok(()) => print_step(
            true,
            "inclusion",
            &format!(
                "entry {} is leaf {} of the signed tree",
                hex::encode(check.tx_hash),
                proof.index
            ),
        ),
        Err(e) => print_step(false, "inclusion", e),
    }
    Ok(checkpoint_ok && check.valid())
}

fn verify_json_receipt(text: &str, policy: &Policy) -> bool {
    let receipt: Receipt = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            print_step(
                false,
                "parse",
                &format!("the file is not a version 1 receipt: {e}"),
            );
            return false;
        }
    };
    let evaluation = policy.evaluate(&receipt.checkpoint, now());
    let origin = evaluation.checkpoint.as_ref().map(|c| c.origin.clone());
    let log = policy
        .logs()
        .iter()
        .find(|l| Some(l.key.name()) == origin.as_deref())
        .or(policy.logs().first());
    let Some(log) = log.and_then(|l| Verifier::parse(&l.key.to_string()).ok()) else {
        print_step(false, "signature", "the policy names no log");
        return false;
    };
    let steps = receipt::verify(&receipt, &log);
    for step in &steps {
        print_step(step.ok, step.name, &step.detail);
    }
    let witnesses_ok = print_evaluation(&evaluation);
    steps.iter().all(|s| s.ok) && witnesses_ok
}

/// A key given inline, or the path of a file holding it.
fn read_key(key: &str) -> anyhow::Result<String> {
    if key.contains('+') {
        return Ok(key.to_owned());
    }
    std::fs::read_to_string(key).map_err(|e| anyhow::anyhow!("cannot read key file {key}: {e}"))
}

/// Parses a hex hash argument, saying which one is wrong.
pub fn hex_hash(name: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim()).map_err(|_| anyhow::anyhow!("{name} is not hex: {text}"))
}

/// `zhonglian verify-proof inclusion ...`
pub fn verify_inclusion(
    leaf_hash: &str,
    index: u64,
    size: u64,
    root: &str,
    path: &[String],
) -> anyhow::Result<Result<(), String>> {
    let leaf = hex_hash("--leaf-hash", leaf_hash)?;
    let root = hex_hash("--root", root)?;
    let path = path
        .iter()
        .map(|p| hex_hash("a path element", p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(merkle::verify_inclusion(&leaf, index, size, &path, &root).map_err(|e| e.to_string()))
}

/// `zhonglian verify-proof consistency ...`
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &str,
    second_root: &str,
    path: &[String],
) -> anyhow::Result<Result<(), String>> {
    let a = hex_hash("--first-root", first_root)?;
    let b = hex_hash("--second-root", second_root)?;
    let path = path
        .iter()
        .map(|p| hex_hash("a path element", p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(merkle::verify_consistency(first, second, &a, &b, &path).map_err(|e| e.to_string()))
}

/// Parses a 32-byte hex hash.
pub fn parse_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}
