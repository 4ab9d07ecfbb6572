"""What serves a group: its endpoint's variants, each traced back to the model package it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class ServingVariant:
    variant: str
    model_name: str | None
    package_arn: str | None
    weight: float | None
    instance_count: int | None = None


@dataclass(frozen=True)
class ServingState:
    endpoint_name: str
    status: str  # the endpoint status, "absent", or "unknown"
    variants: list[ServingVariant] = field(default_factory=list)
    detail: str | None = None

    def variant_of(self, package_arn: str) -> ServingVariant | None:
        for variant in self.variants:
            if variant.package_arn and variant.package_arn.lower() == package_arn.lower():
                return variant
        return None

    def label_for(self, package_arn: str) -> str | None:
        """``AllTraffic 100%`` when the package serves, else ``None``."""
        variant = self.variant_of(package_arn)
        if variant is None:
            return None
        weight = self.share(variant)
        return f"{variant.variant} {weight:.0%}" if weight is not None else variant.variant

    def share(self, variant: ServingVariant) -> float | None:
        weights = [v.weight for v in self.variants if v.weight is not None]
        if variant.weight is None or not weights or sum(weights) <= 0:
            return None
        return variant.weight / sum(weights)

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint_name": self.endpoint_name,
            "status": self.status,
            "detail": self.detail,
            "variants": [
                {
                    "variant": v.variant,
                    "model_name": v.model_name,
                    "package_arn": v.package_arn,
                    "weight": v.weight,
                    "traffic_share": self.share(v),
                    "instance_count": v.instance_count,
                }
                for v in self.variants
            ],
        }


def serving_state(sagemaker: Any, endpoint_name: str) -> ServingState:
    """Endpoint → endpoint config → models → ``ModelPackageName`` of their containers."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("ValidationException", "ResourceNotFound", "ResourceNotFoundException"):
            return ServingState(endpoint_name, "absent", detail="nothing deployed yet")
        if code in ("AccessDeniedException", "AccessDenied"):
            return ServingState(endpoint_name, "unknown", detail="not allowed to describe the endpoint")
        raise
    current = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    except ClientError as error:
        return ServingState(endpoint_name, endpoint.get("EndpointStatus", "unknown"), detail=str(error))
    variants = []
    for variant in config.get("ProductionVariants", []):
        name = variant["VariantName"]
        live = current.get(name, {})
        weight = live.get("CurrentWeight", variant.get("InitialVariantWeight"))
        variants.append(
            ServingVariant(
                variant=name,
                model_name=variant.get("ModelName"),
                package_arn=_package_of_model(sagemaker, variant.get("ModelName")),
                weight=float(weight) if weight is not None else None,
                instance_count=live.get("CurrentInstanceCount", variant.get("InitialInstanceCount")),
            )
        )
    return ServingState(endpoint_name, str(endpoint.get("EndpointStatus", "unknown")), variants)


def _package_of_model(sagemaker: Any, model_name: str | None) -> str | None:
    if not model_name:
        return None
    try:
        model = sagemaker.describe_model(ModelName=model_name)
    except ClientError:
        return None
    containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
    for container in containers:
        if container.get("ModelPackageName"):
            return str(container["ModelPackageName"])
    return None
