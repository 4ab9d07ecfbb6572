"""``HoldoutValidation``: what Staging validation needs beyond the state machine's states.

- the validation function (``promotion.validation_handler``), with NumPy from the AWS SDK for pandas
  layer, allowed exactly the SageMaker calls of the validation on its own job and model names;
- the execution role SageMaker's transform and processing jobs run as: read the model data, the
  holdout and the library's code, write the validation's prefix, pull the model's image and the
  public scikit-learn processing image, write its logs. Only this function may pass it, and only
  to SageMaker (``iam:PassedToService``);
- the library's code for the Processing path: an asset zip (``__main__.py`` + the evidence library)
  that the public SageMaker scikit-learn image runs (docs/evidence.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from aws_cdk import Acknowledgment, Aws, CfnMapping, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import constants
from infra.constructs.encryption import DECRYPT, ENCRYPT_DECRYPT, grant_key_use
from infra.constructs.python_lambda import REPO_ROOT, PythonLambda
from infra.nag import nag_form
from infra.stacks.monitoring_stack import SDK_FOR_PANDAS_LAYER_PARAMETER  # NumPy, as the drift functions
from mlops_registry.core.contracts import HOLDOUT_PREFIX, VALIDATION_EVIDENCE_PREFIX

CODE_DIRECTORY = REPO_ROOT / ".build" / "validation-code"
# The library modules the Processing entry point imports (no pydantic, no boto3).
LIBRARY_FILES = ("__init__.py", "contracts.py", "errors.py", "baseline.py", "evidence")


def stage_processing_code() -> Path:
    """``.build/validation-code``: ``__main__.py`` and ``mlops_registry/core/`` with the evidence library."""
    target = CODE_DIRECTORY
    shutil.rmtree(target, ignore_errors=True)
    package = target / constants.SHARED_PACKAGE / constants.SHARED_CORE
    package.mkdir(parents=True)
    (target / constants.SHARED_PACKAGE / "__init__.py").write_text("")
    source = REPO_ROOT / constants.SHARED_PACKAGE / constants.SHARED_CORE
    for name in LIBRARY_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, package / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, package / name)
    (target / "__main__.py").write_text(
        '"""Staging validation on SageMaker Processing (mlops_registry.core.evidence.processing)."""\n\n'
        "from mlops_registry.core.evidence.processing import main\n\nmain()\n"
    )
    return target


def processing_image(scope: Construct) -> tuple[str, str]:
    """(registry account, image URI) of the public SageMaker scikit-learn image of the stack's region."""
    stack = Stack.of(scope)
    suffix = f"{constants.PROCESSING_IMAGE_REPOSITORY}:{constants.PROCESSING_IMAGE_TAG}"
    if not Token.is_unresolved(stack.region):
        account = constants.PROCESSING_IMAGE_ACCOUNTS.get(stack.region)
        if account is None:
            raise ValueError(f"region {stack.region!r}: no public SageMaker scikit-learn image is listed")
        return account, f"{account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{suffix}"
    mapping = CfnMapping(
        stack,
        "ProcessingImageAccounts",
        mapping={region: {"account": account} for region, account in constants.PROCESSING_IMAGE_ACCOUNTS.items()},
    )
    account = mapping.find_in_map(Aws.REGION, "account")
    return account, f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{suffix}"


