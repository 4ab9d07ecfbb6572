"""The synthesized templates as resources: CloudFormation intrinsics resolved to emulated resources,
and each resource found by its type and its CDK construct path (the cloud assembly's metadata).

The construct path of a resource (``/MlopsRegistryDevPromotion/Pipeline/StateMachine/Resource``) is
read from the assembly's metadata (``aws:cdk:logicalId`` entries, in the manifest or in each stack's
``additionalMetadataFile``), so no resource is found by guessing at its name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.harness.common import ACCOUNT, PARTITION, REGION, HarnessError


@dataclass
class Resource:
    logical_id: str
    stack: str
    type: str
    properties: dict[str, Any]
    metadata: dict[str, Any]
    ref: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    path: str = ""  # the CDK construct path ("" when the assembly does not say)

    @property
    def segments(self) -> list[str]:
        """The construct ids of the path below the stack (``["Pipeline", "StateMachine", "Resource"]``)."""
        return self.path.strip("/").split("/")[1:] if self.path else []


def construct_paths(outdir: Path | None) -> dict[tuple[str, str], str]:
    """(stack name, logical id) -> CDK construct path, from the cloud assembly in ``outdir``."""
    if outdir is None or not (Path(outdir) / "manifest.json").is_file():
        return {}
    outdir = Path(outdir)
    manifest = json.loads((outdir / "manifest.json").read_text())
    paths: dict[tuple[str, str], str] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        stack = artifact.get("properties", {}).get("stackName") or artifact.get("displayName") or artifact_id
        metadata = dict(artifact.get("metadata", {}))
        extra = artifact.get("additionalMetadataFile")
        if extra and (outdir / extra).is_file():
            metadata.update(json.loads((outdir / extra).read_text()))
        for path, entries in metadata.items():
            for entry in entries:
                if entry.get("type") == "aws:cdk:logicalId":
                    paths[(stack, str(entry["data"]))] = path
    return paths


class Resolver:
    """Resolves CloudFormation intrinsics of the synthesized templates to emulated resources."""

    def __init__(self, templates: dict[str, dict[str, Any]], outdir: Path | None = None) -> None:
        self.templates = templates
        self.resources: dict[tuple[str, str], Resource] = {}
        self.exports: dict[str, tuple[str, Any]] = {}
        paths = construct_paths(outdir)
        for stack, template in templates.items():
            for logical_id, body in template.get("Resources", {}).items():
                self.resources[(stack, logical_id)] = Resource(
                    logical_id,
                    stack,
                    body["Type"],
                    body.get("Properties", {}),
                    body.get("Metadata", {}),
                    path=paths.get((stack, logical_id), ""),
                )
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export:
                    self.exports[export] = (stack, output["Value"])

    # --- finding resources --------------------------------------------------------------------
    def of_type(self, rtype: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == rtype]

    def at(self, rtype: str, construct: str) -> list[Resource]:
        """Resources of ``rtype`` whose construct path holds ``construct`` ("Pipeline/StateMachine") as
        consecutive whole construct ids."""
        wanted = construct.strip("/").split("/")
        found = []
        for resource in self.of_type(rtype):
            segments = resource.segments
            if any(segments[i : i + len(wanted)] == wanted for i in range(len(segments) - len(wanted) + 1)):
                found.append(resource)
        return found

    def one(self, rtype: str, construct: str) -> Resource:
        """The one resource of ``rtype`` at ``construct`` (see ``at``); a HarnessError otherwise."""
        found = self.at(rtype, construct)
        if len(found) != 1:
            known = sorted(r.path or f"{r.stack}/{r.logical_id} (no construct path)" for r in self.of_type(rtype))
            raise HarnessError(
                f"expected one {rtype} at construct path .../{construct}/..., found {len(found)}; the app has {known}"
            )
        return found[0]

    # --- intrinsics ---------------------------------------------------------------------------
    def resolve(self, value: Any, stack: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(v, stack) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self._ref(arg, stack)
            if fn == "Fn::GetAtt":
                resource = self.resources[(stack, arg[0])]
                if arg[1] not in resource.attrs:
                    raise HarnessError(f"no emulated attribute {arg[1]} for {stack}/{arg[0]} ({resource.type})")
                return resource.attrs[arg[1]]
            if fn == "Fn::Join":
                return arg[0].join(str(self.resolve(p, stack)) for p in arg[1])
            if fn == "Fn::ImportValue":
                name = self.resolve(arg, stack)
                source_stack, source_value = self.exports[name]
                return self.resolve(source_value, source_stack)
            if fn == "Fn::Select":
                return self.resolve(arg[1], stack)[int(arg[0])]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1], stack)).split(arg[0])
            if fn == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for key in ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"):
                    text = text.replace("${" + key + "}", self._ref(key, stack))
                return text
        return {k: self.resolve(v, stack) for k, v in value.items()}

    def _ref(self, name: str, stack: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        resource = self.resources.get((stack, name))
        if resource is None:
            parameters = self.templates[stack].get("Parameters", {})
            if name in parameters:
                return str(parameters[name].get("Default", ""))
            raise HarnessError(f"unresolvable Ref {name} in {stack}")
        return resource.ref
