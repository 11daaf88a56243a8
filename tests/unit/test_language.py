"""Bilingual NLU pieces that need no trained model: language detection, the spaCy entity
ruler, and Chinese variants of every response."""

from __future__ import annotations

import re

import pytest
import spacy

from actions.common import Names
from rasa_plugins.nlu.spacy_pipeline import PIPELINE_DIR, ensure_pipeline
from telecom_assistant.language import detect_language, opens_with_greeting
from tests.actions_support import DOMAIN


@pytest.mark.parametrize(
    "text, language",
    [
        ("how much data do I have left", "en"),
        ("我的流量还剩多少", "zh"),
        ("5G套餐多少钱", "zh"),
        ("帮我退订Music Pack", "zh"),
        ("check一下我的流量", "zh"),
        ("cancel my 彩铃 please", "en"),
        ("13800000001", None),
        ("482913", None),
        ("😀👍", None),
        ("", None),
    ],
)
def test_language_of_a_message(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text, greets_first",
    [
        ("hello 帮我看看这个月消费多少", True),
        ("hi, how much data do I have left", True),
        ("Good morning! my internet is down", True),
        ("您好，我想退订彩铃", True),
        ("在吗？查下话费", True),
        ("hello", False),
        ("你好呀", False),
        ("Hey there!", False),
        ("hi 👋", False),
        ("history of my bill", False),
        ("hiking plan for data", False),
        ("how much data do I have left, hello?", False),
    ],
)
def test_greeting_in_front_of_a_request(text, greets_first):
    assert opens_with_greeting(text) is greets_first


@pytest.fixture(scope="module")
def ruler():
    ensure_pipeline()
    return spacy.load(PIPELINE_DIR)


def entities(nlp, text: str) -> list[tuple[str, str]]:
    return [(ent.label_, ent.ent_id_ or ent.text) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    "text, number",
    [
        ("13812345678", "13812345678"),
        ("我的号码是138 1234 5678", "138 1234 5678"),
        ("my number is +86 138-1234-5678", "+86 138-1234-5678"),
        ("号码+8613812345678", "+8613812345678"),
        ("138-1234-5678 thx", "138-1234-5678"),
    ],
)
def test_phone_numbers_in_every_common_format(ruler, text, number):
    assert entities(ruler, text) == [("phone_number", number)]


@pytest.mark.parametrize(
    "text, amount",
    [
        ("这个10块是什么", "10块"),
        ("why ¥10 on my bill", "¥10"),
        ("扣了我10元", "10元"),
        ("what is the 10 yuan charge", "10 yuan"),
        ("多收了￥25.5", "￥25.5"),
        ("30块钱的费用", "30块钱"),
    ],
)
def test_money_amounts(ruler, text, amount):
    assert entities(ruler, text) == [("amount", amount)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5G畅享129多少钱", [("plan", "plus_5g_129")]),
        ("tell me about the 5g plus plan", [("plan", "plus_5g_129")]),
        ("帮我退订Music Pack", [("addon", "music_pack")]),
        ("取消彩铃", [("addon", "ringback_tone")]),
        ("北京朝阳有5G吗", [("city", "beijing"), ("district", "chaoyang")]),
        ("is there 5g in Haidian, Beijing", [("district", "haidian"), ("city", "beijing")]),
        ("我从来没订过视频会员", [("consent_dispute", "yes"), ("addon", "video_vip")]),
        ("验证码905128", [("otp_code", "905128")]),
        ("上个月的账单", [("date", "上个月")]),
        ("把所有增值业务都退了", [("addon", "all"), ("charge_type", "addon")]),
    ],
)
def test_names_map_to_the_backends_ids_in_both_languages(ruler, text, expected):
    assert entities(ruler, text) == expected


def test_every_response_has_a_chinese_variant_with_the_same_variables():
    for name, variants in DOMAIN["responses"].items():
        chinese = [v for v in variants if v.get("condition")]
        english = [v for v in variants if not v.get("condition")]
        assert len(chinese) == 1 and len(english) == 1, name
        assert chinese[0]["condition"] == [{"type": "slot", "name": "language", "value": "zh"}]
        variables = [
            set(re.findall(r"{(\w+)}", variant["text"])) for variant in (*chinese, *english)
        ]
        assert variables[0] == variables[1], name
        payloads = [
            [b["payload"] for b in variant.get("buttons", [])] for variant in (*chinese, *english)
        ]
        assert payloads[0] == payloads[1], name


def test_names_follow_the_customers_language(actions_service):
    plan = actions_service.find_plan("plus_5g_129")
    assert Names("zh").plan(plan) == "5G畅享129元套餐"
    assert Names("en").plan(plan) == "5G Plus 129"
    (coverage,) = actions_service.assess_5g("shanghai", "jingan", None).coverage
    assert (Names("zh").district(coverage), Names("en").district(coverage)) == ("静安区", "Jing'an")
    assert Names("zh").join(["彩铃", "音乐包"]) == "彩铃、音乐包"
