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
from typing import Any

import yaml

from telecom_assistant.database import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "results"
CONFIG_FILE = PROJECT_ROOT / "config.yml"
TEST_STORIES = [
    PROJECT_ROOT / "tests" / "test_stories.yml",
    PROJECT_ROOT / "tests" / "test_stories_zh.yml",
]
OUT_OF_SCOPE = "out_of_scope"
SWEPT_THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
SWEPT_AMBIGUITIES = (0.0, 0.02, 0.05, 0.1)
MOST_COSTLY_CONFUSIONS = 10
EXTERNAL_DIR = PROJECT_ROOT.parent / "shared" / "eval-external"
FALLBACK_INTENTS = {"nlu_fallback": "out_of_scope"}
BIN = Path(sys.executable).parent


def _run(args: list[str], env: dict[str, str] | None = None) -> float:
    """Run a Rasa command quietly; return its wall time in seconds."""
    log = RESULTS_DIR / "evaluate.log"
    started = time.monotonic()
    with log.open("a") as output:
        subprocess.run(
            args,
            cwd=PROJECT_ROOT,
            check=True,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return time.monotonic() - started


AVERAGES = ("accuracy", "macro avg", "weighted avg", "micro avg")


def print_intent_report(report: dict[str, Any], title: str, label: str = "intent") -> None:
    """A classification report of Rasa's: one row per `label` (intent or entity), then the
    averages."""
    print(f"\n{title}")
    print(f"{label:<26}{'precision':>10}{'recall':>9}{'F1':>8}{'support':>9}")
    for name, scores in sorted(report.items()):
        if isinstance(scores, dict) and "support" in scores and name not in AVERAGES:
            print(
                f"{name:<26}{scores['precision']:>10.3f}{scores['recall']:>9.3f}"
                f"{scores['f1-score']:>8.3f}{scores['support']:>9}"
            )
    for average in ("macro avg", "weighted avg"):
        if average in report:
            scores = report[average]
            print(
                f"{average:<26}{scores['precision']:>10.3f}{scores['recall']:>9.3f}"
                f"{scores['f1-score']:>8.3f}{scores['support']:>9}"
            )


def cross_validate(folds: int) -> dict[str, Any]:
    out = RESULTS_DIR / "cross_validation"
    seconds = _run(
        [
            str(BIN / "rasa"),
            "test",
            "nlu",
            "--nlu",
            "data/nlu",
            "--config",
            "config.yml",
            "--cross-validation",
            "--folds",
            str(folds),
            "--successes",
            "--out",
            str(out),
        ]
    )
    report = json.loads((out / "intent_report.json").read_text())
    print_intent_report(
        report, f"Intent classification, {folds}-fold cross-validation ({seconds:.0f} s)"
    )
    predictions = [
        *json.loads((out / "intent_successes.json").read_text()),
        *json.loads((out / "intent_errors.json").read_text()),
    ]
    print_per_language(predictions)
    print_costly_confusions(predictions)
    print_entity_reports(out)
    return report


def print_costly_confusions(predictions: list[dict[str, Any]]) -> None:
    """The (true, predicted) intent pairs with the most mistakes, in both directions."""
    mistakes = Counter(
        (row["intent"], row["intent_prediction"]["name"])
        for row in predictions
        if row["intent"] != row["intent_prediction"]["name"]
    )
    print(
        f"\nThe {MOST_COSTLY_CONFUSIONS} confusions that cost the most "
        f"({sum(mistakes.values())} mistakes in all)"
    )
    print(f"{'true intent':<26}{'predicted as':<26}{'examples':>9}")
    for (truth, guess), count in mistakes.most_common(MOST_COSTLY_CONFUSIONS):
        print(f"{truth:<26}{guess:<26}{count:>9}")


def print_entity_reports(out: Path) -> None:
    """Entity precision/recall/F1 of every extractor Rasa evaluated that finds any of the
    annotated entities. (Rasa also evaluates components that only add entities nobody
    annotates, such as the language tag: all zeros, said in one line.)"""
    for report_file in sorted(out.glob("*_report.json")):
        if report_file.name in ("intent_report.json", "response_selection_report.json"):
            continue
        report = json.loads(report_file.read_text())
        extractor = report_file.name.removesuffix("_report.json")
        entities = {
            name: scores
            for name, scores in report.items()
            if name != "no_entity" and name not in AVERAGES
        }
        if not any(scores["recall"] for scores in entities.values()):
            print(
                f"\n{extractor} finds none of the annotated entities (not an entity extractor "
                "of this data)."
            )
            continue
        print_intent_report(
            {name: scores for name, scores in report.items() if name != "no_entity"},
            f"Entities found by {extractor}",
            label="entity",
        )


def fallback_settings() -> tuple[float, float]:
    """The FallbackClassifier's (threshold, ambiguity_threshold) in config.yml."""
    config = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    fallback = next(
        component for component in config["pipeline"] if component["name"] == "FallbackClassifier"
    )
    return fallback["threshold"], fallback.get("ambiguity_threshold", 0.1)


def fallback_threshold() -> float:
    return fallback_settings()[0]


def print_fallback_sweep(items: list[dict[str, Any]], parses: list[dict[str, Any]]) -> None:
    """Out-of-scope rejection against false rejection of real requests, per threshold (with
    the configured ambiguity threshold), then per ambiguity threshold (with the configured
    threshold).

    A message is rejected when its best intent is out_of_scope, scores below the threshold, or
    leads the second by less than the ambiguity threshold (what Rasa's FallbackClassifier
    does); the classifier's own ranking is read past nlu_fallback, so other settings than the
    configured ones can be judged too.
    """
    chosen, chosen_ambiguity = fallback_settings()
    out_of_scope = [OUT_OF_SCOPE in item["expect"] for item in items]

    def row(label: str, threshold: float, ambiguity: float, is_chosen: bool) -> None:
        rejected = [_rejected(parse, threshold, ambiguity) for parse in parses]
        oos_rejected = [r for r, oos in zip(rejected, out_of_scope) if oos]
        real_rejected = [r for r, oos in zip(rejected, out_of_scope) if not oos]
        marker = "  <- chosen" if is_chosen else ""
        print(f"{label:>10}{_share(oos_rejected):>24}{_share(real_rejected):>25}{marker}")

    print(
        f"\nFallback threshold (config.yml: {chosen}, ambiguity {chosen_ambiguity}), "
        "on the external data"
    )
    print(f"{'threshold':>10}{'out-of-scope rejected':>24}{'real requests rejected':>25}")
    for threshold in sorted({*SWEPT_THRESHOLDS, chosen}):
        row(f"{threshold:.2f}", threshold, chosen_ambiguity, threshold == chosen)
    print(f"{'ambiguity':>10}   (at threshold {chosen})")
    for ambiguity in sorted({*SWEPT_AMBIGUITIES, chosen_ambiguity}):
        row(f"{ambiguity:.2f}", chosen, ambiguity, ambiguity == chosen_ambiguity)


def _rejected(parse: dict[str, Any], threshold: float, ambiguity: float = 0.0) -> bool:
    ranking = [ranked for ranked in parse["intent_ranking"] if ranked["name"] != "nlu_fallback"]
    best_name, best = (
        (ranking[0]["name"], float(ranking[0]["confidence"])) if ranking else (OUT_OF_SCOPE, 0.0)
    )
    runner_up = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
    return best_name == OUT_OF_SCOPE or best < threshold or best - runner_up < ambiguity


def _share(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.3f} ({sum(flags)}/{len(flags)})" if flags else "-"


def dialogue_accuracy(model: Path) -> None:
    """`rasa test core` on the test stories: the share of conversations predicted exactly."""
    print("\nTest conversations predicted exactly (every action of every turn)")
    correct = total = 0
    for stories in TEST_STORIES:
        out = RESULTS_DIR / "dialogue" / stories.stem
        _run(
            [
                str(BIN / "rasa"),
                "test",
                "core",
                "--model",
                str(model),
                "--out",
                str(out),
                "--stories",
                str(stories),
            ]
        )
        conversations = json.loads((out / "story_report.json").read_text())["conversation_accuracy"]
        correct, total = correct + conversations["correct"], total + conversations["total"]
        print(f"  {stories.name:<24}{conversations['correct']:>4} of {conversations['total']}")
    print(f"  {'all':<24}{correct:>4} of {total} ({correct / total:.3f})")


def print_per_language(predictions: list[dict[str, Any]]) -> None:
    """The same cross-validation predictions, split by the language of the example."""
    from sklearn.metrics import precision_recall_fscore_support

    from telecom_assistant.language import LANGUAGES, detect_language

    print(
        f"\n{'language':<10}{'precision':>10}{'recall':>9}{'macro F1':>10}{'accuracy':>10}"
        f"{'examples':>10}"
    )
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
        print(
            f"{language:<10}{precision:>10.3f}{recall:>9.3f}{f1:>10.3f}{accuracy:>10.3f}"
            f"{len(rows):>10}"
        )


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


async def _parse(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # one debug line per parsed message otherwise
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def external_accuracy(model: Path) -> None:
    items = load_external()
    if not items:
        print(f"\nNo external evaluation data in {EXTERNAL_DIR}.")
        return
    parses = asyncio.run(_parse(model, [item["text"] for item in items]))
    predictions = [
        FALLBACK_INTENTS.get(parse["intent"]["name"], parse["intent"]["name"]) for parse in parses
    ]
    right: Counter = Counter()
    total: Counter = Counter()
    for item, predicted in zip(items, predictions):
        expected = "/".join(item["expect"])
        for key in (
            (item["source"], item.get("lang", "?"), ""),
            (item["source"], item.get("lang", "?"), expected),
        ):
            total[key] += 1
            right[key] += predicted in item["expect"]
    print(f"\nExternal data (never trained on), model {model.name}")
    print(f"{'set':<15}{'lang':<6}{'expected intent':<30}{'accuracy':>9}{'items':>7}")
    for key in sorted(total):
        print(
            f"{key[0]:<15}{key[1]:<6}{key[2] or '(all)':<30}"
            f"{right[key] / total[key]:>9.3f}{total[key]:>7}"
        )
    overall = sum(v for k, v in right.items() if not k[2]) / len(items)
    print(f"{'all':<51}{overall:>9.3f}{len(items):>7}")
    print_fallback_sweep(items, parses)


def external(_args: Any = None) -> int:
    """Only the external data sets, on the newest model (no cross-validation)."""
    from ops.training import latest_model

    model = latest_model()
    if model is None:
        print("No trained model: run `telecom train` first.", file=sys.stderr)
        return 1
    external_accuracy(model)
    return 0


def evaluate_nlu(folds: int) -> int:
    from ops.training import latest_model, train
    from rasa_plugins.nlu.spacy_pipeline import ensure_pipeline

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "evaluate.log").unlink(missing_ok=True)
    ensure_pipeline()  # the NLU pipeline loads it from disk
    cross_validate(folds)
    print(f"\nFull training from scratch: {training_time():.0f} s")
    model = latest_model() if train(None) == 0 else None
    if model is None:
        return 1
    external_accuracy(model)
    dialogue_accuracy(model)
    print(f"\nRasa's own output is in {RESULTS_DIR / 'evaluate.log'}.")
    return 0
