"""NLU evaluation: cross-validation on our own data, and accuracy on public data nobody on the
project wrote (``../shared/eval-external``; evaluated on, never trained on)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import yaml

from .backend.database import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "results"
EXTERNAL_DIR = PROJECT_ROOT.parent / "shared" / "eval-external"
FALLBACK_INTENTS = {"nlu_fallback": "out_of_scope"}
BIN = Path(sys.executable).parent


def _run(args: list[str], env: Optional[dict[str, str]] = None) -> float:
    """Run a Rasa command quietly; return its wall time in seconds."""
    log = RESULTS_DIR / "evaluate.log"
    started = time.monotonic()
    with log.open("a") as output:
        subprocess.run(args, cwd=PROJECT_ROOT, check=True, stdout=output,
                       stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    return time.monotonic() - started


def print_intent_report(report: dict[str, Any], title: str) -> None:
    print(f"\n{title}")
    print(f"{'intent':<26}{'precision':>10}{'recall':>9}{'F1':>8}{'support':>9}")
    for intent, scores in sorted(report.items()):
        if isinstance(scores, dict) and "support" in scores and intent not in (
            "accuracy", "macro avg", "weighted avg", "micro avg"
        ):
            print(f"{intent:<26}{scores['precision']:>10.3f}{scores['recall']:>9.3f}"
                  f"{scores['f1-score']:>8.3f}{scores['support']:>9}")
    for average in ("macro avg", "weighted avg"):
        if average in report:
            scores = report[average]
            print(f"{average:<26}{scores['precision']:>10.3f}{scores['recall']:>9.3f}"
                  f"{scores['f1-score']:>8.3f}{scores['support']:>9}")


def cross_validate(folds: int) -> dict[str, Any]:
    out = RESULTS_DIR / "cross_validation"
    seconds = _run([str(BIN / "rasa"), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
                    "--cross-validation", "--folds", str(folds), "--successes", "--out", str(out)])
    report = json.loads((out / "intent_report.json").read_text())
    print_intent_report(report, f"Intent classification, {folds}-fold cross-validation "
                                f"({seconds:.0f} s)")
    predictions = [
        *json.loads((out / "intent_successes.json").read_text()),
        *json.loads((out / "intent_errors.json").read_text()),
    ]
    print_per_language(predictions)
    return report


def print_per_language(predictions: list[dict[str, Any]]) -> None:
    """The same cross-validation predictions, split by the language of the example."""
    from sklearn.metrics import precision_recall_fscore_support

    from .language import LANGUAGES, detect_language

    print(f"\n{'language':<10}{'precision':>10}{'recall':>9}{'macro F1':>10}{'accuracy':>10}"
          f"{'examples':>10}")
    for language in LANGUAGES:
        rows = [p for p in predictions if (detect_language(p["text"]) or "en") == language]
        if not rows:
            continue
        truth = [row["intent"] for row in rows]
        guess = [row["intent_prediction"]["name"] for row in rows]
        precision, recall, f1, _ = precision_recall_fscore_support(
            truth, guess, labels=sorted(set(truth)), average="macro", zero_division=0
        )
        accuracy = sum(t == g for t, g in zip(truth, guess)) / len(rows)
        print(f"{language:<10}{precision:>10.3f}{recall:>9.3f}{f1:>10.3f}{accuracy:>10.3f}"
              f"{len(rows):>10}")


def training_time() -> float:
    """A full training from scratch (a throw-away cache, so nothing is restored)."""
    with tempfile.TemporaryDirectory() as scratch:
        return _run(
            [str(BIN / "rasa"), "train", "--out", scratch, "--fixed-model-name", "timing"],
            env={"RASA_CACHE_DIRECTORY": str(Path(scratch) / "cache")},
        )


def load_external() -> list[dict[str, Any]]:
    items = []
    for path in sorted(EXTERNAL_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            items.append({**item, "source": path.stem})
    return items


async def _predict(model: Path, texts: list[str]) -> list[str]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # one debug line per parsed message otherwise
    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed["intent"]["name"]
        predictions.append(FALLBACK_INTENTS.get(intent, intent))
    return predictions


def external_accuracy(model: Path) -> None:
    items = load_external()
    if not items:
        print(f"\nNo external evaluation data in {EXTERNAL_DIR}.")
        return
    predictions = asyncio.run(_predict(model, [item["text"] for item in items]))
    right: Counter = Counter()
    total: Counter = Counter()
    for item, predicted in zip(items, predictions):
        expected = "/".join(item["expect"])
        for key in ((item["source"], item.get("lang", "?"), ""),
                    (item["source"], item.get("lang", "?"), expected)):
            total[key] += 1
            right[key] += predicted in item["expect"]
    print(f"\nExternal data (never trained on), model {model.name}")
    print(f"{'set':<15}{'lang':<6}{'expected intent':<30}{'accuracy':>9}{'items':>7}")
    for key in sorted(total):
        print(f"{key[0]:<15}{key[1]:<6}{key[2] or '(all)':<30}"
              f"{right[key] / total[key]:>9.3f}{total[key]:>7}")
    overall = sum(v for k, v in right.items() if not k[2]) / len(items)
    print(f"{'all':<51}{overall:>9.3f}{len(items):>7}")


def external(_args: Any = None) -> int:
    """Only the external data sets, on the newest model (no cross-validation)."""
    from .cli import latest_model

    model = latest_model()
    if model is None:
        print("No trained model: run `telecom train` first.", file=sys.stderr)
        return 1
    external_accuracy(model)
    return 0


def evaluate_nlu(folds: int) -> int:
    from nlu_components.spacy_pipeline import ensure_pipeline

    from .cli import latest_model, train

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "evaluate.log").unlink(missing_ok=True)
    ensure_pipeline()  # the NLU pipeline loads it from disk
    cross_validate(folds)
    print(f"\nFull training from scratch: {training_time():.0f} s")
    if train(None) != 0:
        return 1
    external_accuracy(latest_model())
    print(f"\nRasa's own output is in {RESULTS_DIR / 'evaluate.log'}.")
    return 0
