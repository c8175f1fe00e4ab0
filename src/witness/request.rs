//! The body of `POST /add-checkpoint`: `old <size>`, up to 63 base64 consistency proof lines,
//! an empty line, then the checkpoint (a signed note).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::Hash;
use crate::ledger::note::Note;

/// "The client MUST NOT send more than 63 consistency proof lines."
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub note: Note,
    pub checkpoint: Checkpoint,
}

/// A decimal with no leading zeroes (`0` itself allowed).
pub fn parse_size(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl AddCheckpoint {
    /// Parses a request body; the error says what is wrong with it (answered 400).
    pub fn parse(body: &str) -> Result<Self, String> {
        let (head, note) = body
            .split_once("\n\n")
            .ok_or("the body has no empty line before the checkpoint")?;
        let mut lines = head.split('\n');
        let old = lines.next().unwrap_or_default();
        let old_size = old
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or_else(|| format!("the first line must be `old <size>`, not {old:?}"))?;
        let proof = lines
            .map(|line| {
                B64.decode(line)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| format!("the proof line {line:?} is not a base64 hash"))
            })
            .collect::<Result<Vec<Hash>, String>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(format!(
                "{} proof lines, more than {MAX_PROOF_LINES}",
                proof.len()
            ));
        }
        let note = Note::parse(note).map_err(|e| format!("the checkpoint: {e}"))?;
        let checkpoint =
            Checkpoint::parse_body(&note.text).map_err(|e| format!("the checkpoint: {e}"))?;
        Ok(Self {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }

    /// The request body for `note` from `old_size` with `proof` (what a log sends).
    pub fn body(old_size: u64, proof: &[Hash], note: &str) -> String {
        let mut body = format!("old {old_size}\n");
        for hash in proof {
            body.push_str(&B64.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(note);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "zhonglian.test/ledger\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} zhonglian.test/ledger AAAAAAAA\n";

    #[test]
    fn a_request_round_trips() {
        let proof = [[1u8; 32], [2u8; 32]];
        let body = AddCheckpoint::body(1, &proof, NOTE);
        let parsed = AddCheckpoint::parse(&body).unwrap();
        assert_eq!(parsed.old_size, 1);
        assert_eq!(parsed.proof, proof);
        assert_eq!(parsed.checkpoint.size, 2);
        assert_eq!(parsed.note.to_string(), NOTE);
        let no_proof = AddCheckpoint::parse(&AddCheckpoint::body(0, &[], NOTE)).unwrap();
        assert!(no_proof.proof.is_empty());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let line = B64.encode([1u8; 32]);
        for bad in [
            String::new(),
            format!("old 01\n\n{NOTE}"),
            format!("old -1\n\n{NOTE}"),
            format!("old\n\n{NOTE}"),
            format!("new 1\n\n{NOTE}"),
            format!("old 1\nnot base64!\n\n{NOTE}"),
            format!("old 1\nAAAA\n\n{NOTE}"),
            format!("old 1\n{}\n{NOTE}", "x"),
            format!("old 1\n{}\n{NOTE}", format!("{line}\n").repeat(64)),
            "old 1\n\nnot a note\n".to_owned(),
        ] {
            assert!(AddCheckpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("+1"), None);
    }
}
