"""The bridge's own words (everything else the customer reads comes from Rasa), per language."""
from __future__ import annotations

from typing import Optional

ENGLISH = "en"
CHINESE = "zh"

TEXTS: dict[str, dict[str, str]] = {
    ENGLISH: {
        "start": (
            "Hello! I'm the customer-service assistant. Ask me about your bill, plan, "
            "add-ons or network problems.\n\n"
            "To look at your account I first need to verify your phone number: tap the "
            "button below to share it.\n\n"
            "Commands: /help for help, /language to switch between English and 中文."
        ),
        "help": (
            "Just write your question in a message, in English or Chinese.\n"
            "/start: start over and share your phone number to verify\n"
            "/language: choose English or 中文 for these messages"
        ),
        "share_contact": "Share my phone number to verify",
        "choose_language": "Choose your language:",
        "language_set": "I'll write to you in English.",
        "contact_received": "Thank you, checking your number…",
        "contact_not_yours": (
            "Sorry, for your security I can only verify your own phone number. "
            "Please share your own contact with the button, or type your number."
        ),
        "slow_down": (
            "You're sending messages a little too fast; please slow down and try again "
            "in a moment."
        ),
        "unavailable": "The assistant is unavailable right now; I'll answer as soon as it's back.",
        "button_expired": "That button has expired; please type your answer instead.",
        "text_only": "Sorry, I can only read text messages.",
        "nothing_to_read": "I couldn't find any words in that message; please type your question.",
        "private_only": (
            "I only talk in private chats, so that nobody else reads your account. "
            "Write to me privately: https://t.me/{bot_username}"
        ),
    },
    CHINESE: {
        "start": (
            "您好！我是客服助手，可以帮您查询账单、套餐、增值业务或处理网络问题。\n\n"
            "查看您的账户前，需要先验证您的手机号：请点击下方按钮分享手机号。\n\n"
            "命令：/help 查看帮助，/language 切换 English / 中文。"
        ),
        "help": (
            "直接发送您的问题即可，中文或英文都可以。\n"
            "/start：重新开始并分享手机号进行验证\n"
            "/language：选择 English 或 中文 显示这些提示"
        ),
        "share_contact": "分享手机号进行验证",
        "choose_language": "请选择语言：",
        "language_set": "好的，我会用中文与您交流。",
        "contact_received": "谢谢，正在核对您的手机号…",
        "contact_not_yours": "抱歉，为了您的账户安全，我只能验证您本人的手机号。请用按钮分享您自己的联系方式，或直接输入手机号。",
        "slow_down": "您发送消息的速度有点快，请稍候片刻再试。",
        "unavailable": "助手暂时无法响应，恢复后我会马上回复您。",
        "button_expired": "该按钮已失效，请直接输入您的回答。",
        "text_only": "抱歉，我目前只能识别文字消息。",
        "nothing_to_read": "您的消息里没有可以识别的文字，请重新输入您的问题。",
        "private_only": "为了不让他人看到您的账户信息，我只在私聊中回复。请私聊我：https://t.me/{bot_username}",
    },
}

LANGUAGE_NAMES = {ENGLISH: "English", CHINESE: "中文"}


def language_from_telegram(language_code: Optional[str]) -> str:
    """The language a Telegram user's app is set to: zh, zh-hans, zh-hant… are Chinese."""
    return CHINESE if (language_code or "").lower().startswith("zh") else ENGLISH


def text(language: str, key: str) -> str:
    return TEXTS[language][key]
