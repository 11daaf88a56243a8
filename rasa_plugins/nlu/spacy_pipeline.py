"""The project's own spaCy pipeline: a blank Chinese pipeline whose tokenizer is jieba (which
also splits English on spaces and punctuation), plus an entity ruler that finds phone numbers,
money amounts, dates, ticket numbers, plans, add-ons, places, charge kinds, consent disputes,
complaint categories, network faults and kinds of reminder in both languages, each with the
backend's canonical id.

No trained spaCy pipeline on PyPI fits spaCy < 3.5, and nothing may be downloaded at run time,
so the pipeline is built here from the catalogue and the NLU data's synonyms, saved to disk,
and loaded through Rasa's SpacyNLP (`model:` in config.yml).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jieba
import spacy
import yaml

from demo.catalogue import ADDONS, COVERAGE, PLANS
from telecom_assistant.accounts.service import ChargeCategory
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.tickets.model import Category, NetworkIssue

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_DIR = PROJECT_ROOT / "models" / "spacy_telecom"
USER_DICTIONARY = PROJECT_ROOT / "data" / "jieba_userdict.txt"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
FINGERPRINT_FILE = "telecom_fingerprint.txt"
ESCALATION_FILES = "escalation_entities"  # data/nlu/escalation_entities*.yml
REMINDER_FILES = "reminder_entities"  # data/nlu/reminder_entities*.yml
CONSENT_DISPUTED = "yes"
# Not a bare "all": "leave it on after all" must not cancel every add-on.
ALL_ADDONS = [
    "all of them",
    "all my add-ons",
    "all the add-ons",
    "all my services",
    "all the extra services",
    "everything",
    "全部",
    "所有",
    "全都",
]

jieba.setLogLevel(logging.WARNING)
_dictionary_loaded = False


def load_user_dictionary() -> None:
    """jieba keeps its dictionary per process, and a saved spaCy pipeline does not carry it:
    every process that segments (the builder and Rasa) loads it once."""
    global _dictionary_loaded
    if not _dictionary_loaded and USER_DICTIONARY.exists():
        jieba.load_userdict(str(USER_DICTIONARY))
        _dictionary_loaded = True


def entity_types() -> dict[str, str]:
    """Canonical value -> entity type, from the backend's catalogue."""
    types = {plan["id"]: "plan" for plan in PLANS}
    types.update({addon["id"]: "addon" for addon in ADDONS})
    types["all"] = "addon"
    types.update({category.value: "charge_type" for category in ChargeCategory})
    types.update({city: "city" for city, *_ in COVERAGE})
    types.update({district: "district" for _, district, *_ in COVERAGE})
    types[CONSENT_DISPUTED] = "consent_dispute"
    return types


def escalation_entity_types() -> dict[str, str]:
    """Complaint categories and network faults. Kept apart from `entity_types` because
    "broadband" is both a charge on the bill and a complaint category: the synonym file
    decides which one a surface form is."""
    types = {category.value: "complaint_category" for category in Category}
    types.update({issue.value: "network_issue" for issue in NetworkIssue})
    return types


def reminder_entity_types() -> dict[str, str]:
    """The kinds of reminder a customer turns off or on, and "all" of them. Kept apart from
    `entity_types` because "roaming" and "addon" are charges on the bill too."""
    types = {kind.value: "reminder_kind" for kind in ReminderKind}
    types["all"] = "reminder_kind"
    return types


