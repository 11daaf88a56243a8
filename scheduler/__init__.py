"""The reminder scheduler: a small program beside the assistant (`telecom run` starts it) that
scans every line for reminders (telecom_assistant/reminders/) once a minute and opens the
customer's chat with each through Rasa. Several may run (one per server): a lease in the
database lets one scan at a time, and the reminders' unique keys make a second sending
impossible even if two did."""
