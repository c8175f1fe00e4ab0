//! The demo catalogue in its other language: every project's title, summary, story and tiers,
//! so that a visitor reads each one in their language and a search in either finds it. A
//! project written in both languages at once gets a text in each.

use crate::i18n::Lang;

/// A project's texts in one language; tiers in the order of the project's.
pub(super) struct Text {
    pub title: &'static str,
    pub summary: &'static str,
    pub story: &'static str,
    pub tiers: &'static [(&'static str, &'static str)],
}

/// The translations of the demo project titled `original`.
pub(super) fn of(original: &str) -> Vec<(Lang, &'static Text)> {
    TRANSLATIONS
        .iter()
        .filter(|(title, _, _)| *title == original)
        .map(|(_, lang, text)| (*lang, text))
        .collect()
}

const TRANSLATIONS: &[(&str, Lang, Text)] = &[
    ("云南古树普洱茶园", Lang::En, Text {
        title: "Ancient Tea Trees of Yunnan: a Pu'er Garden",
        summary: "Caring for Lincang's century-old tea trees, so every cake of Pu'er traces back to its tree and its picker.",
        story: "## Who we are\n\nWe are three tea-farming families in Bangdong, Lincang. The oldest tree in our gardens is more than three hundred years old.\n\n## What the money is for\n\n- A clean workshop for first processing\n- A record for every old tree\n- Fair wages for the pickers\n\n> Every settled pledge is written to Zhonglian's public ledger, where anyone can verify it.",
        tiers: &[
            ("Tasting set", "25 g each of three old-tree teas."),
            ("Adopt an old tree", "A year of spring tea, with the tree's record and photos."),
        ],
    }),
    ("苏绣丝巾 Suzhou Embroidered Scarves", Lang::En, Text {
        title: "Suzhou Embroidered Scarves",
        summary: "Silk scarves hand-embroidered by Suzhou's needlewomen, each labelled with who stitched it and for how many hours.",
        story: "## Who we are\n\nSeven embroiderers from Zhenhu, twenty years at the frame on average.\n\n## What the money is for\n\n- A bright embroidery room\n- A year's wages for three apprentices\n- Silk thread in natural dyes",
        tiers: &[
            ("Small square", "A 53 cm silk square, hand-embroidered orchids."),
            ("Long scarf", "A 180 cm silk scarf, hand-embroidered Lake Tai ripples."),
        ],
    }),
    ("Solar Lantern for Rural Schools", Lang::Zh, Text {
        title: "乡村学校太阳能灯",
        summary: "一盏结实的太阳能灯，让孩子在天黑后还有四小时的读书光。",
        story: "## 问题\n\n在许多山村，学校的一天随日落结束。煤油既贵又伤身体。\n\n## 我们的灯\n\n* 5 瓦太阳能板，充满电可照明 12 小时\n* 通过两米跌落测试\n* 一把螺丝刀就能修\n\n您每买一盏灯，我们就向贵州的一所学校捐赠一盏。",
        tiers: &[
            ("买一盏，捐一盏", "两盏灯：一盏给您，一盏捐给学校。"),
            ("教室套装", "以您的名义捐赠三十盏灯，并附照片报告。"),
        ],
    }),
    ("Bamboo Bicycle 竹制自行车", Lang::En, Text {
        title: "Bamboo Bicycle",
        summary: "Frames hand-built from Anji bamboo: lighter than steel, softer on rough roads.",
        story: "Bamboo absorbs vibration better than carbon and grows back in three years.\n\n### Specifications\n\n| | |\n|---|---|\n| Weight | 2.1 kg frame |\n| Sizes | S, M, L |",
        tiers: &[
            ("Frame only", "A finished frame in your size."),
            ("Complete bike", "Frame with wheels, drivetrain and a leather saddle."),
            ("Workshop day", "Build your own frame with us in Anji."),
        ],
    }),
    ("Bamboo Bicycle 竹制自行车", Lang::Zh, Text {
        title: "竹制自行车",
        summary: "用安吉竹子手工打造的车架：比钢更轻，在颠簸路面上更舒适。",
        story: "竹子比碳纤维更能吸收震动，三年即可再生。\n\n### 规格\n\n| | |\n|---|---|\n| 重量 | 车架 2.1 公斤 |\n| 尺码 | S、M、L |",
        tiers: &[
            ("车架", "按您的尺码制作的成品车架。"),
            ("整车", "车架配车轮、传动系统和皮质座垫。"),
            ("工坊体验", "来安吉和我们一起亲手做一个车架。"),
        ],
    }),
    ("独立游戏《山海旅人》", Lang::En, Text {
        title: "Indie Game \"Traveller of Mountains and Seas\"",
        summary: "A hand-drawn puzzle adventure inspired by the Classic of Mountains and Seas, in Chinese and English.",
        story: "## The game\n\nYou play a traveller crossing the strange mountains and rivers described in the Classic of Mountains and Seas.\n\n## Progress\n\n- Chapter one is finished\n- Chapter two's art is 60% done\n\nThis project offers rewards only; no equity is involved.",
        tiers: &[
            ("Digital edition", "One Steam key."),
            ("Collector's edition", "The game, the soundtrack and a hardcover art book."),
        ],
    }),
    ("Riverside Community Bakery", Lang::Zh, Text {
        title: "河畔社区面包房",
        summary: "成为街坊们盼了很久的酸种面包房的股东。",
        story: "## 业务\n\n我们在农夫市集上烤了四年面包，卖出六万个。一家固定门店能让我们每周营业六天。\n\n## 资金用途\n\n1. 层炉和醒发间\n2. 六个月的租金\n3. 两名学徒面包师\n\n投资者可申请查阅财务报表。",
        tiers: &[],
    }),
    ("智能助听器 HearWell", Lang::En, Text {
        title: "HearWell Smart Hearing Aid",
        summary: "A rechargeable hearing aid for under a third of the price of imports, already through medical-device registration testing.",
        story: "## The market\n\nChina has more than seventy million elderly people with hearing loss, and fewer than 5% of them wear a hearing aid.\n\n## Terms\n\nThis round is a convertible note that converts at a 20% discount at the next priced round.",
        tiers: &[],
    }),
    ("智能助听器 HearWell", Lang::Zh, Text {
        title: "智能助听器 HearWell",
        summary: "售价不到进口产品三分之一的可充电助听器，已通过医疗器械注册检验。",
        story: "## 市场\n\n中国有超过七千万听障老人，助听器佩戴率不足 5%。\n\n## 发行条款\n\n本轮以可转换票据融资，在下一轮融资时按 20% 折扣转换为股权。",
        tiers: &[],
    }),
    ("The Last Boatmen of the Grand Canal", Lang::Zh, Text {
        title: "大运河上最后的船家",
        summary: "一部关于仍在大运河上跑货运的船家的纪录长片。",
        story: "我们在杭州与济宁之间拍摄了两年，粗剪版长 96 分钟。\n\n资金用于调色、混音和电影节报名。",
        tiers: &[
            ("数字版下载", "成片高清版。"),
            ("片尾署名", "您的名字出现在片尾字幕中，并附数字版。"),
        ],
    }),
    ("古籍修复工作室", Lang::En, Text {
        title: "Rare Book Restoration Studio",
        summary: "Restoring Qing-dynasty county gazetteers for county libraries, and turning the work into an open course.",
        story: "## The plan\n\nRestore 40 volumes of Qing county gazetteers, scan them all and publish the scans for free.\n\n## The team\n\nTwo national-level restorers lead four apprentices.",
        tiers: &[
            ("Digital gazetteers", "High-resolution PDFs of every restored volume."),
            ("Restoration class", "A day in the studio learning to restore old books."),
        ],
    }),
    ("Coding Camp for Girls in Guizhou", Lang::Zh, Text {
        title: "贵州女孩编程营",
        summary: "为期两周的夏令营，初中女生在这里做出她们的第一个应用。",
        story: "草稿：课程与合作学校仍在确认中。",
        tiers: &[("资助一名营员", "一名女孩的名额、餐食和电脑使用费用。")],
    }),
    ("城市屋顶菜园 Rooftop Gardens", Lang::En, Text {
        title: "Rooftop Gardens",
        summary: "Turning the roofs of Shanghai's old estates into community vegetable gardens, run as a membership.",
        story: "We piloted on three estates; 82% of members renewed.",
        tiers: &[],
    }),
    ("城市屋顶菜园 Rooftop Gardens", Lang::Zh, Text {
        title: "城市屋顶菜园",
        summary: "把上海老小区的屋顶变成社区菜园，并以会员制运营。",
        story: "我们已在三个小区试点，会员续费率 82%。",
        tiers: &[],
    }),
    ("Jazz Album \"Shanghai Nights\"", Lang::Zh, Text {
        title: "爵士专辑《上海之夜》",
        summary: "一支四重奏以磁带现场录制 1930 年代上海的爵士名曲。",
        story: "在福州路一家俱乐部用一个晚上录完，模拟混音。",
        tiers: &[
            ("黑胶唱片", "180 克压制，附签名。"),
            ("私人音乐会", "四重奏为您和二十位朋友演奏。"),
        ],
    }),
    ("丝路商人桌游 Silk Road Traders", Lang::En, Text {
        title: "Silk Road Traders",
        summary: "A strategy board game for 2–5 players: run a caravan between Chang'an and Samarkand.",
        story: "The founder decided to postpone the campaign until next year.",
        tiers: &[("The game", "One standard edition.")],
    }),
    ("丝路商人桌游 Silk Road Traders", Lang::Zh, Text {
        title: "丝路商人桌游",
        summary: "2–5 人的策略桌游：在长安与撒马尔罕之间经营商队。",
        story: "发起人决定推迟到明年再众筹。",
        tiers: &[("桌游一套", "标准版一套。")],
    }),
    ("茶马古道咖啡 Tea Horse Road Coffee", Lang::En, Text {
        title: "Tea Horse Road Coffee",
        summary: "A speciality coffee cooperative in the Pu'er hills, funded; holders may sell their shares in call auctions.",
        story: "The offering was funded this year and the roastery is running.\n\nHolders may sell their shares in the auctions the company schedules; every clearing is on the public ledger.",
        tiers: &[],
    }),
    ("景德镇柴窑工作室", Lang::En, Text {
        title: "Jingdezhen Wood-Fired Kiln Studio",
        summary: "Rebuilding a traditional wood-fired kiln so young potters can fire their work.",
        story: "The kiln was rebuilt and fired for the first time this spring. Thank you to everyone who backed it.",
        tiers: &[
            ("Wood-fired teacup", "One teacup from the first firing."),
            ("A place in the kiln", "Fire one piece of your own in the kiln."),
        ],
    }),
    ("Community Canteen for Elders", Lang::Zh, Text {
        title: "社区长者食堂",
        summary: "为成都一个老街区的 150 位老人提供热腾腾午餐的食堂。",
        story: "众筹未达目标，所有认筹已在截止时全额退回。",
        tiers: &[("一周午餐", "为一位老人支付一周的午餐。")],
    }),
];

#[cfg(test)]
mod tests {
    use super::super::catalogue::titles;
    use super::*;

    #[test]
    fn every_demo_project_can_be_read_in_both_languages() {
        for title in titles() {
            let langs: Vec<Lang> = of(title).iter().map(|(lang, _)| *lang).collect();
            let has_chinese = title
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            let needs = if has_chinese { Lang::En } else { Lang::Zh };
            assert!(langs.contains(&needs), "{title} has no {needs:?} text");
        }
    }

    #[test]
    fn every_translation_belongs_to_a_demo_project() {
        for (title, _, _) in TRANSLATIONS {
            assert!(
                titles().any(|t| t == *title),
                "{title} is not in the catalogue"
            );
        }
    }
}
