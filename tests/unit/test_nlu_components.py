"""The NLU's own components without a trained Rasa model: the pretrained sentence encoder, the
featurizer that hands its vectors to the pipeline, and the linear intent classifier (trained,
stored and loaded again as Rasa does)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.nlu.intent_classifier import LinearIntentClassifier
from rasa_plugins.nlu.sentence_encoder import shared_encoder
from rasa_plugins.nlu.sentence_features import SentenceEmbeddingFeaturizer


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class TestSentenceEncoder:
    def test_one_unit_vector_per_sentence(self):
        vectors = shared_encoder().encode(["how much data do I have left", "我的流量还剩多少", ""])
        assert vectors.shape == (3, 512) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-3)

    def test_meaning_crosses_languages_and_wording(self):
        data_left, chinese, router, weather = shared_encoder().encode(
            [
                "how much data do I have left",
                "我的流量还剩多少",
                "the broadband box shows a red light",
                "will it rain tomorrow",
            ]
        )
        assert cosine(data_left, chinese) > cosine(data_left, weather) + 0.2
        assert cosine(data_left, chinese) > cosine(data_left, router)

    def test_numpy_runs_one_blas_thread_while_encoding(self, monkeypatch):
        """Several BLAS threads fight Rasa's TensorFlow for the two cores (130 ms instead of
        2 ms a sentence under load)."""
        from threadpoolctl import threadpool_info

        encoder = shared_encoder()
        backend = encoder._model._model
        seen: list[int] = []
        original = backend._encode

        def spying(texts):
            seen.extend(
                pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
            )
            return original(texts)

        monkeypatch.setattr(backend, "_encode", spying)
        encoder.encode(["hello"])
        assert seen and set(seen) == {1}


def execution_context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="under_test")


def test_the_featurizer_adds_one_sentence_vector_to_messages_with_text():
    featurizer = SentenceEmbeddingFeaturizer.create(
        {"alias": None}, None, None, execution_context()
    )
    typed, intent_only = Message(data={TEXT: "5G套餐多少钱"}), Message(data={"intent": "greet"})
    featurizer.process([typed, intent_only])
    sequence, sentence = typed.get_dense_features(TEXT)
    assert sequence is None and sentence.features.shape == (1, 512)
    assert intent_only.get_dense_features(TEXT) == (None, None)


def featurized(text: str, intent: str, vocabulary: list[str]) -> Message:
    """A message with made-up features: word counts over `vocabulary` (sparse) and the real
    sentence embedding (dense), as the pipeline's featurizers would leave them."""
    message = Message(data={TEXT: text, "intent": intent})
    counts = [[text.split().count(word) for word in vocabulary]]
    message.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", TEXT, "words"))
    message.add_features(Features(shared_encoder().encode([text]), "sentence", TEXT, "use"))
    return message


TRAINING = [
    ("how much data do i have left", "check_usage"),
    ("data left this month", "check_usage"),
    ("流量还剩多少", "check_usage"),
    ("how many minutes have i used", "check_usage"),
    ("cancel the music pack", "unsubscribe"),
    ("unsubscribe me from video", "unsubscribe"),
    ("退订彩铃", "unsubscribe"),
    ("stop the news sms service", "unsubscribe"),
    ("what's the weather tomorrow", "out_of_scope"),
    ("tell me a joke", "out_of_scope"),
    ("明天会下雨吗", "out_of_scope"),
    ("who won the football match", "out_of_scope"),
]


def test_the_intent_classifier_learns_stores_and_loads(tmp_path):
    vocabulary = sorted({word for text, _ in TRAINING for word in text.split()})
    storage, resource = LocalModelStorage(tmp_path), Resource("linear_intent_classifier")
    classifier = LinearIntentClassifier.create({}, storage, resource, execution_context())
    classifier.train(TrainingData([featurized(t, i, vocabulary) for t, i in TRAINING]))

    # Unseen wording: only the embedding knows these mean the same as the examples.
    unseen = [
        ("remaining gb on my plan", "check_usage"),
        ("把视频会员关掉", "unsubscribe"),
        ("recommend a good movie", "out_of_scope"),
    ]
    messages = [featurized(text, "", vocabulary) for text, _ in unseen]
    classifier.process(messages)
    assert [m.get("intent")["name"] for m in messages] == [intent for _, intent in unseen]
    ranking = messages[0].get("intent_ranking")
    assert pytest.approx(sum(r["confidence"] for r in ranking)) == 1.0
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])

    loaded = LinearIntentClassifier.load({}, storage, resource, execution_context())
    again = [featurized(text, "", vocabulary) for text, _ in unseen]
    loaded.process(again)
    assert [m.get("intent") for m in again] == [m.get("intent") for m in messages]


def test_a_message_without_text_is_left_to_rasa(tmp_path):
    classifier = LinearIntentClassifier.create(
        {}, LocalModelStorage(tmp_path), Resource("c"), execution_context()
    )
    classifier.train(TrainingData([featurized(t, i, ["data"]) for t, i in TRAINING]))
    typed_intent = Message(data={"intent": {"name": "greet", "confidence": 1.0}})
    classifier.process([typed_intent])
    assert typed_intent.get("intent")["name"] == "greet"
