"""Offline emulation support: moto extensions and the state-machine harness (tests and `make demo`)."""
