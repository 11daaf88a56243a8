"""The SMS gateway: messages to a line, and the messages a line sends to the service number
(the SMS business hall, channels/sms/)."""
