"""The demo operator's product catalogue: plans, value-added services, devices and 5G coverage.

Plain data, loaded into the database by :mod:`demo.seed`. Money in fen.
Conditions are written out in full: the regulator's first complaint is hidden conditions.
"""
from __future__ import annotations

from typing import Any

GB = 1024

PLANS: list[dict[str, Any]] = [
    dict(
        id="senior_4g_18", name="Senior Care 18", name_zh="孝心卡18元套餐",
        aliases="senior,senior plan,elderly,old people plan,老人套餐,老年卡",
        kind="postpaid", monthly_fee=1800, data_mb=2 * GB, minutes=300, sms=50, is_5g=False,
        contract_months=0, termination_fee=0, data_overage_per_gb=500,
        voice_overage_per_minute=10, sms_overage_each=10, broadband_mbps=0, min_age=60,
        conditions="Only for customers aged 60 or over (ID checked at sign-up). No contract; "
        "cancel any month. Extra data 5 yuan per started GB, extra calls 0.10 yuan a minute.",
        conditions_zh="仅限60岁及以上客户（开户时核验身份证）。无合约，可随时取消。"
        "超出流量每GB 5元（不足1GB按1GB计），超出通话每分钟0.10元。",
    ),
    dict(
        id="lite_4g_19", name="4G Lite 19", name_zh="4G轻享19元套餐",
        aliases="lite,4g lite,19 plan,轻享",
        kind="prepaid", monthly_fee=1900, data_mb=3 * GB, minutes=100, sms=50, is_5g=False,
        contract_months=0, termination_fee=0, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="Prepaid: the fee is taken from your balance on the 1st; with a balance "
        "below the fee, outgoing service pauses until you top up. No contract. Extra data "
        "5 yuan per started GB, extra calls 0.15 yuan a minute, SMS 0.10 yuan.",
        conditions_zh="预付费：每月1日从余额扣除月费；余额不足时暂停呼出，充值后恢复。无合约。"
        "超出流量每GB 5元，超出通话每分钟0.15元，短信每条0.10元。",
    ),
    dict(
        id="prepaid_4g_29", name="Prepaid 4G 29", name_zh="4G预付费29元套餐",
        aliases="prepaid 29,prepaid 4g,29 plan,预付费29",
        kind="prepaid", monthly_fee=2900, data_mb=8 * GB, minutes=150, sms=100, is_5g=False,
        contract_months=0, termination_fee=0, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="Prepaid: the fee is taken from your balance on the 1st; with a balance "
        "below the fee, outgoing service pauses until you top up. No contract. Extra data "
        "5 yuan per started GB, extra calls 0.15 yuan a minute.",
        conditions_zh="预付费：每月1日从余额扣除月费；余额不足时暂停呼出。无合约。"
        "超出流量每GB 5元，超出通话每分钟0.15元。",
    ),
    dict(
        id="basic_4g_39", name="4G Basic 39", name_zh="4G基础39元套餐",
        aliases="basic,4g basic,39 plan,basic 39,基础套餐",
        kind="postpaid", monthly_fee=3900, data_mb=10 * GB, minutes=200, sms=100, is_5g=False,
        contract_months=0, termination_fee=0, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="Monthly bill, no contract. Extra data 5 yuan per started GB, extra calls "
        "0.15 yuan a minute, SMS 0.10 yuan.",
        conditions_zh="后付费，无合约。超出流量每GB 5元，超出通话每分钟0.15元，短信每条0.10元。",
    ),
    dict(
        id="plus_4g_59", name="4G Plus 59", name_zh="4G畅享59元套餐",
        aliases="4g plus,59 plan,plus 59,畅享59",
        kind="postpaid", monthly_fee=5900, data_mb=30 * GB, minutes=500, sms=200, is_5g=False,
        contract_months=12, termination_fee=10000, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="12-month contract. Leaving or moving to another plan before it ends costs "
        "a 100 yuan early-termination fee. Extra data 5 yuan per started GB, extra calls "
        "0.15 yuan a minute.",
        conditions_zh="12个月合约。合约期内退订或改套餐需支付100元违约金。"
        "超出流量每GB 5元，超出通话每分钟0.15元。",
    ),
    dict(
        id="prepaid_5g_59", name="5G Prepaid 59", name_zh="5G预付费59元套餐",
        aliases="5g prepaid,prepaid 5g,5G预付费",
        kind="prepaid", monthly_fee=5900, data_mb=25 * GB, minutes=300, sms=100, is_5g=True,
        contract_months=0, termination_fee=0, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="Prepaid 5G: the fee is taken from your balance on the 1st. No contract. "
        "5G speed needs a 5G phone and 5G coverage; elsewhere it works at 4G speed.",
        conditions_zh="5G预付费：每月1日从余额扣费。无合约。5G速率需要5G手机和5G覆盖，其他地方按4G速率使用。",
    ),
    dict(
        id="starter_5g_79", name="5G Starter 79", name_zh="5G入门79元套餐",
        aliases="5g starter,starter,79 plan,5G入门",
        kind="postpaid", monthly_fee=7900, data_mb=40 * GB, minutes=500, sms=100, is_5g=True,
        contract_months=12, termination_fee=15000, data_overage_per_gb=500,
        voice_overage_per_minute=15, sms_overage_each=10, broadband_mbps=0,
        conditions="12-month contract; 150 yuan early-termination fee. 5G speed needs a 5G "
        "phone and 5G coverage. Extra data 5 yuan per started GB.",
        conditions_zh="12个月合约，提前解约违约金150元。5G速率需要5G手机和5G覆盖。超出流量每GB 5元。",
    ),
    dict(
        id="plus_5g_129", name="5G Plus 129", name_zh="5G畅享129元套餐",
        aliases="5g plus,129 plan,plus 129,5G畅享",
        kind="postpaid", monthly_fee=12900, data_mb=80 * GB, minutes=1000, sms=300, is_5g=True,
        contract_months=24, termination_fee=30000, data_overage_per_gb=300,
        voice_overage_per_minute=10, sms_overage_each=10, broadband_mbps=0,
        conditions="24-month contract; 300 yuan early-termination fee. Extra data 3 yuan per "
        "started GB. 5G speed needs a 5G phone and 5G coverage.",
        conditions_zh="24个月合约，提前解约违约金300元。超出流量每GB 3元。5G速率需要5G手机和5G覆盖。",
    ),
    dict(
        id="fusion_5g_169", name="5G Home Fusion 169", name_zh="5G全家融合169元套餐",
        aliases="home fusion,fusion,broadband bundle,5g + broadband,融合套餐,宽带套餐",
        kind="postpaid", monthly_fee=16900, data_mb=60 * GB, minutes=1000, sms=300, is_5g=True,
        contract_months=24, termination_fee=40000, data_overage_per_gb=300,
        voice_overage_per_minute=10, sms_overage_each=10, broadband_mbps=300,
        conditions="Mobile line plus 300 Mbps home broadband. 24-month contract; 400 yuan "
        "early-termination fee, and the broadband gateway must be returned. Broadband is only "
        "available where fibre reaches the address.",
        conditions_zh="手机加300M家庭宽带。24个月合约，提前解约违约金400元，并需归还光猫。"
        "宽带仅限光纤覆盖地址。",
    ),
    dict(
        id="unlimited_5g_199", name="5G Unlimited 199", name_zh="5G不限量199元套餐",
        aliases="unlimited,5g unlimited,199 plan,不限量",
        kind="postpaid", monthly_fee=19900, data_mb=150 * GB, minutes=2000, sms=500,
        is_5g=True, contract_months=24, termination_fee=50000, data_overage_per_gb=0,
        voice_overage_per_minute=10, sms_overage_each=10, broadband_mbps=0,
        conditions="'Unlimited' means 150 GB at full speed; after that, data is slowed to "
        "1 Mbps until the next cycle, at no extra charge. 24-month contract; 500 yuan "
        "early-termination fee.",
        conditions_zh="“不限量”指150GB高速流量，超出后降速至1Mbps直到下个账期，不额外收费。"
        "24个月合约，提前解约违约金500元。",
    ),
]