def _nlu_blocks(nlu_dir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(nlu_dir.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            yield path, block


def _examples(block: dict[str, Any]) -> list[str]:
    return [line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip()]


def surface_forms(nlu_dir: Path = NLU_DIR) -> Iterator[tuple[str, str, str]]:
    """(entity type, surface form, canonical value) from the catalogue's names and aliases,
    the synonyms and the lookup tables of the NLU data."""
    types = entity_types()
    for form in ALL_ADDONS:
        yield "addon", form, "all"
    for row in (*PLANS, *ADDONS):
        for name in (row["id"], row["name"], row["name_zh"], *row["aliases"].split(",")):
            if name.strip():
                yield types[row["id"]], name.strip(), row["id"]
    types_of_files = {
        ESCALATION_FILES: escalation_entity_types(),
        REMINDER_FILES: reminder_entity_types(),
    }
    for path, block in _nlu_blocks(nlu_dir):
        block_types = next(
            (kinds for prefix, kinds in types_of_files.items() if path.stem.startswith(prefix)),
            types,
        )
        if "synonym" in block and str(block["synonym"]) in block_types:
            value = str(block["synonym"])
            for form in _examples(block):
                yield block_types[value], form, value
        elif "lookup" in block and block["lookup"] in ("city", "district"):
            for form in _examples(block):
                key = "".join(ch for ch in form.lower() if ch.isalnum())
                if key in types:
                    yield block["lookup"], form, key


def _digits(count: str) -> dict[str, Any]:
    return {"TEXT": {"REGEX": rf"^\d{{{count}}}$"}}


OPTIONAL_SEPARATOR = {"TEXT": {"IN": ["-", " "]}, "OP": "?"}
COUNTRY_CODE = [
    {"TEXT": {"IN": ["+", "＋"]}, "OP": "?"},
    {"TEXT": {"IN": ["86", "0086"]}},
    OPTIONAL_SEPARATOR,
]
MOBILE = {"TEXT": {"REGEX": r"^(?:86)?1[3-9]\d{9}$"}}
MOBILE_GROUPED = [
    {"TEXT": {"REGEX": r"^1[3-9]\d$"}},
    OPTIONAL_SEPARATOR,
    _digits("4"),
    OPTIONAL_SEPARATOR,
    _digits("4"),
]
NUMBER = {"TEXT": {"REGEX": r"^\d+(?:\.\d{1,2})?$"}}
CHINESE_NUMBER = {"TEXT": {"REGEX": r"^[一二两三四五六七八九十百千]+$"}}
CURRENCY_BEFORE = {"LOWER": {"IN": ["¥", "￥", "cny", "rmb"]}}
CURRENCY_AFTER = {"LOWER": {"IN": ["元", "块", "块钱", "元钱", "yuan", "rmb", "kuai", "毛"]}}
MONTH_ZH = {"TEXT": {"REGEX": r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})月(?:份)?$"}}


def token_patterns() -> list[dict[str, Any]]:
    """Phone numbers, money and dates in the shapes customers type them."""
    phone = [
        [MOBILE],
        [*COUNTRY_CODE, MOBILE],
        MOBILE_GROUPED,
        [*COUNTRY_CODE, *MOBILE_GROUPED],
        [{"TEXT": {"IN": ["+", "＋"]}}, MOBILE],
    ]
    amount = [
        [CURRENCY_BEFORE, NUMBER],
        [NUMBER, CURRENCY_AFTER],
        [CHINESE_NUMBER, CURRENCY_AFTER],
    ]
    date = [
        [{"TEXT": {"REGEX": r"^\d{4}-\d{1,2}-\d{1,2}$"}}],
        [MONTH_ZH],
        [MONTH_ZH, {"TEXT": {"REGEX": r"^\d{1,2}[号日]$"}}],
        [{"TEXT": {"IN": ["上个月", "这个月", "本月", "上月", "今天", "昨天"]}}],
        [{"LOWER": {"IN": ["last", "this", "next"]}}, {"LOWER": {"IN": ["month", "week"]}}],
        [{"LOWER": {"IN": ["today", "yesterday"]}}],
        [
            {
                "LOWER": {
                    "IN": [
                        "january",
                        "february",
                        "march",
                        "april",
                        "may",
                        "june",
                        "july",
                        "august",
                        "september",
                        "october",
                        "november",
                        "december",
                    ]
                }
            }
        ],
    ]
    otp_code = [[{"TEXT": {"REGEX": r"^\d{6}$"}}]]
    # TK-261123-0007, tk2611230007, TK 261123 0007 (jieba splits at the dashes and spaces).
    ticket_id = [
        [{"TEXT": {"REGEX": r"(?i)^tk\d{10}$"}}],
        [{"LOWER": "tk"}, OPTIONAL_SEPARATOR, _digits("6"), OPTIONAL_SEPARATOR, _digits("4")],
    ]
    return [
        *({"label": "phone_number", "pattern": p} for p in phone),
        *({"label": "otp_code", "pattern": p} for p in otp_code),
        *({"label": "ticket_id", "pattern": p} for p in ticket_id),
        *({"label": "amount", "pattern": p} for p in amount),
        *({"label": "date", "pattern": p} for p in date),
    ]


def phrase_patterns(forms: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    seen = set()
    patterns = []
    for label, form, value in forms:
        key = (label, form.lower())
        if key not in seen:
            seen.add(key)
            patterns.append({"label": label, "pattern": form, "id": value})
    return patterns


def all_patterns(nlu_dir: Path = NLU_DIR) -> list[dict[str, Any]]:
    return [*token_patterns(), *phrase_patterns(surface_forms(nlu_dir))]


def fingerprint(patterns: list[dict[str, Any]]) -> str:
    dictionary = USER_DICTIONARY.read_bytes() if USER_DICTIONARY.exists() else b""
    payload = json.dumps(patterns, sort_keys=True, ensure_ascii=False).encode() + dictionary
    return hashlib.sha256(payload).hexdigest()


def build_pipeline(patterns: list[dict[str, Any]]) -> spacy.Language:
    load_user_dictionary()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe(
        "entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True}
    )
    ruler.add_patterns(patterns)
    return nlp


def ensure_pipeline(directory: Path = PIPELINE_DIR) -> bool:
    """Build and save the pipeline when its inputs changed; True when it was (re)built."""
    patterns = all_patterns()
    wanted = fingerprint(patterns)
    stamp = directory / FINGERPRINT_FILE
    if stamp.exists() and stamp.read_text() == wanted:
        return False
    directory.mkdir(parents=True, exist_ok=True)
    build_pipeline(patterns).to_disk(directory)
    stamp.write_text(wanted)
    return True
