"""The agent console: a small web app beside the assistant where agents work the tickets it
escalated (queue, ticket page, hot spots), in English and Simplified Chinese.

Start it with ``python -m console``; :func:`console.app.create_app` builds it for tests.
"""
