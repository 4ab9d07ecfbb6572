"""MLflow's REST API, SigV4-signed through botocore for SageMaker managed MLflow (adapter).

The Lambdas do not ship the MLflow client (a few hundred MB with its dependencies); they need a
handful of model-registry calls. A managed tracking server is reached at
``https://<region>.experiments.sagemaker.aws`` with the server's ARN in the
``x-mlflow-sm-tracking-server-arn`` header, signed for the service ``sagemaker-mlflow``; an MLflow App
at ``https://mlflow.sagemaker.<region>.app.aws`` with ``x-sm-mlflow-app-arn``, signed for
``sagemaker`` (what the ``sagemaker-mlflow`` plugin does). A plain http(s) tracking URI (a team's own
server, the local server of the tests and the demo) is called unsigned unless a signer is given.

``REST_ACTIONS`` maps every call this module makes to the IAM action that authorizes it (Service
Authorization Reference, ``sagemaker-mlflow`` prefix, resource ``mlflow-tracking-server``); the
lifecycle function is granted exactly these.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlops_registry.core.errors import RegistryError

API = "/api/2.0/mlflow"
TRACKING_SERVER_SERVICE = "sagemaker-mlflow"
APP_SERVICE = "sagemaker"
TRACKING_SERVER_HEADER = "x-mlflow-sm-tracking-server-arn"
APP_HEADER = "x-sm-mlflow-app-arn"
# MLflow App REST calls are authorized by one action on the App (Service Authorization Reference).
APP_REST_ACTION = "sagemaker:CallMlflowAppApi"
MLFLOW_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    r"(?P<type>mlflow-tracking-server|mlflow-app)/(?P<id>\S+)$"
)
DEFAULT_TIMEOUT_SECONDS = 10.0

# (method, path) -> the IAM action authorizing it on a tracking server.
REST_ACTIONS: dict[tuple[str, str], str] = {
    ("GET", "registered-models/get"): "sagemaker-mlflow:GetRegisteredModel",
    ("GET", "model-versions/get"): "sagemaker-mlflow:GetModelVersion",
    ("POST", "registered-models/alias"): "sagemaker-mlflow:SetRegisteredModelAlias",
    ("DELETE", "registered-models/alias"): "sagemaker-mlflow:DeleteRegisteredModelAlias",
    ("POST", "model-versions/set-tag"): "sagemaker-mlflow:SetModelVersionTag",
}
LIFECYCLE_MIRROR_ACTIONS: tuple[str, ...] = tuple(sorted(set(REST_ACTIONS.values())))
# What a data scientist needs to track runs and register models on the environment's server (read,
# log, register); deleting experiments, runs or registered models is left to the platform team.
DATA_SCIENTIST_ACTIONS: tuple[str, ...] = tuple(
    f"sagemaker-mlflow:{name}"
    for name in (
        "AccessUI",
        "CreateExperiment",
        "CreateModelVersion",
        "CreateRegisteredModel",
        "CreateRun",
        "FinalizeLoggedModel",
        "GetDownloadURIForModelVersionArtifacts",
        "GetExperiment",
        "GetExperimentByName",
        "GetLatestModelVersions",
        "GetLoggedModel",
        "GetMetricHistory",
        "GetModelVersion",
        "GetModelVersionByAlias",
        "GetRegisteredModel",
        "GetRun",
        "ListArtifacts",
        "ListLoggedModelArtifacts",
        "LogBatch",
        "LogInputs",
        "LogLoggedModelParams",
        "LogMetric",
        "LogModel",
        "LogOutputs",
        "LogParam",
        "SearchExperiments",
        "SearchLoggedModels",
        "SearchModelVersions",
        "SearchRegisteredModels",
        "SearchRuns",
        "SetExperimentTag",
        "SetLoggedModelTags",
        "SetTag",
        "UpdateRun",
    )
)


class MlflowError(RegistryError):
    """An MLflow call failed; ``retryable`` when the server was unreachable, throttled or failing."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.code = code


