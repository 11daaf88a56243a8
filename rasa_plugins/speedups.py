"""Rasa's own per-message work, made cheaper where Rasa 3.6 offers no setting for it. Each
change gives the same results as Rasa's code; the measurements are in docs/benchmarks.md
("What made messages slow").

- Rasa checks every answer of the action server against a JSON schema with
  `jsonschema.validate`, which first checks the schema itself against the JSON Schema
  meta-schema: about 30 ms of CPU on Rasa's only event loop per custom action, more than all
  the rest of a message's work, while every other customer's message waits. Here the schema
  is checked once and the validator reused; an answer that fails goes through Rasa's own
  check, so it fails exactly as before.
- Rasa finds an event's class by its name by listing every subclass of `Event` again (and
  asking each whether it is abstract), for each event of a conversation it loads from the
  tracker store, every message: 60 µs an event, several milliseconds a message. Here each
  name's class is remembered once Rasa has found it.
- Python's garbage collector, in a full collection, walks every object alive: for Rasa that
  is the model, TensorFlow and every module loaded, 250-380 ms with the event loop stopped,
  about once a minute at 10 customers. Once the server has started (the model loaded), what
  is alive then is moved out of the collector's reach with `gc.freeze()`: it lives as long
  as the process. Full collections then take about 15 ms.
"""

from __future__ import annotations

import gc
from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

_rasa_validation = RemoteAction._validate_action_result
_rasa_event_class = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    """The validator `jsonschema.validate` would build for every answer, built once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_with_checked_schema(action: RemoteAction, result: dict[str, Any]) -> bool:
    if action_response_validator().is_valid(result):
        return True
    return _rasa_validation(action, result)  # raises Rasa's explanation of what is wrong


def _remembered_event_class(
    type_name: str, default: type[Event] | None = None
) -> type[Event] | None:
    event_class = _event_classes.get(type_name)
    if event_class is None:
        # Rasa's answer, and its error for a name it does not know.
        event_class = _rasa_event_class(type_name, default)
        if event_class is not None and event_class.type_name == type_name:
            _event_classes[type_name] = event_class
    return event_class


def install() -> None:
    RemoteAction._validate_action_result = _validate_with_checked_schema
    Event.resolve_by_type = staticmethod(_remembered_event_class)


def freeze_start_up_objects(*_listener_args: Any) -> None:
    """A Sanic `after_server_start` listener: Rasa loads the model before the server starts."""
    gc.collect()
    gc.freeze()
