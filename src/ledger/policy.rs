//! Trust policies (`c2sp.org/tlog-policy`): which logs and witnesses a verifier knows, and the
//! quorum of cosignatures a checkpoint needs before it is believed. Pure: no I/O.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <name>...
//! quorum <name>|none
//! ```

use std::fmt;

use super::checkpoint::Checkpoint;
use super::note::{KeyType, Note, VerifierKey};

/// Most logs, witnesses and groups one policy may define; the spec recommends supporting at
/// least 32 of each.
pub const MAX_DEFINITIONS: usize = 256;

/// How far in the future (seconds) a cosignature's timestamp may be before it is refused: a
/// witness's clock may run a little ahead of ours, a cosignature from tomorrow is a lie.
pub const MAX_CLOCK_SKEW: u64 = 300;

/// Why a policy file was not accepted; the line number is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("line {0}: only tab, newline and printable characters are allowed")]
    BadCharacter(usize),
    #[error("line {0}: unknown keyword `{1}`")]
    UnknownKeyword(usize, String),
    #[error("line {0}: wrong number of items")]
    Arity(usize),
    #[error("line {0}: the verifier key is not valid: {1}")]
    BadKey(usize, String),
    #[error(
        "line {0}: a log key must be an Ed25519 (0x01) key, a witness key a cosignature (0x04) key"
    )]
    WrongKeyType(usize),
    #[error("line {0}: the same public key is listed twice")]
    DuplicateKey(usize),
    #[error("line {0}: the name `{1}` is already defined or reserved")]
    DuplicateName(usize, String),
    #[error("line {0}: `{1}` is not defined on a preceding line")]
    UndefinedName(usize, String),
    #[error("line {0}: `{1}` is listed twice in the group")]
    DuplicateMember(usize, String),
    #[error("line {0}: a group's threshold must be all, any or a decimal k with 1 <= k <= n")]
    BadThreshold(usize),
    #[error("line {0}: a second quorum line")]
    SecondQuorum(usize),
    #[error("the policy has no quorum line")]
    NoQuorum,
    #[error("the policy defines more than {MAX_DEFINITIONS} logs, witnesses or groups")]
    TooLarge,
}

/// A known log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    pub key: VerifierKey,
    pub url: Option<String>,
}

/// A known witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub name: String,
    pub key: VerifierKey,
    pub url: Option<String>,
}

/// What a group or the quorum refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

/// The threshold as written, so a policy renders back as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threshold {
    All,
    Any,
    AtLeast(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: Threshold,
    members: Vec<Member>,
}

impl Group {
    fn k(&self) -> usize {
        match self.threshold {
            Threshold::All => self.members.len(),
            Threshold::Any => 1,
            Threshold::AtLeast(k) => k,
        }
    }
}

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<Log>,
    witnesses: Vec<Witness>,
    groups: Vec<Group>,
    /// `None` is `quorum none`.
    quorum: Option<Member>,
}

/// A witness the verifier knows, and what became of its cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessOutcome {
    /// A valid cosignature, with its timestamp.
    Signed(u64),
    /// A line under the witness's key that was refused, and why.
    Failed(String),
    /// No line under the witness's key.
    Missing,
}

/// The result of checking a signed checkpoint against a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The checkpoint, when one of the policy's logs signed it validly.
    pub checkpoint: Option<Checkpoint>,
    /// What became of the log's signature, in words.
    pub log: Result<String, String>,
    /// Every witness of the policy, in policy order.
    pub witnesses: Vec<(String, WitnessOutcome)>,
    /// Signature lines under keys the policy does not know (ignored).
    pub unknown: Vec<String>,
    /// Whether the valid cosignatures meet the quorum.
    pub quorum_met: bool,
}

impl Evaluation {
    /// Valid only with a log signature and the quorum met.
    pub fn valid(&self) -> bool {
        self.checkpoint.is_some() && self.quorum_met
    }

    /// The names of the witnesses with a valid cosignature.
    pub fn signed(&self) -> Vec<&str> {
        self.names(|o| matches!(o, WitnessOutcome::Signed(_)))
    }

    /// The names of the witnesses without one (missing or failed).
    pub fn unsigned(&self) -> Vec<&str> {
        self.names(|o| !matches!(o, WitnessOutcome::Signed(_)))
    }

