//! The one place that says which state changes are allowed, and who may make them.

use super::ProjectState;
use crate::error::{Error, Message};

/// Something that changes a project's state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The founder asks for review.
    Submit,
    /// The regulator lets it go live (now or at a chosen time).
    Approve,
    /// The regulator sends it back to draft with a reason.
    Reject,
    /// The regulator stops pledges on a live project.
    Freeze,
    /// The regulator lets a frozen project take pledges again.
    Unfreeze,
    /// The founder withdraws it before launch.
    FounderCancel,
    /// The regulator cancels it before settlement.
    RegulatorCancel,
}

impl Action {
    /// The name used in URLs, the trail and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Freeze => "freeze",
            Action::Unfreeze => "unfreeze",
            Action::FounderCancel | Action::RegulatorCancel => "cancel",
        }
    }

    /// A regulator's action from its URL name.
    pub fn regulator(raw: &str) -> Option<Self> {
        Some(match raw {
            "approve" => Action::Approve,
            "reject" => Action::Reject,
            "freeze" => Action::Freeze,
            "unfreeze" => Action::Unfreeze,
            "cancel" => Action::RegulatorCancel,
            _ => return None,
        })
    }

    /// Whether only a regulator may take this action.
    pub fn is_regulatory(self) -> bool {
        !matches!(self, Action::Submit | Action::FounderCancel)
    }

    /// The message that explains a refusal of this action.
    fn refusal(self) -> &'static str {
        match self {
            Action::Submit => "projects.transition.submit",
            Action::Approve => "projects.transition.approve",
            Action::Reject => "projects.transition.reject",
            Action::Freeze => "projects.transition.freeze",
            Action::Unfreeze => "projects.transition.unfreeze",
            Action::FounderCancel => "projects.transition.founder_cancel",
            Action::RegulatorCancel => "projects.transition.regulator_cancel",
        }
    }
}

/// The state `action` leads to from `from`, or a 409 that says which state the action needs.
/// Settlement (`live -> settling -> funded | failed`) belongs to the settlement room.
pub fn next_state(from: ProjectState, action: Action) -> Result<ProjectState, Error> {
    use ProjectState::*;
    let to = match (from, action) {
        (Draft, Action::Submit) => InReview,
        (InReview, Action::Approve) => Live,
        (InReview, Action::Reject) => Draft,
        (Live, Action::Freeze) => Frozen,
        (Frozen, Action::Unfreeze) => Live,
        (Draft | InReview, Action::FounderCancel) => Cancelled,
        (Draft | InReview | Live | Frozen, Action::RegulatorCancel) => Cancelled,
        _ => return Err(Error::Conflict(Message::Key(action.refusal()))),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectState::*;

    const STATES: [ProjectState; 8] = [
        Draft, InReview, Live, Frozen, Settling, Funded, Failed, Cancelled,
    ];
    const ACTIONS: [Action; 7] = [
        Action::Submit,
        Action::Approve,
        Action::Reject,
        Action::Freeze,
        Action::Unfreeze,
        Action::FounderCancel,
        Action::RegulatorCancel,
    ];

    #[test]
    fn exactly_the_designed_transitions_are_allowed() {
        let allowed = [
            (Draft, Action::Submit, InReview),
            (InReview, Action::Approve, Live),
            (InReview, Action::Reject, Draft),
            (Live, Action::Freeze, Frozen),
            (Frozen, Action::Unfreeze, Live),
            (Draft, Action::FounderCancel, Cancelled),
            (InReview, Action::FounderCancel, Cancelled),
            (Draft, Action::RegulatorCancel, Cancelled),
            (InReview, Action::RegulatorCancel, Cancelled),
            (Live, Action::RegulatorCancel, Cancelled),
            (Frozen, Action::RegulatorCancel, Cancelled),
        ];
        for from in STATES {
            for action in ACTIONS {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (next_state(from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want),
                    (Err(Error::Conflict(_)), None) => {}
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }
}
