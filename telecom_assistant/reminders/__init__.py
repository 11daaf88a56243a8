"""Reminders the operator sends before it charges (the regulator's "consumption reminders
before, during and after a service takes effect"): what is due for a line (rules.py), sent once
(store.py: one row per line and event), by SMS always and on the customer's chat when one is
known (scan.py), never in quiet hours unless urgent, never of a kind the customer turned off."""
