"""Serving: deploys approved versions through each group's serving stack (blue/green or A/B)."""
