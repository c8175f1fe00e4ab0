//! The demo's discussions: on one live reward project and one live equity offering, a backer
//! asks and the founder answers, so the project pages show a discussion with its marks.

use crate::accounts::User;
use crate::app::AppState;
use crate::community::comments::{self, Body, NewComment};
use crate::projects::{repo, ProjectId, ProjectKind};

/// The demo's questions and answers: (asked, answered), one pair per project kind.
const REWARD_TALK: (&str, &str) = (
    "Will the lamps ship to Europe before the holidays? 灯能在节前寄到欧洲吗？",
    "Yes: we ship in the first week of December, by air. 可以，12 月第一周空运发货。",
);
const EQUITY_TALK: (&str, &str) = (
    "How will the money be spent in the first year? 第一年的资金用途是什么？",
    "Two thirds on the second kiln, the rest on hiring. See **Use of funds** in the offering. \
     三分之二用于第二座窑，其余用于招聘。",
);

/// Posts the demo's discussions on the first live reward project and the first live equity
/// offering of `live`, asked by the demo backer (`users[1]`) and answered by each founder.
pub async fn load(state: &AppState, users: &[User], live: &[ProjectId]) -> anyhow::Result<()> {
    let err = |e: crate::error::Error| anyhow::anyhow!("{e}");
    let backer = &users[1];
    for kind in [ProjectKind::Reward, ProjectKind::Equity] {
        let mut found = None;
        for id in live {
            if let Some(project) = repo::find(&state.db, *id).await.map_err(err)? {
                if project.kind == kind {
                    found = Some(project);
                    break;
                }
            }
        }
        let Some(project) = found else { continue };
        let Some(founder) = users.iter().find(|u| u.id == project.founder_id) else {
            continue;
        };
        let (asked, answered) = match kind {
            ProjectKind::Reward => REWARD_TALK,
            ProjectKind::Equity => EQUITY_TALK,
        };
        let said = |text: &str, parent| -> anyhow::Result<NewComment> {
            Ok(NewComment {
                body: Body::parse(text).map_err(err)?,
                parent,
                compensated_promoter: Some(false),
            })
        };
        let question = comments::post(
            &state.db,
            &project,
            backer.id,
            &backer.display_name,
            said(asked, None)?,
        )
        .await
        .map_err(|refused| err(refused.error))?;
        comments::post(
            &state.db,
            &project,
            founder.id,
            &founder.display_name,
            said(answered, Some(question))?,
        )
        .await
        .map_err(|refused| err(refused.error))?;
    }
    Ok(())
}
