"""Which language a customer wrote in: Simplified Chinese or English, often mixed."""

from __future__ import annotations

import re
from typing import Any

ENGLISH = "en"
CHINESE = "zh"
LANGUAGES = (ENGLISH, CHINESE)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str | None:
    """Chinese when the message has at least as many Han characters as English words.

    A Han character carries about a word's meaning, so "帮我退订Music Pack" (4 characters,
    2 words) is Chinese and "cancel my 彩铃 please" (2 characters, 3 words) is English.
    None when the message has neither (a phone number, a code, an emoji): the customer's
    language stays what it was.
    """
    han = len(_HAN.findall(text or ""))
    words = len(_LATIN_WORD.findall(text or ""))
    if not han and not words:
        return None
    return CHINESE if han >= words else ENGLISH


def response_text(domain: dict[str, Any], name: str, language: str) -> str | None:
    """A domain response's text in a language, chosen the way Rasa chooses: the variant whose
    condition is that language (slot ``language``), else the unconditional one."""
    variants = domain.get("responses", {}).get(name) or []
    for variant in variants:
        conditions = variant.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variant.get("text")
    return next((v.get("text") for v in variants if not v.get("condition")), None)


# A greeting at the start of a message that goes on to ask something ("hello 帮我看看这个月
# 消费多少"): the request is answered, and the greeting returned first.
_GREETING_OPENER = re.compile(
    r"^\W*(?:"
    r"(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening)|morning)"
    r"(?:\s+(?:there|everyone|team|bot|assistant))?\b"
    r"|你好|您好|嗨|哈喽|哈啰|早上好|上午好|中午好|下午好|晚上好|早安|在吗|在不在"
    r")[\s\W_]*(?:呀|啊|哈)?[\s\W_]*",
    re.IGNORECASE,
)


def opens_with_greeting(text: str) -> bool:
    """True when the message starts with a greeting and has words after it."""
    match = _GREETING_OPENER.match(text or "")
    if not match:
        return False
    rest = text[match.end() :]
    return bool(_HAN.search(rest) or _LATIN_WORD.search(rest))


def _phrases(*alternatives: str) -> str:
    return "|".join(sorted(alternatives, key=len, reverse=True))


# Words around a stop or a yes that change nothing ("ok forget it thanks", "那算了吧").
_FILLER = _phrases(
    "ok",
    "okay",
    "oh",
    "ah",
    "um",
    "actually",
    "please",
    "thanks",
    "thank you",
    "just",
    "then",
    "you know what",
    "no",
    "nah",
    "hmm",
    "哦",
    "噢",
    "嗯",
    "呃",
    "那",
    "那就",
    "还是",
    "吧",
    "啦",
    "了",
    "呀",
    "啊",
    "谢谢",
    "好吧",
    "先",
    "哎",
    "唉",
    "哎呀",
    "ugh",
    "well",
    "meh",
    "sorry",
)
# Words that stop whatever follows them ("forget it, not worth the hassle") ...
_STOP_ANYWAY = _phrases(
    "never mind",
    "nevermind",
    "forget it",
    "forget about it",
    "don't bother",
    "dont bother",
    "i give up",
    "leave it",
    "not now",
    "算了",
    "不用了",
    "不办了",
    "不弄了",
    "不要了",
    "不查了",
    "不搞了",
    "不想弄了",
    "不想办了",
    "先不了",
    "先不用了",
    "不需要了",
    "别弄了",
    "不做了",
)
# ... and words that stop only on their own: "cancel my music pack" is a request.
_STOP_ALONE = _phrases(
    "cancel",
    "cancel that",
    "cancel it",
    "stop",
    "stop it",
    "stop this",
    "stop here",
    "quit",
    "exit",
    "skip it",
    "取消",
    "退出",
    "停止",
)
_SEP = r"[\s,，.。!！~]*"
_FILLERS = rf"(?:(?:{_FILLER}){_SEP})*"
_STOP_MESSAGE = re.compile(
    rf"^{_FILLERS}(?:(?:{_STOP_ANYWAY})(?:{_SEP}.*)?|(?:{_STOP_ALONE})(?:{_SEP}(?:{_FILLER}))*)$",
    re.IGNORECASE | re.DOTALL,
)