class HoldoutValidation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        artifacts: s3.IBucket,
        models: s3.IBucket,
        models_key: kms.IKey | None,
        card_arns: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.code = s3_assets.Asset(self, "ProcessingCode", path=str(stage_processing_code()))
        self.image_account, self.image_uri = processing_image(self)
        self.execution_role = self._execution_role(stack, key, artifacts, models, models_key)
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, SDK_FOR_PANDAS_LAYER_PARAMETER)
        self.function = PythonLambda(
            self,
            "ValidationFunction",
            family="promotion",
            handler="promotion.validation_handler.handler",
            description="Staging validation: Batch Transform on the holdout set, the platform's evidence",
            key=key,
            environment={
                "ARTIFACTS_BUCKET": artifacts.bucket_name,
                "KMS_KEY_ARN": key.key_arn,
                "EXECUTION_ROLE_ARN": self.execution_role.role_arn,
                "LAMBDA_HOLDOUT_MAX_BYTES": str(constants.VALIDATION_HOLDOUT_MAX_BYTES),
                "PROCESSING_IMAGE_URI": self.image_uri,
                "PROCESSING_CODE_URI": self.code.s3_object_url,
                "PROCESSING_ENTRYPOINT": self.code.s3_object_key,
                "PROCESSING_INSTANCE_TYPE": constants.PROCESSING_INSTANCE_TYPE,
                "PROCESSING_MAX_SECONDS": str(int(constants.PROCESSING_MAX_RUNTIME.to_seconds())),
            },
            timeout=constants.VALIDATION_TIMEOUT,
            memory_size=constants.VALIDATION_MEMORY_MB,
            extra_layers=[lambda_.LayerVersion.from_layer_version_arn(self, "SdkForPandasLayer", layer_arn)],
        )
        self._grant_function(stack, key, artifacts, card_arns)

    def _arn(self, stack: Stack, kind: str, name: str) -> str:
        return f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:{kind}/{name}"

    def _execution_role(
        self, stack: Stack, key: kms.IKey, artifacts: s3.IBucket, models: s3.IBucket, models_key: kms.IKey | None
    ) -> iam.Role:
        role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Staging validation jobs (Batch Transform, Processing): holdout in, evidence out",
        )
        validation_objects = artifacts.arn_for_objects(f"{VALIDATION_EVIDENCE_PREFIX}/*")
        holdout_objects = artifacts.arn_for_objects(f"{HOLDOUT_PREFIX}*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadInputs",
                actions=["s3:GetObject"],
                resources=[validation_objects, holdout_objects, models.arn_for_objects("*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="WriteResults", actions=["s3:PutObject"], resources=[validation_objects])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListInputs",
                actions=["s3:ListBucket"],
                resources=[artifacts.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{VALIDATION_EVIDENCE_PREFIX}/*", f"{HOLDOUT_PREFIX}*"]}},
            )
        )
        # The library's code asset: that one object (a Processing input of type S3Prefix lists it too).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadLibraryCode",
                actions=["s3:GetObject"],
                resources=[self.code.bucket.arn_for_objects(self.code.s3_object_key)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListLibraryCode",
                actions=["s3:ListBucket"],
                resources=[self.code.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [self.code.s3_object_key]}},
            )
        )
        grant_key_use(key, role, actions=ENCRYPT_DECRYPT, services=["s3"], context={"aws:s3:arn": artifacts.bucket_arn})
        if models_key is not None:
            grant_key_use(models_key, role, actions=DECRYPT, services=["s3"], context={"aws:s3:arn": models.bucket_arn})
        # The jobs encrypt their volumes with the registry key: SageMaker creates grants for them.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptJobVolumes",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": [f"sagemaker.{stack.region}.amazonaws.com"]},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            )
        )
        image_account = self.image_account
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:{stack.account}:repository/*",
                    f"arn:{stack.partition}:ecr:{stack.region}:{image_account}:repository/"
                    f"{constants.PROCESSING_IMAGE_REPOSITORY}",
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        log_groups = [
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/{kind}:*"
            for kind in ("TransformJobs", "ProcessingJobs")
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=log_groups,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned) support no "
                "resource-level permissions.",
            ),
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason="Run-time object keys, job names and log streams under the validation's own prefixes.",
                )
                for arn in (
                    validation_objects,
                    holdout_objects,
                    models.arn_for_objects("*"),
                    f"arn:{stack.partition}:ecr:{stack.region}:{stack.account}:repository/*",
                    *log_groups,
                )
            ],
        )
        return role

    def _grant_function(
        self,
        stack: Stack,
        key: kms.IKey,
        artifacts: s3.IBucket,
        card_arns: list[str],
    ) -> None:
        fn = self.function
        names = constants.VALIDATION_JOB_PREFIXES
        models = [self._arn(stack, "model", f"{prefix}*") for prefix in names[:1]]
        transforms = [self._arn(stack, "transform-job", f"{prefix}*") for prefix in names[:1]]
        processing = [self._arn(stack, "processing-job", f"{prefix}*") for prefix in names[1:]]
        fn.grant(iam.PolicyStatement(actions=["sagemaker:CreateModel", "sagemaker:DeleteModel"], resources=models))
        fn.grant(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                ],
                resources=transforms,
            )
        )
        fn.grant(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                ],
                resources=processing,
            )
        )
        fn.grant(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        # The holdout (read), the validation's prefix (read and write), the self-reported metrics report.
        fn.grant(iam.PolicyStatement(actions=["s3:GetObject"], resources=[artifacts.arn_for_objects("*")]))
        fn.grant(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[artifacts.arn_for_objects(f"{VALIDATION_EVIDENCE_PREFIX}/*")]
            )
        )
        grant_key_use(
            key, fn.role, actions=ENCRYPT_DECRYPT, services=["s3"], context={"aws:s3:arn": artifacts.bucket_arn}
        )
        # The platform's evaluation goes into the version's model card.
        fn.grant(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeModelCard", "sagemaker:UpdateModelCard"], resources=card_arns
            )
        )
        Validations.of(fn.role).acknowledge(
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason="Job, transient model and object names are made per execution under the validation's "
                    "own prefixes; model cards of the managed groups.",
                )
                for arn in {
                    *models,
                    *transforms,
                    *processing,
                    *card_arns,
                    artifacts.arn_for_objects("*"),
                    artifacts.arn_for_objects(f"{VALIDATION_EVIDENCE_PREFIX}/*"),
                }
            ],
        )