ADDONS: list[dict[str, Any]] = [
    dict(id="music_pack", name="Music Pack", name_zh="音乐包", monthly_fee=1500,
         aliases="music,songs,音乐", description="Streaming music membership."),
    dict(id="video_vip", name="Video VIP", name_zh="视频会员", monthly_fee=2000,
         aliases="video,video membership,视频", description="Video streaming membership."),
    dict(id="ringback_tone", name="Colour Ringback Tone", name_zh="彩铃",
         monthly_fee=500, aliases="ringback,ring back,ringtone,caller tune,color ringback",
         description="Callers hear music instead of the ring tone."),
    dict(id="news_sms", name="Daily News SMS", name_zh="新闻早晚报", monthly_fee=300,
         aliases="news,news sms,新闻", description="Two news text messages a day."),
    dict(id="game_pack", name="Game Pack", name_zh="游戏包", monthly_fee=1000,
         aliases="games,game,游戏", description="Game credits and in-game items."),
    dict(id="cloud_storage", name="Cloud Storage 50GB", name_zh="云盘50G", monthly_fee=1000,
         aliases="cloud,storage,云盘", description="50 GB of cloud storage."),
    dict(id="data_booster", name="Data Booster 5GB", name_zh="5G流量加油包", monthly_fee=2000,
         aliases="booster,data pack,extra data,加油包", description="5 GB more data every month."),
    dict(id="caller_id", name="Caller ID Display", name_zh="来电显示", monthly_fee=500,
         aliases="caller id,来显", description="Shows who is calling."),
    dict(id="missed_call_alert", name="Missed Call Alert", name_zh="来电提醒", monthly_fee=300,
         aliases="missed call,call alert,来电提醒", description="SMS about calls missed while off."),
    dict(id="weather_sms", name="Weather SMS", name_zh="天气预报短信", monthly_fee=200,
         aliases="weather,天气", description="A daily weather forecast by SMS."),
    dict(id="reading_vip", name="E-Reading VIP", name_zh="阅读会员", monthly_fee=800,
         aliases="reading,ebook,books,阅读", description="E-book membership."),
    dict(id="roaming_pass", name="Roaming Day Pass", name_zh="国际漫游日包", monthly_fee=0,
         aliases="roaming pass,day pass,漫游包",
         description="25 yuan per day abroad for 1 GB; charged only on days used."),
]

