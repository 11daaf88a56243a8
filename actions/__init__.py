"""Rasa custom actions: one module per capability, each a thin adapter over the account service.

The action server imports this package and then every module in it before it serves a
request; they are imported here first so that everything loaded with them, which lives as
long as the process, is moved out of the garbage collector's reach (`gc.freeze`). A full
collection would otherwise walk it all: 200-300 ms with the action server stopped, twice a
minute at 10 customers (docs/benchmarks.md).
"""

import gc
import importlib
import pkgutil

# How the action server's composition root (rasa_plugins/action_server.py) hands the actions
# their backend, built from its settings.
from actions.common import install
from telecom_assistant.tickets.redaction import redaction_pipeline

__all__ = ["install"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
# The escalation actions file tickets, whose transcripts are redacted with spaCy: built now,
# so that the first ticket does not wait for it and its objects are frozen with the rest.
redaction_pipeline()

gc.collect()
gc.freeze()
