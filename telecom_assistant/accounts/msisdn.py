"""Mainland China mobile numbers (MSISDN) as customers type them."""

from __future__ import annotations

import re

# 11 digits starting 13-19, optionally written with +86, 0086 or 86 in front.
_MSISDN = re.compile(r"^(?:0{0,2}86)?(1[3-9]\d{9})$")


def normalise_msisdn(text: str | None) -> str | None:
    """'+86 138-1234-5678' -> '13812345678'; None when it is not a mobile number."""
    digits = re.sub(r"\D", "", text or "")
    match = _MSISDN.match(digits)
    return match.group(1) if match else None


# A mobile number inside a sentence: 11 digits, possibly grouped by spaces or dashes.
_MSISDN_IN_TEXT = re.compile(r"(?<![\d])(?:\+?0{0,2}86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?![\d])")


def find_msisdns(text: str | None) -> list[str]:
    """Every mobile number written in a sentence, in order: 'call my wife on 139 1234 5678'."""
    found: list[str] = []
    for match in _MSISDN_IN_TEXT.finditer(text or ""):
        msisdn = re.sub(r"\D", "", match.group(1))
        if msisdn not in found:
            found.append(msisdn)
    return found


def mask_msisdn(msisdn: str) -> str:
    """All but the first three and last four digits hidden: 138****5678."""
    return f"{msisdn[:3]}****{msisdn[-4:]}"
