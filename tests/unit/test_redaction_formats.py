"""Redaction of every format the assistant accepts (separators, invisible characters, Chinese
numerals, full-width digits, e-mail addresses), of the values a conversation knows to be
secret, and the tracker store's entry point that keeps phone numbers."""

import sys

import pytest

from telecom_assistant.tickets import redaction
from telecom_assistant.tickets.redaction import (
    BANK_CARD,
    EMAIL,
    ID_CARD,
    OTP_CODE,
    PHONE,
    SEPARATORS,
    TOKEN_RUN,
    find_personal_data,
    may_hold_personal_data,
    redact,
    redact_secrets,
)

ZWSP = "\u200b"  # zero-width space
ZWNJ = "\u200c"  # zero-width non-joiner
WORD_JOINER = "\u2060"


def labels(text: str, **known) -> list[str]:
    return [label for label, _, _ in find_personal_data(text, **known)]


# ---- every format, both languages ------------------------------------------------------------

FORMATS = [
    # Phone numbers: grouped with dots, dashes of every kind, tabs, invisible characters,
    # brackets; 4-3-4, 3-8, 7-4 and digit by digit; Chinese numerals and full-width digits.
    ("call me on 138.0013.8000", "call me on ***.****.8000", PHONE),
    ("call me on 138–0013–8000", "call me on ***–****–8000", PHONE),
    ("call me on 138—0013—8000", "call me on ***—****—8000", PHONE),
    ("call me on 138 - 0013 - 8000", "call me on *** - **** - 8000", PHONE),
    ("call me on 138\t0013\t8000", "call me on ***\t****\t8000", PHONE),
    (f"call me on 138{ZWSP}0013{ZWSP}8000", f"call me on ***{ZWSP}****{ZWSP}8000", PHONE),
    (
        f"call me on 1380{ZWNJ}0138{WORD_JOINER}000",
        f"call me on ****{ZWNJ}***8{WORD_JOINER}000",
        PHONE,
    ),
    ("call me on (138) 0013 8000", "call me on (***) **** 8000", PHONE),
    ("call me on +86 (138) 0013-8000", "call me on +** (***) ****-8000", PHONE),
    ("call me on (+86) 138 0013 8000", "call me on (+**) *** **** 8000", PHONE),
    ("call me on 1380 013 8000", "call me on **** *** 8000", PHONE),
    ("call me on 138 00138000", "call me on *** ****8000", PHONE),
    ("call me on 1380013 8000", "call me on ******* 8000", PHONE),
    ("call me on 1 3 8 0 0 1 3 8 0 0 0", "call me on * * * * * * * 8 0 0 0", PHONE),
    ("我的手机是（138）0013-8000", "我的手机是（***）****-8000", PHONE),
    ("我的号码：138．0013．8000", "我的号码：***．****．8000", PHONE),
    ("我的电话是幺三八零零一三八零零零", "我的电话是*******八零零零", PHONE),
    ("电话 幺三八 零零一三 八零零零，谢谢", "电话 *** **** 八零零零，谢谢", PHONE),
    ("号码一三八〇〇一三八〇〇〇", "号码*******八〇〇〇", PHONE),
    ("手机１３８－００１３－８０００", "手机***－****－８０００", PHONE),
    # ID-card numbers grouped 6-8-4, with spaces or dashes, with the X.
    ("ID 110105 19491231 002X ok", "ID ****** ******** **** ok", ID_CARD),
    ("ID 110105-19491231-0021 ok", "ID ******-********-**** ok", ID_CARD),
    ("身份证号110105 1949 1231 002x", "身份证号****** **** **** ****", ID_CARD),
    (f"身份证11010519491231{ZWSP}002X", f"身份证**************{ZWSP}****", ID_CARD),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证******************", ID_CARD),
    # Bank cards with dots and en-dashes.
    ("card 6222.0212.3456.7890", "card ****.****.****.****", BANK_CARD),
    ("卡号6222–0212–3456–7890–128", "卡号****–****–****–****–***", BANK_CARD),
    # One-time codes: grouped, spaced, quoted, without a code word, in numerals, full-width.
    ("the code is 482 913", "the code is *** ***", OTP_CODE),
    ("the code is 4 8 2 9 1 3", "the code is * * * * * *", OTP_CODE),
    (f"the code is 482{ZWSP}913", f"the code is ***{ZWSP}***", OTP_CODE),
    ('the code is "482913"', 'the code is "******"', OTP_CODE),
    ('"482913"', '"******"', OTP_CODE),
    ("ok it's 482913", "ok it's ******", OTP_CODE),
    ("Customer:\t4821", "Customer:\t****", OTP_CODE),
    (
        "I got the SMS but when I typed it the app said 482913 was wrong",
        "I got the SMS but when I typed it the app said ****** was wrong",
        OTP_CODE,
    ),
    ("验证码 482913 5521 都试过了", "验证码 ****** **** 都试过了", OTP_CODE),
    ("验证码四八二九一三", "验证码******", OTP_CODE),
    ("验证码是 四 八 二 九 一 三", "验证码是 * * * * * *", OTP_CODE),
    ("验证码４８２９１３", "验证码******", OTP_CODE),
    ("４８２９１３", "******", OTP_CODE),
    ("好的，482913", "好的，******", OTP_CODE),
    ("收到的是「482913」", "收到的是「******」", OTP_CODE),
    ("短信里的数字是 482 913", "短信里的数字是 *** ***", OTP_CODE),
    # E-mail addresses: the local part masked, the domain kept.
    (
        "mail me at zhang.san+tk@example.com.cn please",
        "mail me at *****.***+**@example.com.cn please",
        EMAIL,
    ),
    ("我的邮箱是13800138000@qq.com，谢谢", "我的邮箱是***********@qq.com，谢谢", EMAIL),
    ("邮箱 ＺＨＡＮＧ＠ＱＱ.ＣＯＭ", "邮箱 *****＠ＱＱ.ＣＯＭ", EMAIL),
]


