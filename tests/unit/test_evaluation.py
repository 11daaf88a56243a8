"""The evaluation's own arithmetic (no model): rejection at a fallback threshold and the
confusions that cost the most, the entity reports."""

from __future__ import annotations

import json

from ops.evaluation import (
    _rejected,
    fallback_threshold,
    print_costly_confusions,
    print_entity_reports,
    print_fallback_sweep,
)


def parse(*ranking: tuple[str, float]) -> dict:
    return {"intent_ranking": [{"name": name, "confidence": score} for name, score in ranking]}


def test_a_message_is_rejected_below_the_threshold_or_when_out_of_scope():
    assert _rejected(parse(("check_bill", 0.40)), 0.45)
    assert not _rejected(parse(("check_bill", 0.50)), 0.45)
    assert _rejected(parse(("out_of_scope", 0.90)), 0.45)
    # Rasa puts nlu_fallback first when it rejects; the classifier's own guess comes next.
    assert not _rejected(parse(("nlu_fallback", 0.45), ("check_bill", 0.40)), 0.30)
    assert _rejected(parse(("nlu_fallback", 0.45)), 0.30)


def test_a_message_is_rejected_when_two_intents_are_too_close():
    close = parse(("check_bill", 0.41), ("explain_charge", 0.38))
    assert _rejected(close, 0.2, ambiguity=0.05)
    assert not _rejected(close, 0.2, ambiguity=0.02)
    assert not _rejected(parse(("check_bill", 0.41)), 0.2, ambiguity=0.05)


def test_the_sweep_counts_rejections_of_each_kind(capsys):
    items = [{"expect": ["out_of_scope"]}, {"expect": ["out_of_scope"]}, {"expect": ["check_bill"]}]
    parses = [parse(("greet", 0.35)), parse(("out_of_scope", 0.9)), parse(("check_bill", 0.55))]
    print_fallback_sweep(items, parses)
    out = capsys.readouterr().out.splitlines()
    by_threshold = out[
        2 : out.index(next(line for line in out if "ambiguity" in line.split()[0:1]))
    ]
    lines = {line.split()[0]: line for line in by_threshold}
    assert lines["0.30"].split()[1:] == ["0.500", "(1/2)", "0.000", "(0/1)"]
    assert lines["0.60"].split()[1:] == ["1.000", "(2/2)", "1.000", "(1/1)"]
    assert lines[f"{fallback_threshold():.2f}"].endswith("<- chosen")


def test_costly_confusions_are_counted_by_pair(capsys):
    def row(truth: str, guess: str) -> dict:
        return {"intent": truth, "intent_prediction": {"name": guess}}

    print_costly_confusions(
        [row("inform", "affirm")] * 3 + [row("greet", "greet"), row("deny", "inform")]
    )
    out = capsys.readouterr().out
    assert "(4 mistakes in all)" in out
    first = out.splitlines()[3].split()
    assert first == ["inform", "affirm", "3"]


def test_entity_reports_show_extractors_that_find_the_annotated_entities(tmp_path, capsys):
    def scores(precision: float, recall: float, support: int) -> dict:
        return {"precision": precision, "recall": recall, "f1-score": 0.5, "support": support}

    (tmp_path / "intent_report.json").write_text(json.dumps({"greet": scores(1, 1, 3)}))
    (tmp_path / "RulerEntityExtractor_report.json").write_text(
        json.dumps(
            {
                "plan": scores(0.9, 0.8, 10),
                "no_entity": scores(1, 1, 99),
                "macro avg": scores(0.9, 0.8, 10),
            }
        )
    )
    # What Rasa writes for the language tag: it finds only an entity nobody annotates.
    (tmp_path / "LanguageDetector_report.json").write_text(
        json.dumps(
            {
                "plan": {**scores(0, 0, 10), "confused_with": {"language": 10}},
            }
        )
    )
    print_entity_reports(tmp_path)
    out = capsys.readouterr().out.splitlines()
    assert "LanguageDetector finds none of the annotated entities" in out[1]
    ruler = out.index("Entities found by RulerEntityExtractor")
    assert out[ruler + 1].split()[0] == "entity"
    assert out[ruler + 2].split() == ["plan", "0.900", "0.800", "0.500", "10"]
    assert out[ruler + 3].split()[:2] == ["macro", "avg"]
    assert not any(line.startswith(("greet", "no_entity")) for line in out)
