"""Masking personal data in ticket transcripts: what is masked, in which shape, and what is
left exactly as the customer wrote it."""

import time

import pytest

from telecom_assistant.tickets.redaction import (
    BANK_CARD,
    ID_CARD,
    OTP_CODE,
    PHONE,
    find_personal_data,
    redact,
    redaction_pipeline,
)


def labels(text: str) -> list[str]:
    return [label for label, _, _ in find_personal_data(text)]


@pytest.mark.parametrize(
    "text",
    [
        "我的身份证号是11010519491231002X，卡号6222 0212 3456 7890 128 😀",
        "Line one\r\n\tline two  with   spaces\u3000全角空格 and emoji 👨‍👩‍👧 done.\n",
        "",
    ],
)
def test_tokens_cover_the_text_exactly(text):
    assert redaction_pipeline()(text).text == text


# ID-card numbers


def test_id_card_in_chinese():
    assert redact("我的身份证号是11010519491231002X") == "我的身份证号是******************"


def test_id_card_in_english_with_lowercase_x():
    assert redact("ID number 11010519491231002x, thanks") == "ID number ******************, thanks"


def test_id_card_of_eighteen_digits_and_of_old_fifteen_digits():
    assert labels("身份证110105194912310021") == [ID_CARD]
    assert redact("old ID 110105491231002 please") == "old ID *************** please"


# Bank-card numbers


def test_bank_card_in_chinese_unbroken():
    assert redact("卡号6222021234567890128。") == "卡号*******************。"
    assert labels("卡号6222021234567890") == [BANK_CARD]


def test_bank_card_in_english_grouped_with_spaces_and_dashes():
    assert redact("card 6222 0212 3456 7890 128 ok") == "card **** **** **** **** *** ok"
    assert redact("card 6222-0212-3456-7890.") == "card ****-****-****-****."


def test_id_card_and_bank_card_in_mixed_text():
    text = "我的身份证号是11010519491231002X，卡号6222 0212 3456 7890 128"
    assert find_personal_data(text) == [(ID_CARD, 7, 25), (BANK_CARD, 28, 51)]
    assert redact(text) == "我的身份证号是******************，卡号**** **** **** **** ***"


# Phone numbers: all digits but the last four masked


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13800138000", "*******8000"),
        ("138 0013 8000", "*** **** 8000"),
        ("138-0013-8000", "***-****-8000"),
        ("+86 13800138000", "+** *******8000"),
        ("+86 138 0013 8000", "+** *** **** 8000"),
        ("+8613800138000", "+*********8000"),
        ("0086-138-0013-8000", "****-***-****-8000"),
        ("8613800138000", "*********8000"),
        ("１３８００１３８０００", "*******８０００"),
    ],
)
def test_phone_forms(text, expected):
    assert redact(text) == expected
    assert labels(text) == [PHONE]


def test_phone_in_english_chinese_and_mixed_text():
    assert redact("Call me on 139-1234-5678 please.") == "Call me on ***-****-5678 please."
    assert redact("我的号码是15912345678，谢谢") == "我的号码是*******5678，谢谢"
    assert redact("my 手机 is +86 188 8888 1234 ok") == "my 手机 is +** *** **** 1234 ok"


def test_eleven_digits_that_are_no_mobile_number_are_left():
    assert redact("order 12800138000") == "order 12800138000"


# One-time codes


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Your verification code is 482913.", "Your verification code is ******."),
        ("my OTP: 5521", "my OTP: ****"),
        ("PIN 1234 doesn't work", "PIN **** doesn't work"),
        ("482913 is the passcode", "****** is the passcode"),
        ("the code I got is 48291377", "the code I got is ********"),
        ("code482913", "code******"),
    ],
)
def test_code_near_an_english_code_word(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("验证码是482913", "验证码是******"),
        ("校验码：5521", "校验码：****"),
        ("动态密码 663377 已经收到", "动态密码 ****** 已经收到"),
        ("482913是短信码", "******是短信码"),
        ("我的密码是1234", "我的密码是****"),
        ("动态码收到了，是 8812", "动态码收到了，是 ****"),
    ],
)
def test_code_near_a_chinese_code_word(text, expected):
    assert redact(text) == expected


