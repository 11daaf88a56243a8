"""The SMS business hall: customers' keyword commands and questions by SMS to the service number
(keywords.py and keywords.yml, desk.py), taken from and answered through the SMS gateway, free
text by the assistant (hall.py); `python -m channels.sms` runs it (docs/channels.md)."""
