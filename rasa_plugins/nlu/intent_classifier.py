"""Intent classification by a regularised linear model over every sentence-level feature:
the sparse word and character n-gram counts of our own examples, and the dense pretrained
sentence embedding (sentence_features.py).

Why not DIET: given the same features, DIET leant on the n-grams it had memorised and gave the
embedding little weight: on text nobody here wrote (../shared/eval-external) it scored Bitext
0.82, CheckFlow 0.33 and rejected 0.67 of CLINC's out-of-scope questions, where this model
scores higher on all three and on our own cross-validation, and trains in seconds instead of
minutes (figures in docs/nlu.md). Intents are all DIET did here: entities come from the ruler.

The trained model is a weight matrix and a bias per intent, stored as numpy arrays (no
pickle), and prediction is one matrix product. Rasa's own LogisticRegressionClassifier was not
enough: it fixes the regularisation and feeds raw counts beside the embedding, so the longer a
message, the more its n-grams outweigh its meaning.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

WEIGHTS_FILE = "weights.npz"
INTENTS_FILE = "intents.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Inverse regularisation strength of the logistic regression (100: best of 3-100 in
            # 5-fold cross-validation, docs/nlu.md).
            "C": 100.0,
            # How much the dense sentence embedding counts against the n-gram counts (both
            # blocks have unit length before weighting).
            "dense_weight": 1.0,
            "max_iter": 3000,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        intents: list[str] | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._intents = intents or []
        self._weights = weights
        self._bias = bias

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _features(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        """One row per message: log-scaled, unit-length n-gram counts beside the weighted
        unit-length embedding (so neither block wins by its scale alone)."""
        rows = []
        for message in messages:
            sparse = message.get_sparse_features(TEXT)[1]
            dense = message.get_dense_features(TEXT)[1]
            counts = (
                scipy.sparse.csr_matrix(sparse.features)
                if sparse is not None
                else scipy.sparse.csr_matrix((1, 0))
            )
            counts = counts.log1p()
            vector = (
                np.asarray(dense.features, dtype=np.float64)
                if dense is not None
                else np.zeros((1, 0))
            )
            rows.append(
                scipy.sparse.hstack(
                    [
                        counts / max(float(scipy.sparse.linalg.norm(counts)), 1e-12),
                        scipy.sparse.csr_matrix(
                            vector
                            / max(float(np.linalg.norm(vector)), 1e-12)
                            * self._config["dense_weight"]
                        ),
                    ]
                )
            )
        return scipy.sparse.vstack(rows).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        if not examples:
            return self._resource
        model = LogisticRegression(
            C=self._config["C"], max_iter=self._config["max_iter"], random_state=0
        ).fit(self._features(examples), [m.get(INTENT) for m in examples])
        self._intents = [str(intent) for intent in model.classes_]
        self._weights, self._bias = model.coef_.T.astype(np.float32), model.intercept_
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        featurized = [m for m in messages if m.get(TEXT) is not None]
        if self._weights is None or not featurized:
            return messages
        for message, scores in zip(featurized, self._probabilities(featurized)):
            ranking = [
                {"name": name, "confidence": confidence}
                for name, confidence in sorted(
                    ((name, float(score)) for name, score in zip(self._intents, scores)),
                    key=lambda named: -named[1],
                )
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(
                INTENT_RANKING_KEY, ranking[: self._config["ranking_length"]], add_to_output=True
            )
        return messages

    def _probabilities(self, messages: list[Message]) -> np.ndarray:
        logits = self._features(messages) @ self._weights + self._bias
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def persist(self) -> None:
        if self._weights is None or self._bias is None:
            return  # nothing learnt: no intents in the training data
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, weights=self._weights, bias=self._bias)
            (directory / INTENTS_FILE).write_text(json.dumps(self._intents), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
                intents = json.loads((directory / INTENTS_FILE).read_text(encoding="utf-8"))
                return cls(
                    config, model_storage, resource, intents, arrays["weights"], arrays["bias"]
                )
        except ValueError:
            # Trained on no intent examples: nothing was stored, nothing to classify.
            return cls(config, model_storage, resource)
