"""``registry``: the operator CLI of the governed model registry (boto3 only; no CDK, no SageMaker SDK)."""

__version__ = "0.1.0"
