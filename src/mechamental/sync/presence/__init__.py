"""Presence: who is here and what they view; the service, its stores and the announced ledger."""