    fn names(&self, keep: impl Fn(&WitnessOutcome) -> bool) -> Vec<&str> {
        self.witnesses
            .iter()
            .filter(|(_, o)| keep(o))
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// The spec's whitespace: ASCII space and tab only.
fn items(line: &str) -> Vec<&str> {
    line.split([' ', '\t']).filter(|s| !s.is_empty()).collect()
}

/// Allowed octets: 0x09, 0x0A, 0x20-0x7E and 0x80-0xFF.
fn allowed(byte: u8) -> bool {
    byte == b'\t' || byte == b'\n' || (0x20..=0x7E).contains(&byte) || byte >= 0x80
}

impl Policy {
    /// Parses a policy file exactly per the spec's grammar. Names are compared as octets
    /// (the spec makes non-ASCII opaque), which is what `str` equality does.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut policy = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            if !line.bytes().all(allowed) {
                return Err(PolicyError::BadCharacter(n));
            }
            let items = items(line);
            let Some((&keyword, rest)) = items.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            match keyword {
                "log" => policy.add_log(n, rest)?,
                "witness" => policy.add_witness(n, rest)?,
                "group" => policy.add_group(n, rest)?,
                "quorum" => {
                    if quorum_seen {
                        return Err(PolicyError::SecondQuorum(n));
                    }
                    let [name] = rest else {
                        return Err(PolicyError::Arity(n));
                    };
                    policy.quorum = match *name {
                        "none" => None,
                        name => Some(policy.lookup(n, name)?),
                    };
                    quorum_seen = true;
                }
                other => return Err(PolicyError::UnknownKeyword(n, other.to_owned())),
            }
            if policy.logs.len() + policy.witnesses.len() + policy.groups.len() > MAX_DEFINITIONS {
                return Err(PolicyError::TooLarge);
            }
        }
        if !quorum_seen {
            return Err(PolicyError::NoQuorum);
        }
        Ok(policy)
    }

    /// A policy of one log and these witnesses; the quorum is all of them (`all`) or any one,
    /// a single witness itself, and `quorum none` without witnesses.
    pub fn of(log: VerifierKey, witnesses: Vec<Witness>, all: bool) -> Self {
        let members: Vec<Member> = (0..witnesses.len()).map(Member::Witness).collect();
        let (groups, quorum) = match members.len() {
            0 => (Vec::new(), None),
            1 => (Vec::new(), Some(Member::Witness(0))),
            _ => (
                vec![Group {
                    name: "witnesses".into(),
                    threshold: if all { Threshold::All } else { Threshold::Any },
                    members,
                }],
                Some(Member::Group(0)),
            ),
        };
        Policy {
            logs: vec![Log {
                key: log,
                url: None,
            }],
            witnesses,
            groups,
            quorum,
        }
    }

    /// The known logs.
    pub fn logs(&self) -> &[Log] {
        &self.logs
    }

    /// The known witnesses.
    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    fn defined(&self, name: &str) -> bool {
        name == "none"
            || self.witnesses.iter().any(|w| w.name == name)
            || self.groups.iter().any(|g| g.name == name)
    }

    fn lookup(&self, line: usize, name: &str) -> Result<Member, PolicyError> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Ok(Member::Witness(i));
        }
        if let Some(i) = self.groups.iter().position(|g| g.name == name) {
            return Ok(Member::Group(i));
        }
        Err(PolicyError::UndefinedName(line, name.to_owned()))
    }

    fn key(line: usize, text: &str, kind: KeyType) -> Result<VerifierKey, PolicyError> {
        let key = VerifierKey::parse(text).map_err(|e| PolicyError::BadKey(line, e.to_string()))?;
        if key.kind() != kind {
            return Err(PolicyError::WrongKeyType(line));
        }
        Ok(key)
    }

    fn add_log(&mut self, line: usize, rest: &[&str]) -> Result<(), PolicyError> {
        let (key, url) = match rest {
            [key] => (key, None),
            [key, url] => (key, Some((*url).to_owned())),
            _ => return Err(PolicyError::Arity(line)),
        };
        let key = Self::key(line, key, KeyType::Ed25519)?;
        // "Two vkeys are considered duplicate if they wrap the same underlying public key, even
        // if they differ by key name and key id."
        if self
            .logs
            .iter()
            .any(|l| l.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey(line));
        }
        self.logs.push(Log { key, url });
        Ok(())
    }

    fn add_witness(&mut self, line: usize, rest: &[&str]) -> Result<(), PolicyError> {
        let (name, key, url) = match rest {
            [name, key] => (name, key, None),
            [name, key, url] => (name, key, Some((*url).to_owned())),
            _ => return Err(PolicyError::Arity(line)),
        };
        if self.defined(name) {
            return Err(PolicyError::DuplicateName(line, (*name).to_owned()));
        }
        let key = Self::key(line, key, KeyType::Cosignature)?;
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key() == key.public_key())
        {
            return Err(PolicyError::DuplicateKey(line));
        }
        self.witnesses.push(Witness {
            name: (*name).to_owned(),
            key,
            url,
        });
        Ok(())
    }

    fn add_group(&mut self, line: usize, rest: &[&str]) -> Result<(), PolicyError> {
        let [name, threshold, names @ ..] = rest else {
            return Err(PolicyError::Arity(line));
        };
        if names.is_empty() {
            return Err(PolicyError::Arity(line));
        }
        if self.defined(name) {
            return Err(PolicyError::DuplicateName(line, (*name).to_owned()));
        }
        let mut members = Vec::with_capacity(names.len());
        for member in names {
            // `none` "is invalid as a group member".
            let found = self.lookup(line, member)?;
            if members.contains(&found) {
                return Err(PolicyError::DuplicateMember(line, (*member).to_owned()));
            }
            members.push(found);
        }
        let threshold = match *threshold {
            "all" => Threshold::All,
            "any" => Threshold::Any,
            k if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
                let k: usize = k.parse().map_err(|_| PolicyError::BadThreshold(line))?;
                if k < 1 || k > members.len() {
                    return Err(PolicyError::BadThreshold(line));
                }
                Threshold::AtLeast(k)
            }
            _ => return Err(PolicyError::BadThreshold(line)),
        };
        self.groups.push(Group {
            name: (*name).to_owned(),
            threshold,
            members,
        });
        Ok(())
    }

    fn witnessed(&self, member: Member, signed: &[bool]) -> bool {
        match member {
            Member::Witness(i) => signed[i],
            Member::Group(g) => {
                let group = &self.groups[g];
                let count = group
                    .members
                    .iter()
                    .filter(|m| self.witnessed(**m, signed))
                    .count();
                count >= group.k()
            }
        }
    }

    /// Checks a signed checkpoint: one of the policy's logs whose key name is the origin must
    /// have signed it, and the valid cosignatures (timestamps at most `MAX_CLOCK_SKEW` past
    /// `now`, in Unix seconds) must meet the quorum. Lines under unknown keys are ignored.
    pub fn evaluate(&self, note: &str, now: u64) -> Evaluation {
        let mut evaluation = Evaluation {
            checkpoint: None,
            log: Err("the checkpoint is not a signed note".into()),
            witnesses: Vec::new(),
            unknown: Vec::new(),
            quorum_met: false,
        };
        let Ok(note) = Note::parse(note) else {
            return evaluation;
        };
        let Ok(checkpoint) = Checkpoint::parse_body(&note.text) else {
            evaluation.log = Err("the checkpoint's text is not origin, size and root".into());
            return evaluation;
        };
        // "The log's vkey includes a key name. This name MUST correspond to the log's origin."
        let log = self.logs.iter().find(|l| l.key.name() == checkpoint.origin);
        evaluation.log = match log.map(|l| l.key.verify(&note)) {
            None => Err(format!(
                "no log of the policy has origin {}",
                checkpoint.origin
            )),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(_)) => Ok(format!("signed by log {}", checkpoint.origin)),
        };
        let mut signed = Vec::with_capacity(self.witnesses.len());
        for witness in &self.witnesses {
            let outcome = witness_outcome(&witness.key, &note, now);
            signed.push(matches!(outcome, WitnessOutcome::Signed(_)));
            evaluation.witnesses.push((witness.name.clone(), outcome));
        }
        evaluation.unknown = note
            .signatures
            .iter()
            .filter(|line| {
                !self.logs.iter().any(|l| l.key.owns(line))
                    && !self.witnesses.iter().any(|w| w.key.owns(line))
            })
            .map(|line| line.name.clone())
            .collect();
        evaluation.quorum_met = match self.quorum {
            None => true,
            Some(member) => self.witnessed(member, &signed),
        };
        if evaluation.log.is_ok() {
            evaluation.checkpoint = Some(checkpoint);
        }
        evaluation
    }
}

