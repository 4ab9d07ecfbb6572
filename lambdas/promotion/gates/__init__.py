"""Pure gate logic: plain Python over typed inputs, no AWS. Each returns a ``GateVerdict``."""
