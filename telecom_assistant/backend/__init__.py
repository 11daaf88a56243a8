"""The account backend: one service interface (``AccountService``) and its SQL implementation."""
from .interface import AccountService  # noqa: F401
