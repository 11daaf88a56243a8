"""The customer web chat: a small page where customers talk to the assistant in a browser,
in English and Simplified Chinese. Its server relays each message to Rasa ("webchat" channel)
and shows agents' replies to the customer's tickets.

Start it with ``python -m channels.webchat``; :func:`channels.webchat.app.create_app` builds it for tests.
"""