def _bare(text: str) -> str:
    """The message without surrounding punctuation, emoji and spaces."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", text or "").strip()


def asks_to_stop(text: str) -> bool:
    """The message asks to stop what is under way: "cancel", "never mind", "算了吧", "不用了谢谢",
    "actually forget it, not worth the hassle". "cancel my music pack" is a request, not a stop."""
    return bool(_STOP_MESSAGE.match(_bare(text)))


_YES_OPENER = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|ok|okay|alright|go ahead|please do|do it|right|correct|fine"
    r"|嗯+|好+的?|好吧|行|可以|是的?|对|没问题|要|办吧|退吧|确认)(?![a-z])",
    re.IGNORECASE,
)
_NO_OPENER = re.compile(
    r"^(?:(?:hmm+|um+|uh+|oh|well|actually|wait|嗯+|呃|哦|那|还是)[\s,，.。]*)*"
    r"(?:no|nope|nah|don't|do not|not|不|别|没事|算了|取消)(?![a-z])",
    re.IGNORECASE,
)
# "Still not working", "did all that, no luck", "拔了插了还是上不了网": the steps did not help.
# Strong phrases say it in any sentence; weak ones ("still", "还是") only in a fault report.
_PROBLEM_PERSISTS_STRONG = re.compile(
    r"no luck|didn'?t (?:help|work|fix)|doesn'?t (?:help|work)|still (?:not|no|down|dead|slow"
    r"|dropping|the same|red|broken)|same (?:problem|issue|thing)|tried (?:that|it|everything|all)"
    r"|did (?:all )?(?:that|those)|nothing works|没用|不管用|没效果|没反应|试过了|都试了|照做了"
    r"|还是不行|还是没|还是掉|还是卡|还是慢|还是上不了|依然|仍然",
    re.IGNORECASE,
)
_PROBLEM_PERSISTS = re.compile(r"still|not working|no change|还是|不行|一样", re.IGNORECASE)
_PROBLEM_GONE = re.compile(
    r"works now|working now|fixed|fine now|ok now|all good|back now|sorted|resolved"
    r"|好了|恢复了|可以了|正常了|能用了|解决了",
    re.IGNORECASE,
)


# A "no" anywhere in the sentence: "还要交500违约金啊 那不换了", "I don't want that anymore".
# Not 取消, which is also the verb of a cancellation.
_NEGATION = re.compile(
    r"不|没有|别|算了|don'?t|do not|\bnot\b|\bno\b|never|n't|\bnope\b|\bnah\b",
    re.IGNORECASE,
)


def says_no_somewhere(text: str) -> bool:
    return bool(_NEGATION.search(text or ""))


# Turning down a proposed change in so many words, whatever else the sentence says.
_DECLINES_CHANGE = re.compile(
    r"不换|不变了|不改了|不退了|不取消了|不要了|不办了|先不|再想想|考虑一下|留着"
    r"|don'?t (?:switch|change|cancel|do it)|not (?:switching|changing|now)|keep (?:it|them)"
    r"|leave it|i'?ll think|forget it",
    re.IGNORECASE,
)


def declines_change(text: str) -> bool:
    return bool(_DECLINES_CHANGE.search(text or ""))


def opens_with_yes(text: str) -> bool:
    """The message starts by agreeing ("嗯，退了吧", "yes get rid of it", "ok do it")."""
    return bool(_YES_OPENER.match(_bare(text))) and not opens_with_no(text)


def opens_with_no(text: str) -> bool:
    return bool(_NO_OPENER.match(_bare(text)))


def says_problem_persists(text: str, strongly: bool = False) -> bool:
    found = _PROBLEM_PERSISTS_STRONG.search(text or "") or (
        not strongly and _PROBLEM_PERSISTS.search(text or "")
    )
    return bool(found) and not says_problem_gone(text)


def says_problem_gone(text: str) -> bool:
    return bool(_PROBLEM_GONE.search(text or "")) and not re.search(
        r"not (?:fixed|working)|没好|还没", text or "", re.IGNORECASE
    )


_QUESTION = re.compile(
    r"[?？]|^\W*(?:what|how|which|when|where|why|who|is|are|can|could|do|does|will|wait)\b"
    r"|多少|什么|哪|吗|呢|怎么|几",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """ "wait, how much is the 5G unlimited plan?" rather than "I was charged twice"."""
    return bool(_QUESTION.search(text or ""))