@pytest.mark.parametrize("text, expected, label", FORMATS)
def test_every_format_is_masked(text, expected, label):
    assert redact(text) == expected
    assert set(labels(text)) == {label}


@pytest.mark.parametrize("text, expected, label", FORMATS)
def test_masking_every_format_is_idempotent_and_keeps_the_length(text, expected, label):
    assert len(expected) == len(text)
    assert redact(expected) == expected


# ---- what stays ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I paid ¥25.50 on 2026.11.23 and ¥1288.00 on 2026–11–23",
        "上个月扣了１２８８元，套餐是１２９元",
        "二〇二六年十一月二十三日扣了一千二百八十八元",
        "我打了10086和12300，还有一二三四五六七八九个人说不知道",
        "since 2025 my bill went up",
        "in 2025",
        "I used 20 GB and 2 048 MB, speed 100 Mbps",
        "ticket TK-261123-0007 (opened 2026-11-23 10:30)",
        "验证码一直没收到，打了三四次10086",
        "我改了密码三四次，等了四八小时",
        "the code expired on 2026–11–23",
        "code 2026 年没收到",
        "I got 482913 but the shop said it was wrong",
        "the SMS came from 1069 0001 2345",
        "my account number is 12345678",
        "①②③④ are the steps",
        "write to support@ or @telecom on weibo",
    ],
)
def test_ordinary_numbers_and_text_are_left(text):
    assert redact(text) == text


# ---- values known to be secret in this conversation -----------------------------------------

KNOWN = {"known_codes": ("482913",), "known_numbers": ("13800138000",)}