def tracking_server_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:mlflow-tracking-server/{name}"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call one tracking URI."""

    base_url: str
    service: str | None = None  # SigV4 signing name; None = unsigned
    region: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def endpoint_for(tracking_uri: str) -> Endpoint:
    """The REST endpoint of a tracking URI: a SageMaker MLflow ARN or an http(s) URL."""
    match = MLFLOW_ARN.match(tracking_uri)
    if match:
        region = match.group("region")
        suffix = "aws"  # the plugin's DNS suffix for the aws and aws-us-gov partitions
        if match.group("type") == "mlflow-tracking-server":
            return Endpoint(
                f"https://{region}.experiments.sagemaker.{suffix}",
                TRACKING_SERVER_SERVICE,
                region,
                ((TRACKING_SERVER_HEADER, tracking_uri),),
            )
        return Endpoint(
            f"https://mlflow.sagemaker.{region}.app.{suffix}", APP_SERVICE, region, ((APP_HEADER, tracking_uri),)
        )
    parsed = urllib.parse.urlparse(tracking_uri)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return Endpoint(tracking_uri.rstrip("/"))
    raise MlflowError(
        f"tracking URI {tracking_uri!r} is neither an http(s) URL nor a SageMaker MLflow ARN", retryable=False
    )


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """Where a person opens the run: the server's UI for a URL; for managed MLflow, the console's
    presigned-URL flow starts from the ARN (``aws sagemaker create-presigned-mlflow-tracking-server-url``)."""
    if MLFLOW_ARN.match(tracking_uri):
        return f"{tracking_uri}#/experiments/{experiment_id}/runs/{run_id}"
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def sign(
    request: AWSRequest, credentials: Credentials, service: str, region: str, *, content_sha256: bool = True
) -> AWSRequest:
    """Add SigV4 headers (``Authorization``, ``X-Amz-Date``, session token) with botocore's signer.

    With ``content_sha256`` the payload hash is also sent (and signed) as ``X-Amz-Content-SHA256``, as
    the managed endpoints expect (the ``sagemaker-mlflow`` plugin does the same)."""
    if content_sha256:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(credentials, service, region).add_auth(request)
    return request


class MlflowRestClient:
    """The few model-registry calls the pipeline makes, over MLflow's REST API."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        credentials: Credentials | None = None,
        endpoint: Endpoint | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.endpoint = endpoint or endpoint_for(tracking_uri)
        self.timeout = timeout
        self._credentials = credentials
        self.calls: list[tuple[str, str]] = []  # (method, path) of every call, for the IAM check

    def _credentials_for_signing(self) -> Credentials:
        if self._credentials is None:
            import boto3

            found = boto3.Session().get_credentials()
            if found is None:
                raise MlflowError("no AWS credentials to sign MLflow requests with", retryable=False)
            self._credentials = found.get_frozen_credentials()  # type: ignore[assignment]
        assert self._credentials is not None
        return self._credentials

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if (method, path) not in REST_ACTIONS:
            raise MlflowError(f"MLflow call {method} {path} has no IAM action in REST_ACTIONS", retryable=False)
        url = f"{self.endpoint.base_url}{API}/{path}"
        data: bytes | None = None
        if method == "GET" and body:
            url = f"{url}?{urllib.parse.urlencode(body)}"
        elif body is not None:
            data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **dict(self.endpoint.headers)}
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        if self.endpoint.service and self.endpoint.region:
            sign(request, self._credentials_for_signing(), self.endpoint.service, self.endpoint.region)
        prepared = request.prepare()
        self.calls.append((method, path))
        outgoing = urllib.request.Request(prepared.url, data=data, headers=dict(prepared.headers), method=method)
        try:
            with urllib.request.urlopen(outgoing, timeout=self.timeout) as response:  # noqa: S310 (URL validated)
                text = response.read().decode() or "{}"
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            code = _error_code(detail)
            retryable = error.code == 429 or error.code >= 500
            raise MlflowError(
                f"MLflow {method} {path} at {self.endpoint.base_url}: HTTP {error.code} {code or ''} {detail}".strip(),
                retryable=retryable,
                status=error.code,
                code=code,
            ) from error
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise MlflowError(
                f"MLflow at {self.endpoint.base_url} unreachable ({method} {path}): {reason}", retryable=True
            ) from error
        document = json.loads(text)
        return document if isinstance(document, dict) else {}

    # --- model registry -------------------------------------------------------------------------
    def get_registered_model(self, name: str) -> dict[str, Any]:
        return dict(self.call("GET", "registered-models/get", {"name": name}).get("registered_model", {}))

    def get_model_version(self, name: str, version: str) -> dict[str, Any]:
        return dict(self.call("GET", "model-versions/get", {"name": name, "version": version}).get("model_version", {}))

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self.call("DELETE", "registered-models/alias", {"name": name, "alias": alias})

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.call("POST", "model-versions/set-tag", {"name": name, "version": version, "key": key, "value": value})

    def aliases(self, name: str) -> dict[str, str]:
        """alias -> version of a registered model."""
        model = self.get_registered_model(name)
        return {str(a["alias"]): str(a["version"]) for a in model.get("aliases", [])}


def _error_code(detail: str) -> str | None:
    try:
        document = json.loads(detail)
    except ValueError:
        return None
    return str(document.get("error_code")) if isinstance(document, dict) and "error_code" in document else None
