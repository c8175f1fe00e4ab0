//! Demo data for the run command: accounts for every role, a catalogue of projects in both
//! languages and every state, wallets and pledges, loaded once into an empty database. Demo
//! campaigns meant to be over end at start-up, and the settlement worker settles them for real.

mod catalogue;
mod discussion;
mod translations;

use crate::accounts::domain::{DisplayName, Email, Password, Role};
use crate::app::AppState;

/// Password of every demo account (shown in the README; demo data only).
pub const DEMO_PASSWORD: &str = "zhonglian-demo";

/// Loads the demo data unless the database already has users.
pub async fn load(state: &AppState) -> anyhow::Result<()> {
    if crate::accounts::has_users(&state.db).await? {
        return Ok(());
    }
    let accounts = [
        (
            "founder@demo.zhonglian",
            "李明 (Li Ming)",
            vec![Role::Founder],
        ),
        ("backer@demo.zhonglian", "Ada Chen 陈", vec![Role::Backer]),
        (
            "both@demo.zhonglian",
            "王芳 (Wang Fang)",
            vec![Role::Founder, Role::Backer],
        ),
        (
            "regulator@demo.zhonglian",
            "监管员 Regulator",
            vec![Role::Regulator],
        ),
        (
            "auditor@demo.zhonglian",
            "审计员 Auditor",
            vec![Role::Auditor],
        ),
    ];
    let mut users = Vec::new();
    for (email, name, roles) in accounts {
        let user = crate::accounts::create_user(
            &state.db,
            &Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
            &DisplayName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
            Password::parse(DEMO_PASSWORD.into()).map_err(|e| anyhow::anyhow!("{e}"))?,
            &roles,
            crate::i18n::Lang::Zh,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        users.push(user);
    }
    catalogue::load(state, &users).await?;
    tracing::info!("demo data loaded (the demo accounts' password is in the README)");
    Ok(())
}

/// Demo wallets and pledges for live demo projects (called once the catalogue has some):
/// tops up the demo backers' wallets through the sandbox gateway and pledges for each project,
/// the first tier of a reward project or its minimum shares of an equity offering. Projects
/// that do not take pledges, and pledges already made, are skipped.
pub async fn load_pledges(
    state: &AppState,
    projects: &[crate::projects::ProjectId],
) -> anyhow::Result<()> {
    use crate::money::provider::{self, GatewayNotice, Outcome};
    use crate::money::Money;
    use crate::pledges::{limits::Shares, EquityRequest, PledgeRequest};
    use crate::projects::{capacity, ProjectKind};

    let gateway = state.gateway.as_deref().ok_or_else(|| {
        anyhow::anyhow!("demo pledges need a payment gateway: run with PAYMENT_PROVIDER=sandbox")
    })?;
    let err = |e: crate::error::Error| anyhow::anyhow!("{e}");
    for address in ["backer@demo.zhonglian", "both@demo.zhonglian"] {
        let email = Email::parse(address).map_err(err)?;
        let Some(backer) = crate::accounts::find_user_by_email(&state.db, &email)
            .await
            .map_err(err)?
        else {
            continue;
        };
        let backer = backer.id;
        let deposit = provider::start_deposit(
            &state.db,
            gateway,
            provider::DepositLimits {
                per_deposit: state.settings.deposit_max,
                per_day: state.settings.deposit_daily_max,
            },
            backer,
            Money::parse("8000").map_err(err)?,
            crate::money::DEFAULT_CURRENCY,
        )
        .await
        .map_err(err)?;
        let notice = GatewayNotice {
            reference: deposit.reference,
            outcome: Outcome::Approved,
        };
        provider::apply_notice(&state.db, gateway, &notice)
            .await
            .map_err(err)?;
        for project in projects {
            let Some(target) = capacity::pledge_target(&state.db, *project)
                .await
                .map_err(err)?
            else {
                continue;
            };
            let request = match target.kind {
                ProjectKind::Reward => {
                    let tiers = capacity::tiers(&state.db, *project).await.map_err(err)?;
                    let Some(tier) = tiers.first() else { continue };
                    let mut conn = state.db.acquire().await?;
                    // A reward that ships goes to the demo backer's address at home.
                    let shipping = crate::projects::shipping::ships(&mut conn, *project, tier.id)
                        .await
                        .map_err(err)?
                        .then(|| -> anyhow::Result<_> {
                            Ok(crate::pledges::extras::ShippingChoice {
                                region: crate::projects::shipping::Region::Domestic,
                                address: crate::pledges::extras::ShippingAddress::parse(
                                    "1 Demo Road, Hangzhou",
                                )
                                .map_err(err)?,
                            })
                        })
                        .transpose()?;
                    PledgeRequest::RewardWithExtras {
                        tier: Some(tier.id),
                        amount: Money::try_from(tier.price).map_err(err)?,
                        extras: crate::pledges::extras::Extras::new(shipping, &[]).map_err(err)?,
                    }
                }
                ProjectKind::Equity => {
                    let Some(terms) = capacity::offering(&state.db, *project).await.map_err(err)?
                    else {
                        continue;
                    };
                    PledgeRequest::Equity(EquityRequest {
                        shares: Shares::new(terms.min_shares_per_investor).map_err(err)?,
                        risk_acknowledged: true,
                        declaration: Some((
                            rust_decimal::Decimal::from(90_000),
                            rust_decimal::Decimal::from(150_000),
                        )),
                    })
                }
            };
            if let Err(e) = state
                .pledge_desk
                .create(backer, *project, &request, None)
                .await
            {
                tracing::info!(project = %project, error = %e, "demo pledge skipped");
            }
        }
    }
    tracing::info!(projects = projects.len(), "demo wallets and pledges loaded");
    Ok(())
}
