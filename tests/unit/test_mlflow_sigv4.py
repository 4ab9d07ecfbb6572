"""SigV4 signing of MLflow REST calls: AWS's published test vectors, and a signature recomputed
independently (hashlib/hmac, from the Signature Version 4 specification) for the requests the client
really sends to a real MLflow server through a recording proxy."""

from __future__ import annotations

import hashlib
import hmac
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlops_registry.core.mlflow_rest import (
    TRACKING_SERVER_HEADER,
    Endpoint,
    MlflowRestClient,
    endpoint_for,
    sign,
)

pytestmark = pytest.mark.mlflow  # imports the MLflow library: one worker runs these (tests/conftest.py)

# aws-sig-v4-test-suite (the vectors AWS published with the SigV4 documentation and botocore tests against).
SUITE_KEY = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime(2015, 8, 30, 12, 36, 0)
SCOPE = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"


@pytest.mark.parametrize(
    ("method", "signature"),
    [
        ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),  # get-vanilla
        ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),  # post-vanilla
    ],
)
def test_signer_reproduces_the_published_vanilla_vectors(method: str, signature: str) -> None:
    request = AWSRequest(method=method, url="https://example.amazonaws.com/")
    with mock.patch("botocore.auth.get_current_datetime", return_value=SUITE_TIME):
        sign(request, SUITE_KEY, "service", "us-east-1", content_sha256=False)
    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;x-amz-date, Signature={signature}"
    )


def test_managed_endpoints_and_signing_names() -> None:
    server = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/mlops-registry-dev-mlflow"
    app = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-app/app-abc123"
    assert endpoint_for(server) == Endpoint(
        "https://eu-west-1.experiments.sagemaker.aws",
        "sagemaker-mlflow",
        "eu-west-1",
        ((TRACKING_SERVER_HEADER, server),),
    )
    assert endpoint_for(app) == Endpoint(
        "https://mlflow.sagemaker.eu-west-1.app.aws", "sagemaker", "eu-west-1", (("x-sm-mlflow-app-arn", app),)
    )
    assert endpoint_for("http://127.0.0.1:5000/") == Endpoint("http://127.0.0.1:5000")


# --- independent verification --------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def independent_signature(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, secret: str, region: str, service: str
) -> tuple[str, str]:
    """(SignedHeaders, Signature) per the SigV4 specification, from what the server received."""
    lowered = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    auth = lowered["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0]
    names = signed.split(";")
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in pairs
    )
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(urllib.parse.unquote(path), safe="/-_.~"),
            canonical_query,
            "".join(f"{name}:{lowered[name]}\n" for name in names),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    amz_date = lowered["x-amz-date"]
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), amz_date[:8]), region), service), "aws4_request")
    return signed, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class _Recorder(BaseHTTPRequestHandler):
    """Records each request, forwards it unchanged to the MLflow server, relays the answer."""

    upstream = ""
    seen: list[dict[str, Any]] = []

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        request = urllib.request.Request(
            self.upstream + self.path,
            data=body or None,
            method=self.command,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recording_proxy(mlflow_url: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Recorder", (_Recorder,), {"upstream": mlflow_url, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_signed_rest_calls_reach_a_real_server_and_verify_independently(
    mlflow_url: str, recording_proxy: tuple[str, list[dict[str, Any]]]
) -> None:
    from mlflow.tracking import MlflowClient

    # Given a registered model version on a real MLflow server
    proxy, seen = recording_proxy
    model = f"signed-{uuid.uuid4().hex[:8]}"
    mlflow = MlflowClient(tracking_uri=mlflow_url)
    mlflow.create_registered_model(model)
    run = mlflow.create_run(mlflow.create_experiment(model))
    version = mlflow.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id).version
    # And a client that signs as it would for a managed tracking server
    server_arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/mlops-registry-dev-mlflow"
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1")
    endpoint = Endpoint(proxy, "sagemaker-mlflow", "eu-west-1", ((TRACKING_SERVER_HEADER, server_arn),))
    client = MlflowRestClient(server_arn, credentials=credentials, endpoint=endpoint)
    # When it sets an alias and a tag, reads them back, and deletes the alias
    client.set_alias(model, "champion", str(version))
    client.set_version_tag(model, str(version), "stage", "Production")
    assert client.aliases(model) == {"champion": str(version)}
    client.delete_alias(model, "champion")
    # Then the real server applied every call
    assert mlflow.get_registered_model(model).aliases == {}
    assert mlflow.get_model_version(model, str(version)).tags["stage"] == "Production"
    # And every request carried a signature the SigV4 specification reproduces from what was received
    assert [r["method"] for r in seen] == ["POST", "POST", "GET", "DELETE"]
    for request in seen:
        path, _, query = request["path"].partition("?")
        headers = request["headers"]
        lower = {k.lower(): v for k, v in headers.items()}
        signed, signature = independent_signature(
            request["method"],
            path,
            query,
            headers,
            request["body"],
            credentials.secret_key,
            "eu-west-1",
            "sagemaker-mlflow",
        )
        assert lower["authorization"] == (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{lower['x-amz-date'][:8]}/eu-west-1/sagemaker-mlflow/aws4_request, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", TRACKING_SERVER_HEADER} <= set(
            signed.split(";")
        )
        assert lower["x-amz-content-sha256"] == hashlib.sha256(request["body"]).hexdigest()
        assert lower["x-amz-security-token"] == "session-token-1"
        assert datetime.strptime(lower["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)


def test_a_tampered_request_no_longer_verifies(
    mlflow_url: str, recording_proxy: tuple[str, list[dict[str, Any]]]
) -> None:
    """The independent check can fail: a changed body gives a different signature."""
    proxy, seen = recording_proxy
    server_arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/x"
    endpoint = Endpoint(proxy, "sagemaker-mlflow", "eu-west-1", ((TRACKING_SERVER_HEADER, server_arn),))
    client = MlflowRestClient(server_arn, credentials=SUITE_KEY, endpoint=endpoint)
    with pytest.raises(Exception, match="RESOURCE_DOES_NOT_EXIST"):
        client.set_alias(f"absent-{uuid.uuid4().hex[:8]}", "champion", "1")
    request = seen[-1]
    _, genuine = independent_signature(
        "POST",
        request["path"],
        "",
        request["headers"],
        request["body"],
        SUITE_KEY.secret_key,
        "eu-west-1",
        "sagemaker-mlflow",
    )
    _, tampered = independent_signature(
        "POST",
        request["path"],
        "",
        request["headers"],
        request["body"] + b" ",
        SUITE_KEY.secret_key,
        "eu-west-1",
        "sagemaker-mlflow",
    )
    assert {k.lower(): v for k, v in request["headers"].items()}["authorization"].endswith(f"Signature={genuine}")
    assert genuine != tampered
