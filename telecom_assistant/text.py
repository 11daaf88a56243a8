"""Customer text as every program behind the channels may assume it: printable.

Control characters (NUL above all, which PostgreSQL refuses in text), lone surrogates (which
no encoder takes) and invisible format characters (zero-width spaces hiding inside a number)
are dropped where a message enters: at the channel programs and at Rasa's channels. Line
breaks and tabs stay; so does the zero-width joiner, which holds emoji sequences together.
"""

from __future__ import annotations

import unicodedata

_KEPT = {"\n", "\t", "\u200d"}
# Not "Cn" (unassigned): emoji newer than this Python's Unicode tables would go too.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs"}


def clean_message(text: str) -> str:
    if text.isprintable():  # the usual case, checked in C
        return text
    return "".join(
        character
        for character in text
        if character in _KEPT or unicodedata.category(character) not in _DROPPED_CATEGORIES
    )