def test_code_in_mixed_text():
    assert redact("我收到的code是482913 😀") == "我收到的code是****** 😀"
    assert find_personal_data("OTP是 5521") == [(OTP_CODE, 5, 9)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("482913", "******"),
        ("  48291377 \n", "  ******** \n"),
        (
            "Agent: please type the code you received\nCustomer: 4821\n",
            "Agent: please type the code you received\nCustomer: ****\n",
        ),
        ("客服：请输入验证码\n客户：\n663377", "客服：请输入验证码\n客户：\n******"),
    ],
)
def test_a_message_or_line_that_is_only_a_code(text, expected):
    assert redact(text) == expected


def test_a_code_word_too_far_away_masks_nothing():
    text = "The code was wrong so I called the shop and they said wait 482913"
    assert redact(text) == text


# Ordinary numbers stay


@pytest.mark.parametrize(
    "text",
    [
        "I paid ¥25.50 and then 30 yuan",
        "上个月扣了￥1288，这个月又扣了1288元",
        "billed on 2026-11-23 and 2026/11/23",
        "ticket TK-261123-0007 is still open",
        "I used 20GB and 2048 MB this month",
        "my account number is 12345678",
        "call 10086 or 10010",
        "我打了10086，说要等48小时",
        "套餐是5G畅享129元，流量30GB",
    ],
)
def test_ordinary_numbers_are_left(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "The code for ticket TK-261123-0007 didn't arrive",
        "verification failed on 2026-11-23",
        "I reset my PIN and then paid ¥1500",
        "我改了密码，然后充值了1000元",
        "验证码是10086发的",
        "code 2026年没收到",
        "the code cost me 3000 yuan",
    ],
)
def test_numbers_near_a_code_word_that_are_no_codes_are_left(text):
    assert redact(text) == text


def test_text_without_personal_data_is_unchanged_byte_for_byte():
    text = (
        "Hi 👋 我的宽带 keeps dropping since 周一 — speed 100Mbps, bill ¥99.00\r\n"
        "\tticket TK-261123-0007 (priority 2) … 谢谢！🙏🏽  "
    )
    assert redact(text).encode("utf-8") == text.encode("utf-8")


def test_empty_text():
    assert redact("") == ""
    assert find_personal_data("") == []


@pytest.mark.parametrize(
    "text",
    [
        "我的身份证号是11010519491231002X，卡号6222 0212 3456 7890 128",
        "code +86 138 0013 8000 and code 138-0013-8000, 验证码 13800138000",
        "Your verification code is 482913",
        "482913",
        "身份证 110105491231002，手机 0086 13800138000，动态码 5521",
    ],
)
def test_redaction_is_idempotent(text):
    once = redact(text)
    assert once != text
    assert redact(once) == once


def test_masking_keeps_length_and_separators():
    text = "卡号 6222-0212-3456-7890，电话 +86 138 0013 8000，ID 11010519491231002X"
    redacted = redact(text)
    assert len(redacted) == len(text)
    assert [ch for ch in redacted if not ch.isalnum() and ch != "*"] == [
        ch for ch in text if not ch.isalnum()
    ]


def test_long_message():
    chunk = "我的号码是13800138000，验证码 482913，充值¥25.50 on 2026-11-23. "
    text = (chunk * (20_000 // len(chunk) + 1))[:20_000]
    started = time.perf_counter()
    redacted = redact(text)
    elapsed = time.perf_counter() - started
    assert len(redacted) == len(text)
    assert "13800138000" not in redacted and "482913" not in redacted
    assert redacted.count("*******8000") == text.count("13800138000")
    assert "¥25.50 on 2026-11-23" in redacted
    assert elapsed < 5