DEVICES = [
    ("Huawei Mate 60 Pro", "sa_nsa"),
    ("Xiaomi 14", "sa_nsa"),
    ("iPhone 15", "sa_nsa"),
    ("OPPO Reno 11", "sa_nsa"),
    ("Samsung Galaxy S10 5G", "nsa"),
    ("Huawei Mate 20 X 5G", "nsa"),
    ("iPhone 11", "none"),
    ("Redmi 9A", "none"),
    ("Honor 9X", "none"),
    ("Senior phone K1", "none"),
]

# (city, district, outdoor 5G, indoor 5G)
COVERAGE = [
    ("beijing", "chaoyang", "sa", "good"),
    ("beijing", "haidian", "sa", "good"),
    ("beijing", "dongcheng", "sa", "partial"),
    ("beijing", "fangshan", "nsa", "partial"),
    ("beijing", "miyun", "nsa", "none"),
    ("shanghai", "pudong", "sa", "good"),
    ("shanghai", "xuhui", "sa", "good"),
    ("shanghai", "jingan", "sa", "partial"),
    ("shanghai", "chongming", "nsa", "none"),
    ("guangzhou", "tianhe", "sa", "good"),
    ("guangzhou", "yuexiu", "sa", "partial"),
    ("guangzhou", "panyu", "nsa", "partial"),
    ("changsha", "yuelu", "sa", "partial"),
    ("changsha", "furong", "sa", "good"),
    ("changsha", "wangcheng", "none", "none"),
    ("jinan", "lixia", "sa", "partial"),
    ("jinan", "licheng", "nsa", "none"),
    ("chengdu", "wuhou", "sa", "good"),
    ("chengdu", "jinjiang", "sa", "partial"),
    ("chengdu", "pidu", "nsa", "none"),
]
