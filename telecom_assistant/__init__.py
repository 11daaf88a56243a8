"""A telecom customer-service assistant: the account backend, its demo data and the CLI."""