fn witness_outcome(key: &VerifierKey, note: &Note, now: u64) -> WitnessOutcome {
    let mut outcome = WitnessOutcome::Missing;
    for line in note.signatures.iter().filter(|l| key.owns(l)) {
        match key.check(&note.text, line) {
            Ok(Some(t)) if t > now.saturating_add(MAX_CLOCK_SKEW) => {
                outcome = WitnessOutcome::Failed(format!("timestamp {t} is in the future"));
            }
            Ok(t) => return WitnessOutcome::Signed(t.unwrap_or(0)),
            Err(e) => outcome = WitnessOutcome::Failed(e.to_string()),
        }
    }
    outcome
}

impl fmt::Display for Policy {
    /// Renders the policy in the spec's form (logs, witnesses, groups, then the quorum).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_url =
            |url: &Option<String>| url.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
        for log in &self.logs {
            writeln!(f, "log {}{}", log.key, with_url(&log.url))?;
        }
        for w in &self.witnesses {
            writeln!(f, "witness {} {}{}", w.name, w.key, with_url(&w.url))?;
        }
        let name = |m: &Member| match *m {
            Member::Witness(i) => self.witnesses[i].name.as_str(),
            Member::Group(g) => self.groups[g].name.as_str(),
        };
        for g in &self.groups {
            let threshold = match g.threshold {
                Threshold::All => "all".to_owned(),
                Threshold::Any => "any".to_owned(),
                Threshold::AtLeast(k) => k.to_string(),
            };
            let members: Vec<&str> = g.members.iter().map(name).collect();
            writeln!(f, "group {} {threshold} {}", g.name, members.join(" "))?;
        }
        match &self.quorum {
            None => writeln!(f, "quorum none"),
            Some(m) => writeln!(f, "quorum {}", name(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Signer;
    use crate::ledger::note::NoteSigner;

    const NOW: u64 = 1_800_000_000;

    fn log() -> Signer {
        Signer::new("zhonglian.test/ledger", [1u8; 32])
    }

    fn witness(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, KeyType::Cosignature, [seed; 32])
    }

    /// The spec's example policy, with real keys in place of `<vkey>`.
    fn example() -> (String, Vec<NoteSigner>) {
        let names = ["X1", "X2", "X3", "Y1", "Y2", "Y3"];
        let signers: Vec<NoteSigner> = names
            .iter()
            .enumerate()
            .map(|(i, n)| witness(&format!("{}.example", n.to_lowercase()), 10 + i as u8))
            .collect();
        let key = |i: usize| signers[i].verifier_key().to_string();
        let text = format!(
            "log {}\n\nwitness X1 {}\nwitness X2 {}\nwitness X3 {}\ngroup X-witnesses 2 X1 X2 X3\n\n\
             witness Y1 {}\nwitness Y2 {}\nwitness Y3 {}\ngroup Y-witnesses any Y1 Y2 Y3\n\n\
             group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
            log().verifier_key(),
            key(0),
            key(1),
            key(2),
            key(3),
            key(4),
            key(5)
        );
        (text, signers)
    }

    fn checkpoint(cosigners: &[&NoteSigner], timestamp: u64) -> String {
        let signed = log().sign(5, &[9u8; 32]);
        let mut note = Note::parse(&signed).unwrap();
        for w in cosigners {
            let line = w.sign(&note.text, timestamp);
            note.add(line);
        }
        note.to_string()
    }

    #[test]
    fn the_spec_example_parses_and_renders_back() {
        let (text, _) = example();
        let policy = Policy::parse(&text).unwrap();
        assert_eq!(policy.logs().len(), 1);
        assert_eq!(policy.witnesses().len(), 6);
        assert_eq!(Policy::parse(&policy.to_string()).unwrap(), policy);
    }

    #[test]
    fn two_x_and_one_y_meet_the_example_quorum() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let evaluation = policy.evaluate(&checkpoint(&[&w[0], &w[2], &w[4]], NOW), NOW);
        assert!(evaluation.valid(), "{evaluation:?}");
        assert_eq!(evaluation.signed(), vec!["X1", "X3", "Y2"]);
        assert_eq!(evaluation.unsigned(), vec!["X2", "Y1", "Y3"]);
    }

    #[test]
    fn one_x_and_all_y_do_not_meet_the_example_quorum() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let evaluation = policy.evaluate(&checkpoint(&[&w[0], &w[3], &w[4], &w[5]], NOW), NOW);
        assert!(evaluation.checkpoint.is_some());
        assert!(!evaluation.quorum_met);
        assert!(!evaluation.valid());
    }

