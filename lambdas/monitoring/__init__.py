"""Drift monitoring: data-capture drift (PSI, KS) and performance drift, published to CloudWatch."""
