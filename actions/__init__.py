"""Rasa custom actions: one module per capability, each a thin adapter over the account service."""
