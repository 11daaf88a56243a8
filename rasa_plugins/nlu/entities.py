"""Entities from the project's spaCy entity ruler (see spacy_pipeline.py), each with the
backend's canonical id as its value: "5G畅享" and "5g plus plan" both become plus_5g_129.
Deterministic, in both languages, and exactly what the backend can look up."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_plugins.nlu.spacy_pipeline import load_user_dictionary


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP"
)
class RulerEntityExtractor(GraphComponent, EntityExtractorMixin):
    @classmethod
    def required_components(cls) -> list[type]:
        return [SpacyNLP]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RulerEntityExtractor:
        load_user_dictionary()
        return cls()

    def process(self, messages: list[Message], model: SpacyModel) -> list[Message]:
        for message in messages:
            # The raw text, not SpacyNLP's lower-cased doc: case matters for nothing here,
            # but the ruler's offsets must be the customer's own.
            doc = model.model(message.get(TEXT) or "")
            found: list[dict[str, Any]] = [
                {
                    "entity": ent.label_,
                    "value": ent.ent_id_ or ent.text,
                    "start": ent.start_char,
                    "end": ent.end_char,
                    "confidence": 1.0,
                }
                for ent in doc.ents
            ]
            message.set(
                ENTITIES,
                [*message.get(ENTITIES, []), *self.add_extractor_name(found)],
                add_to_output=True,
            )
        return messages
