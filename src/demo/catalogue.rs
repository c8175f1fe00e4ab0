//! The demo catalogue: projects in Chinese and English, across categories, reward and equity, in
//! every state a listing can reach. Regulator actions go through `supervision::act`, so each one
//! is in the trail and on the ledger exactly as in production. Pledges are the pledging room's:
//! live projects start at zero.

use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::accounts::{AuthUser, User};
use crate::app::AppState;
use crate::projects::domain::{NewOffering, NewTier};
use crate::projects::lifecycle::Action;
use crate::projects::repo::NewProject;
use crate::projects::shipping::Region;
use crate::projects::{self, ProjectKind};
use crate::supervision::{self, Decision};

/// Where a demo project ends up.
#[derive(Clone, Copy)]
enum Fate {
    Draft,
    InReview,
    RejectedToDraft(&'static str),
    Live,
    /// Approved to launch this many days after start-up ("launching soon").
    Scheduled(i64),
    Frozen(&'static str),
    CancelledByRegulator(&'static str),
    CancelledByFounder,
    /// Pledged for, then ended at start-up so the settlement worker settles it for real.
    Settled {
        funded: bool,
    },
}

/// What a demo tier that ships charges for it: at home, and to the rest of the world (CNY).
const DEMO_SHIPPING: [(Region, Decimal); 2] = [
    (Region::Domestic, Decimal::from_parts(12, 0, 0, false, 0)),
    (Region::RestOfWorld, Decimal::from_parts(68, 0, 0, false, 0)),
];

/// A tier: title, description, price, quantity limit, delivery month, whether it ships.
type DemoTier = (
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    Option<&'static str>,
    bool,
);

struct Demo {
    /// 0: 李明 (Li Ming), 1: 王芳 (Wang Fang).
    founder: usize,
    title: &'static str,
    summary: &'static str,
    story: &'static str,
    category: &'static str,
    goal: &'static str,
    days: i64,
    tiers: &'static [DemoTier],
    offering: Option<(&'static str, i64, i64, i64, &'static str, &'static str)>,
    fate: Fate,
}

const RISK: &str = "Investing in early-stage companies is risky. You may lose all the money you invest, \
     shares are hard to sell, dividends are rare, and your stake may be diluted. Invest only what you \
     can afford to lose. 投资初创企业风险很高：您可能损失全部投资，股份难以转让，且可能被稀释。";

const CATALOGUE: &[Demo] = &[
    Demo {
        founder: 0,
        title: "云南古树普洱茶园",
        summary: "守护临沧百年古茶树，让每一饼普洱都能追溯到具体的树和采茶人。",
        story: "## 我们是谁\n\n我们是临沧邦东乡的三户茶农。家里的古茶树最老的已有三百多年。\n\n## 资金用途\n\n- 修建一座干净的初制所\n- 为每棵古树建立档案\n- 支付采茶人公平的工钱\n\n> 每一笔认筹在结算后都会写入众链公开账本，任何人都可以核验。",
        category: "food",
        goal: "120000",
        days: 40,
        tiers: &[
            ("品鉴装 Tasting set", "三款古树茶各 25 克。", "128", None, Some("2027-03"), true),
            ("认养一棵古树", "一年的春茶，并附树的档案与照片。", "1888", Some(50), Some("2027-05"), true),
        ],
        offering: None,
        fate: Fate::Live,
    },
    Demo {
        founder: 1,
        title: "Solar Lantern for Rural Schools",
        summary: "A rugged solar lantern that gives a child four hours of reading light after dark.",
        story: "## The problem\n\nIn many mountain villages the school day ends with the sunset. Kerosene is costly and unhealthy.\n\n## Our lantern\n\n* 5 W panel, 12 hours of light on a full charge\n* Drop-tested from two metres\n* Repairable with a screwdriver\n\nEvery lantern you buy sends a second one to a school in Guizhou.",
        category: "technology",
        goal: "80000",
        days: 30,
        tiers: &[
            ("One lantern, one for a school", "Two lanterns: one for you, one donated.", "199", None, Some("2027-02"), true),
            ("Classroom set", "Thirty lanterns donated in your name, with a photo report.", "2800", Some(40), Some("2027-04"), false),
        ],
        offering: None,
        fate: Fate::Live,
    },
    Demo {
        founder: 0,
        title: "Bamboo Bicycle 竹制自行车",
        summary: "Frames hand-built from Anji bamboo: lighter than steel, softer on rough roads. 安吉竹子手工车架。",
        story: "Bamboo absorbs vibration better than carbon and grows back in three years.\n\n竹子比碳纤维更能吸收震动，三年即可再生。\n\n### Specifications\n\n| | |\n|---|---|\n| Weight | 2.1 kg frame |\n| Sizes | S, M, L |",
        category: "design",
        goal: "150000",
        days: 45,
        tiers: &[
            ("Frame only 车架", "A finished frame in your size.", "3600", Some(60), Some("2027-06"), true),
            ("Complete bike 整车", "Frame with wheels, drivetrain and a leather saddle.", "6800", Some(30), Some("2027-07"), true),
            ("Workshop day 工坊体验", "Build your own frame with us in Anji.", "9800", Some(8), Some("2027-05"), false),
        ],
        offering: None,
        fate: Fate::Live,
    },
    Demo {
        founder: 1,
        title: "独立游戏《山海旅人》",
        summary: "一款以《山海经》为灵感的手绘解谜冒险游戏，支持中英文。",
        story: "## 游戏介绍\n\n玩家扮演一位旅人，穿行于《山海经》记载的奇山异水之间。\n\n## 进度\n\n- 第一章已完成\n- 第二章美术完成 60%\n\n本项目仅提供回报，不涉及任何股权。",
        category: "games",
        goal: "200000",
        days: 35,
        tiers: &[
            ("数字版游戏", "Steam 激活码一份。", "48", None, Some("2027-09"), false),
            ("典藏版", "游戏、原声音乐与精装画册。", "298", Some(500), Some("2027-10"), true),
        ],
        offering: None,
        fate: Fate::Live,
    },
    Demo {
        founder: 0,
        title: "Riverside Community Bakery",
        summary: "Own a share of the sourdough bakery our neighbourhood has been asking for.",
        story: "## The business\n\nWe have baked for farmers' markets for four years and sold 60,000 loaves. A permanent shop lets us open six days a week.\n\n## Use of funds\n\n1. Deck oven and proofing room\n2. Six months of rent\n3. Two apprentice bakers\n\nFinancial statements are available to investors on request.",
        category: "food",
        goal: "0",
        days: 60,
        tiers: &[],
        offering: Some(("12.50", 4000, 20000, 10, "5000000", "ordinary_shares")),
        fate: Fate::Live,
    },
    Demo {
        founder: 1,
        title: "智能助听器 HearWell",
        summary: "售价不到进口产品三分之一的可充电助听器，已通过医疗器械注册检验。",
        story: "## 市场\n\n中国有超过七千万听障老人，助听器佩戴率不足 5%。\n\n## 发行条款\n\n本轮以可转换票据融资，在下一轮融资时按 20% 折扣转换为股权。\n\nThe note converts at a 20% discount at the next priced round.",
        category: "health",
        goal: "0",
        days: 50,
        tiers: &[],
        offering: Some(("100.00", 3000, 15000, 5, "30000000", "convertible_note")),
        fate: Fate::Live,
    },
    Demo {
        founder: 0,
        title: "The Last Boatmen of the Grand Canal",
        summary: "A feature documentary about the families who still carry freight on the Grand Canal.",
        story: "We have filmed for two years between Hangzhou and Jining. The rough cut is 96 minutes.\n\nFunds pay for colour grading, sound mixing and festival submissions.",
        category: "film",
        goal: "90000",
        days: 30,
        tiers: &[
            ("Digital download", "The finished film in HD.", "68", None, Some("2027-08"), false),
            ("Name in the credits", "Your name in the closing credits, plus the download.", "388", Some(200), Some("2027-08"), false),
        ],
        offering: None,
        fate: Fate::Frozen("Complaint received that footage is used without the boat owners' consent; frozen while the founder provides release forms."),
    },
    Demo {
        founder: 1,
        title: "古籍修复工作室",
        summary: "为县级图书馆修复清代地方志，并把修复过程做成公开课程。",
        story: "## 计划\n\n修复 40 册清代县志，全部扫描后免费公开。\n\n## 团队\n\n两位国家级古籍修复师带领四名学徒。",
        category: "publishing",
        goal: "60000",
        days: 40,
        tiers: &[
            ("电子版县志", "修复后全部扫描件的高清 PDF。", "30", None, Some("2027-06"), false),
            ("修复体验课", "在工作室学习一天古籍修复。", "680", Some(20), Some("2027-04"), false),
        ],
        offering: None,
        fate: Fate::InReview,
    },
    Demo {
        founder: 0,
        title: "Coding Camp for Girls in Guizhou",
        summary: "A two-week summer camp where middle-school girls build their first apps.",
        story: "Draft: the curriculum and the partner schools are still being confirmed.",
        category: "education",
        goal: "45000",
        days: 30,
        tiers: &[("Sponsor a camper", "Covers one girl's place, meals and laptop use.", "1500", None, None, false)],
        offering: None,
        fate: Fate::Draft,
    },
    Demo {
        founder: 1,
        title: "城市屋顶菜园 Rooftop Gardens",
        summary: "把上海老小区的屋顶变成社区菜园，并以会员制运营。",
        story: "我们已在三个小区试点，会员续费率 82%。\n\nWe piloted on three estates; 82% of members renewed.",
        category: "environment",
        goal: "0",
        days: 45,
        tiers: &[],
        offering: Some(("8.00", 10000, 40000, 50, "3200000", "ordinary_shares")),
        fate: Fate::RejectedToDraft("The offering lacks the audited accounts for 2025 and the roof-use agreements with the estates. Add both and resubmit."),
    },
    Demo {
        founder: 0,
        title: "Jazz Album \"Shanghai Nights\"",
        summary: "A quartet records the jazz standards of 1930s Shanghai, live to tape.",
        story: "Recorded in one night at a club on Fuzhou Road, mixed in analogue.",
        category: "music",
        goal: "50000",
        days: 30,
        tiers: &[
            ("Vinyl LP", "180 g pressing, signed.", "260", Some(300), Some("2027-05"), true),
            ("Private concert", "The quartet plays for you and twenty friends.", "12000", Some(2), Some("2027-06"), false),
        ],
        offering: None,
        fate: Fate::CancelledByRegulator("The founder could not show the rights to the recordings offered as rewards."),
    },
    Demo {
        founder: 1,
        title: "苏绣丝巾 Suzhou Embroidered Scarves",
        summary: "苏州绣娘手绣的真丝围巾，每一条都标明绣娘的名字和所用的工时。",
        story: "## 我们是谁\n\n镇湖的七位绣娘，平均从艺二十年。\n\n## 资金用途\n\n- 一间明亮的绣房\n- 三位学徒一年的工钱\n- 天然染料的丝线\n\nSeven embroiderers from Zhenhu, twenty years at the frame on average.",
        category: "design",
        goal: "60000",
        days: 45,
        tiers: &[
            ("小方巾 Small square", "53 cm 真丝方巾，手绣兰花。", "388", Some(200), Some("2027-06"), true),
            ("长巾 Long scarf", "180 cm 真丝长巾，手绣太湖水纹。", "1280", Some(60), Some("2027-08"), true),
        ],
        offering: None,
        fate: Fate::Scheduled(5),
    },
    Demo {
        founder: 1,
        title: "丝路商人桌游 Silk Road Traders",
        summary: "2–5 人的策略桌游：在长安与撒马尔罕之间经营商队。",
        story: "发起人决定推迟到明年再众筹。",
        category: "games",
        goal: "70000",
        days: 30,
        tiers: &[("桌游一套", "标准版一套。", "238", None, Some("2027-11"), true)],
        offering: None,
        fate: Fate::CancelledByFounder,
    },
    Demo {
        founder: 0,
        title: "景德镇柴窑工作室",
        summary: "重建一座传统柴窑，让年轻陶艺家可以烧制作品。",
        story: "柴窑已于今年春天建成并完成首次烧制，感谢所有支持者。\n\nThe kiln was rebuilt and fired for the first time this spring.",
        category: "art",
        goal: "100000",
        days: 30,
        tiers: &[
            ("柴烧茶杯", "首窑烧制的茶杯一只。", "280", Some(300), Some("2026-09"), true),
            ("窑位一格", "在柴窑中烧制你自己的作品一次。", "1200", Some(40), Some("2026-10"), false),
        ],
        offering: None,
        fate: Fate::Settled { funded: true },
    },
    Demo {
        founder: 0,
        title: "茶马古道咖啡 Tea Horse Road Coffee",
        summary: "普洱山区的精品咖啡合作社，募资已成功；股东可在集合竞价中转让股份。",
        story: "募资已于今年完成，烘焙工坊已投产。\n\n股东可在公司安排的集合竞价中卖出股份；每次出清都记入公开账本。",
        category: "food",
        goal: "0",
        days: 30,
        tiers: &[],
        offering: Some(("10.00", 10, 10000, 10, "2000000", "ordinary_shares")),
        fate: Fate::Settled { funded: true },
    },
    Demo {
        founder: 1,
        title: "Community Canteen for Elders",
        summary: "A canteen serving hot lunches to 150 elderly residents in an old Chengdu neighbourhood.",
        story: "The campaign did not reach its goal; every pledge was refunded at the deadline.\n\n众筹未达目标，所有认筹已在截止时全额退回。",
        category: "community",
        goal: "180000",
        days: 30,
        tiers: &[("A week of lunches", "Pays for one elder's lunches for a week.", "105", None, None, false)],
        offering: None,
        fate: Fate::Settled { funded: false },
    },
];

/// The titles of the demo projects, as written.
#[cfg(test)]
pub(super) fn titles() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|demo| demo.title)
}

/// Draws the demo project's cover and stores its texts in the other language (while it is a
/// draft, as a founder would).
async fn dress(
    state: &AppState,
    founder: &AuthUser,
    id: projects::ProjectId,
    demo: &Demo,
) -> anyhow::Result<()> {
    let png = projects::cover::art::draw(demo.category, demo.title);
    let cover = projects::cover::Cover::parse(png).map_err(err)?;
    projects::founder::set_cover(&state.db, founder, id, &cover)
        .await
        .map_err(err)?;
    for (lang, text) in super::translations::of(demo.title) {
        let translation = projects::repo::Translation::parse(
            lang,
            text.title,
            text.summary,
            text.story,
            text.tiers,
        )
        .map_err(err)?;
        projects::repo::put_translation(&state.db, id, &translation)
            .await
            .map_err(err)?;
    }
    Ok(())
}

fn amount(raw: &str) -> anyhow::Result<Decimal> {
    raw.parse()
        .map_err(|e| anyhow::anyhow!("demo amount {raw}: {e}"))
}

fn err(e: crate::error::Error) -> anyhow::Error {
    anyhow::anyhow!("demo catalogue: {e}")
}

/// Loads the catalogue; `users` are the demo accounts in the order `demo::load` creates them.
pub async fn load(state: &AppState, users: &[User]) -> anyhow::Result<()> {
    let as_auth = |user: &User| AuthUser {
        user: user.clone(),
        session_id: crate::ids::SessionId(uuid::Uuid::nil()),
    };
    let founders = [as_auth(&users[0]), as_auth(&users[2])];
    let regulator = as_auth(&users[3]);
    let now = OffsetDateTime::now_utc();
    let mut taking_pledges = Vec::new();
    let mut to_settle = Vec::new();
    for demo in CATALOGUE {
        let founder = &founders[demo.founder];
        let offering = match demo.offering {
            Some((price, min, max, per, valuation, security)) => Some(
                NewOffering::parse(
                    amount(price)?,
                    min,
                    max,
                    Some(per),
                    amount(valuation)?,
                    security,
                    RISK,
                )
                .map_err(err)?,
            ),
            None => None,
        };
        let goal = match &offering {
            Some(o) => o.goal().map_err(err)?,
            None => amount(demo.goal)?,
        };
        let tiers = demo
            .tiers
            .iter()
            .map(|(title, description, price, limit, month, ships)| {
                let shipping: &[(Region, Decimal)] = if *ships { &DEMO_SHIPPING } else { &[] };
                NewTier::parse(title, description, amount(price)?, *limit, *month, *ships)
                    .and_then(|tier| tier.with_shipping(shipping))
                    .map_err(err)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let new = NewProject {
            title: demo.title.into(),
            slug: None,
            summary: demo.summary.into(),
            story: demo.story.into(),
            category: crate::projects::domain::category(demo.category).map_err(err)?,
            kind: if offering.is_some() {
                ProjectKind::Equity
            } else {
                ProjectKind::Reward
            },
            goal,
            currency: "CNY".into(),
            deadline: now + time::Duration::days(demo.days),
            tiers,
            offering,
        };
        let project = projects::create(&state.db, founder, new)
            .await
            .map_err(err)?;
        let id = project.id;
        dress(state, founder, id, demo).await?;
        let regulator = &regulator;
        let decide = |action: Action, reason: &str| {
            let decision = Decision::parse(action, Some(reason), None);
            async move {
                let (db, ledger, settings) = (&state.db, &state.ledger, &state.settings);
                supervision::act(db, ledger, settings, regulator, id, decision?)
                    .await
                    .map(|_| ())
            }
        };
        let submit = || projects::submit(&state.db, &state.settings, founder, id);
        match demo.fate {
            Fate::Draft => {}
            Fate::InReview => {
                submit().await.map_err(err)?;
            }
            Fate::RejectedToDraft(reason) => {
                submit().await.map_err(err)?;
                decide(Action::Reject, reason).await.map_err(err)?;
            }
            Fate::Live => {
                submit().await.map_err(err)?;
                decide(
                    Action::Approve,
                    "Listing complete; disclosures and rewards checked.",
                )
                .await
                .map_err(err)?;
                taking_pledges.push(id);
            }
            Fate::Scheduled(in_days) => {
                submit().await.map_err(err)?;
                let launch = Some(now + time::Duration::days(in_days));
                let decision = Decision::parse(
                    Action::Approve,
                    Some("Listing complete; launches on the founder's chosen date."),
                    launch,
                )
                .map_err(err)?;
                let (db, ledger, settings) = (&state.db, &state.ledger, &state.settings);
                supervision::act(db, ledger, settings, regulator, id, decision)
                    .await
                    .map_err(err)?;
            }
            Fate::Frozen(reason) => {
                submit().await.map_err(err)?;
                decide(
                    Action::Approve,
                    "Listing complete; disclosures and rewards checked.",
                )
                .await
                .map_err(err)?;
                decide(Action::Freeze, reason).await.map_err(err)?;
            }
            Fate::CancelledByRegulator(reason) => {
                submit().await.map_err(err)?;
                decide(Action::Approve, "Listing complete.")
                    .await
                    .map_err(err)?;
                decide(Action::RegulatorCancel, reason).await.map_err(err)?;
            }
            Fate::CancelledByFounder => {
                projects::founder_cancel(&state.db, founder, id)
                    .await
                    .map_err(err)?;
            }
            Fate::Settled { funded } => {
                submit().await.map_err(err)?;
                decide(Action::Approve, "Listing complete.")
                    .await
                    .map_err(err)?;
                taking_pledges.push(id);
                to_settle.push((id, funded));
            }
        }
    }
    super::load_pledges(state, &taking_pledges).await?;
    let live: Vec<projects::ProjectId> = taking_pledges
        .iter()
        .filter(|id| !to_settle.iter().any(|(settled, _)| settled == *id))
        .copied()
        .collect();
    super::discussion::load(state, users, &live).await?;
    for (id, funded) in to_settle {
        projects::settling::end_campaign_now(&state.db, id, funded)
            .await
            .map_err(err)?;
    }
    Ok(())
}
