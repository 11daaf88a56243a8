"""Rasa plug-ins of this project: input channels (credentials.yml) and the SQLite tracker
store (endpoints.yml).

Rasa imports this package for them in the process that runs the conversations, before it
answers any message: where Rasa's own per-message work is made cheaper (speedups.py).
"""
from . import speedups

speedups.install()
