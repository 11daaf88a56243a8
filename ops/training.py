"""The trained model: `telecom train`, and which model the other commands use."""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from ops.parts import rasa_command
from telecom_assistant.database import PROJECT_ROOT

MODELS_DIR = PROJECT_ROOT / "models"
KEEP_MODELS = 3


def latest_model() -> Path | None:
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None


def train(_args: argparse.Namespace | None = None) -> int:
    """Train only when data, domain or config changed (Rasa compares fingerprints)."""
    from rasa_plugins.nlu.spacy_pipeline import ensure_pipeline

    started = time.monotonic()
    # Rasa fingerprints the spaCy pipeline by its path only: a rebuilt pipeline (new names,
    # new segmentation) must retrain everything that depends on its tokens.
    rebuilt = ensure_pipeline()
    result = subprocess.run(
        rasa_command("train", "--out", str(MODELS_DIR), *(["--force"] if rebuilt else [])),
        cwd=PROJECT_ROOT,
    )
    print(f"Training step took {time.monotonic() - started:.0f} s.")
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    for old_model in models[:-KEEP_MODELS]:
        old_model.unlink()
    return result.returncode