@pytest.mark.parametrize(
    "text, expected",
    [
        # No rule fires for these: the known values are masked all the same.
        (
            "I got 482913 but the shop said it was wrong",
            "I got ****** but the shop said it was wrong",
        ),
        (
            "4-8-2-9-1-3 didn't work, I tried it on 2026-11-23",
            "*-*-*-*-*-* didn't work, I tried it on 2026-11-23",
        ),
        ("我在营业厅说了四八二九一三，他们说不对", "我在营业厅说了******，他们说不对"),
        ("收到４８２９１３之后我等了很久才输入进去", "收到******之后我等了很久才输入进去"),
        (
            "my wife's line, not mine: 138 0013 8000 is mine and she called from it",
            "my wife's line, not mine: *** **** 8000 is mine and she called from it",
        ),
        ("8613800138000", "*********8000"),
        ("我的号是幺三八零零一三八零零零", "我的号是*******八零零零"),
        # Whole groups only: the code inside a longer number is another number.
        ("the order 94829135 was charged twice and the agent said wait", None),
        ("ticket TK-261123-0007 was opened on 2026-11-23", None),
    ],
)
def test_known_values_are_masked_wherever_they_appear(text, expected):
    assert redact(text, **KNOWN) == (text if expected is None else expected)


def test_known_values_in_another_form_than_the_text():
    assert redact(
        "the code I gave at the shop was 482913 and they refused it", known_codes=("四八二九一三",)
    ) == ("the code I gave at the shop was ****** and they refused it")
    assert redact("she called from 13800138000 twice", known_numbers=("+86 138-0013-8000",)) == (
        "she called from *******8000 twice"
    )


def test_known_values_too_short_to_be_secret_are_ignored():
    text = "I was charged 12 yuan for 1288 minutes and called 10086"
    assert redact(text, known_codes=("12", ""), known_numbers=("10086",)) == text


def test_a_known_value_inside_a_longer_piece_of_data_masks_the_whole_piece():
    text = "卡号6222 0212 4829 1300 128"
    assert redact(text, known_codes=("4829",)) == "卡号**** **** **** **** ***"
    assert labels(text, known_codes=("4829",)) == [BANK_CARD]


# ---- the tracker store's entry point ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("验证码是482913", "验证码是******"),
        ("the code is 4 8 2 9 1 3", "the code is * * * * * *"),
        ("我的身份证号是110105 19491231 002X", "我的身份证号是****** ******** ****"),
        ("card 6222-0212-3456-7890", "card ****-****-****-****"),
        ("mail zhang.san@example.com", "mail *****.***@example.com"),
        # Phone numbers stay: the conversation needs them.
        ("my number is 138 0013 8000", "my number is 138 0013 8000"),
        ("我的号码是幺三八零零一三八零零零", "我的号码是幺三八零零一三八零零零"),
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000, code 5521", "+86 138 0013 8000, code ****"),
    ],
)
def test_redact_secrets_masks_secrets_and_keeps_phone_numbers(text, expected):
    assert redact_secrets(text) == expected


def test_redact_secrets_masks_the_known_code_anywhere():
    text = "I got 482913 but the shop said it was wrong"
    assert redact_secrets(text, known_codes=("482913",)) == (
        "I got ****** but the shop said it was wrong"
    )


@pytest.mark.parametrize(
    "text",
    [
        "I want to cancel my music add-on please",
        "我想查一下这个月的账单，为什么多扣了两次钱",
        "5G plan for 129 a month, 20 GB?",
        "一二三 go 😀",
        "",
    ],
)
def test_a_message_that_cannot_hold_a_secret_skips_the_pipeline(monkeypatch, text):
    def no_pipeline():
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr(redaction, "redaction_pipeline", no_pipeline)
    assert not may_hold_personal_data(text)
    assert redact_secrets(text, known_codes=("482913",)) == text
    assert redact(text) == text


def test_the_pre_check_lets_through_every_character_a_number_can_be_made_of():
    """Whatever the tokenizer reads as a digit or a separator, the pre-check does too: a
    number written in it is never skipped."""
    missed = []
    for code_point in range(sys.maxunicode + 1):
        character = chr(code_point)
        match = TOKEN_RUN.fullmatch(character)
        norm = redaction._norm(match.lastgroup, character)
        if norm.isdecimal() or norm in SEPARATORS:
            number = character * 4 if norm.isdecimal() else character.join("1234")
            if not may_hold_personal_data(number):
                missed.append(character)
    assert missed == []


def test_an_event_without_text_is_left_as_it_is():
    assert redact_secrets(None) is None
