"""Shared package of every function family: observability, typed events, AWS adapters, ledger."""
