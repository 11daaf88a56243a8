"""Customer satisfaction: ratings of resolved tickets and of conversations the assistant
handled alone, the conversations it closed, and the weekly report the console shows (CSAT,
first-response and resolution times, the share of conversations resolved without a person)."""
