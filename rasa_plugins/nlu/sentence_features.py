"""Dense sentence features for DIET from a pretrained multilingual sentence encoder.

The sparse featurizers only know the words and character n-grams of our own training
examples; the encoder has seen language far beyond them ("the broadband box shows a red light"
is near "my internet is down" though they share no word), in Chinese and English alike. Each
message's text gets one vector as a sentence-level feature, beside the sparse ones; DIET learns
how much to trust each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.nlu.sentence_encoder import SentenceEncoder, shared_encoder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    def __init__(self, config: dict[str, Any], name: str, encoder: SentenceEncoder) -> None:
        super().__init__(name, config)
        self._encoder = encoder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name, shared_encoder())

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to configure beyond the featurizer alias every featurizer has."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize([m for m in training_data.training_examples if m.get(TEXT) is not None])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        # A message typed as "/intent" carries no text to featurize; DIET does not classify it.
        self._featurize([m for m in messages if m.get(TEXT) is not None])
        return messages

    def _featurize(self, messages: list[Message]) -> None:
        # One batch: the encoder streams its weights once per batch, not once per sentence.
        vectors = self._encoder.encode([m.get(TEXT).strip() for m in messages])
        for message, vector in zip(messages, vectors):
            self.add_features_to_message(
                sequence=None,
                sentence=np.expand_dims(vector, 0),
                attribute=TEXT,
                message=message,
            )