    #[test]
    fn a_bad_cosignature_does_not_count() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let good = checkpoint(&[&w[0], &w[3]], NOW);
        // X2 signs another checkpoint; its line is pasted under this one.
        let other = Note::parse(&log().sign(6, &[8u8; 32])).unwrap();
        let mut note = Note::parse(&good).unwrap();
        note.add(w[1].sign(&other.text, NOW));
        let evaluation = policy.evaluate(&note.to_string(), NOW);
        assert!(!evaluation.quorum_met);
        assert!(matches!(
            evaluation.witnesses[1].1,
            WitnessOutcome::Failed(_)
        ));
    }

    #[test]
    fn a_cosignature_from_the_future_is_refused() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let note = checkpoint(&[&w[0], &w[1], &w[3]], NOW + MAX_CLOCK_SKEW + 1);
        let evaluation = policy.evaluate(&note, NOW);
        assert!(!evaluation.quorum_met);
        let skewed = checkpoint(&[&w[0], &w[1], &w[3]], NOW + MAX_CLOCK_SKEW);
        assert!(policy.evaluate(&skewed, NOW).valid());
    }

    #[test]
    fn an_unknown_witness_is_ignored() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let stranger = witness("stranger.example", 99);
        let evaluation = policy.evaluate(&checkpoint(&[&w[0], &w[1], &stranger, &w[5]], NOW), NOW);
        assert!(evaluation.valid());
        assert_eq!(evaluation.unknown, vec!["stranger.example".to_owned()]);
    }

    #[test]
    fn a_checkpoint_of_another_log_is_refused() {
        let (text, w) = example();
        let policy = Policy::parse(&text).unwrap();
        let other = Signer::new("zhonglian.test/ledger", [2u8; 32]);
        let mut note = Note::parse(&other.sign(5, &[9u8; 32])).unwrap();
        for s in [&w[0], &w[1], &w[3]] {
            let line = s.sign(&note.text, NOW);
            note.add(line);
        }
        let evaluation = policy.evaluate(&note.to_string(), NOW);
        assert!(evaluation.log.is_err());
        assert!(!evaluation.valid());
    }

    #[test]
    fn quorum_none_needs_only_the_log() {
        let text = format!("# offline\n  log {}  \nquorum none\n", log().verifier_key());
        let policy = Policy::parse(&text).unwrap();
        assert!(policy.evaluate(&checkpoint(&[], NOW), NOW).valid());
    }

    #[test]
    fn malformed_policies_are_refused_with_their_line() {
        let w1 = witness("a.example", 3).verifier_key().to_string();
        let w2 = witness("b.example", 4).verifier_key().to_string();
        let cases = [
            (String::new(), PolicyError::NoQuorum),
            (
                "quorum A\n".into(),
                PolicyError::UndefinedName(1, "A".into()),
            ),
            (
                format!("witness A {w1}\nwitness A {w2}\nquorum A\n"),
                PolicyError::DuplicateName(2, "A".into()),
            ),
            (
                format!("witness A {w1}\nwitness B {w1}\nquorum A\n"),
                PolicyError::DuplicateKey(2),
            ),
            (
                format!("witness A {w1}\ngroup G 2 A\nquorum G\n"),
                PolicyError::BadThreshold(2),
            ),
            (
                format!("witness A {w1}\ngroup G 0 A\nquorum G\n"),
                PolicyError::BadThreshold(2),
            ),
            (
                format!("witness A {w1}\ngroup G any A A\nquorum G\n"),
                PolicyError::DuplicateMember(2, "A".into()),
            ),
            (
                format!("witness A {w1}\ngroup G any none\nquorum G\n"),
                PolicyError::UndefinedName(2, "none".into()),
            ),
            ("group G any\nquorum none\n".into(), PolicyError::Arity(1)),
            (
                format!("witness none {w1}\nquorum none\n"),
                PolicyError::DuplicateName(1, "none".into()),
            ),
            (
                format!("witness A {}\nquorum A\n", log().verifier_key()),
                PolicyError::WrongKeyType(1),
            ),
            (
                format!("witness A {w1}\nquorum A\nquorum none\n"),
                PolicyError::SecondQuorum(3),
            ),
            ("quorum none\r\n".into(), PolicyError::BadCharacter(1)),
            (
                "trust everyone\nquorum none\n".into(),
                PolicyError::UnknownKeyword(1, "trust".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Policy::parse(&text), Err(expected), "{text}");
        }
    }

    #[test]
    fn a_group_may_only_name_what_precedes_it() {
        let w1 = witness("a.example", 3).verifier_key().to_string();
        let text = format!("group G any A\nwitness A {w1}\nquorum G\n");
        assert_eq!(
            Policy::parse(&text),
            Err(PolicyError::UndefinedName(1, "A".into()))
        );
    }
}
