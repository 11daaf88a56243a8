"""The assistant's settings, read from the environment."""
from __future__ import annotations

import os
from typing import Mapping

EMBEDDED, PRODUCTION = "embedded", "production"
PROFILES = (EMBEDDED, PRODUCTION)


def selected_profile(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("TELECOM_PROFILE") or EMBEDDED
