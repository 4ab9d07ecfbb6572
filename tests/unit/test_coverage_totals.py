"""The state-machine coverage line merges every pytest-xdist worker's totals."""

from __future__ import annotations

import json
from pathlib import Path

from offline.harness import coverage


def test_the_line_is_the_union_of_every_workers_totals(tmp_path: Path) -> None:
    # Given two workers that saw different parts of one four-state graph (A -> B -> C, A -> D)
    graph = {"states": ["A", "B", "C", "D"], "edges": [["A", "B"], ["B", "C"], ["A", "D"]]}
    (tmp_path / "coverage-gw0.json").write_text(
        json.dumps({**graph, "seen_states": ["A", "B"], "seen_edges": [["A", "B"]]})
    )
    (tmp_path / "coverage-gw1.json").write_text(
        json.dumps({**graph, "seen_states": ["A", "D"], "seen_edges": [["A", "D"]]})
    )
    # Then the run covered 3 of 4 states and 2 of 3 transitions, and B -> C is the one missing
    assert coverage.summary(tmp_path) == (3, 4, 2, 3)
    assert coverage.missing(tmp_path) == ({"C"}, {("B", "C")})
    assert coverage.line(tmp_path) == "state-machine coverage: states 3/4 (75%), transitions 2/3 (67%)"


def test_a_subprocess_of_a_worker_adds_to_its_totals_and_never_overwrites_them(tmp_path: Path) -> None:
    # Given a worker (gw0) and a process it starts (the demo, the sandbox), which inherits its environment
    import os
    import subprocess
    import sys

    from offline import iam_proof

    script = (
        "from offline.harness import coverage; import sys; "
        "g = coverage.Graph({'A', 'B', 'C'}, {('A', 'B'), ('A', 'C')}); coverage.register_definition(g); "
        "coverage.record(g, sys.argv[1:])"
    )
    env = {**os.environ, iam_proof.TOTALS_DIR_VARIABLE: str(tmp_path), "PYTEST_XDIST_WORKER": "gw0"}
    # When each records what its own executions entered
    for entered in (["A", "B"], ["A", "C"]):
        subprocess.run([sys.executable, "-c", script, *entered], env=env, check=True, timeout=60)
    # Then the run's line counts both
    assert coverage.summary(tmp_path) == (3, 3, 2, 2)


def test_the_iam_line_counts_a_stack_once_whatever_id_each_world_created_it_with(tmp_path: Path) -> None:
    from offline import iam_proof

    # Given two workers that each provisioned the serving stack afresh (CloudFormation gave each its own
    # stack id) and called UpdateStack and DescribeStacks on it, and one that read a bucket
    stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/MlopsRegistryDevServing-churn"
    role = "arn:aws:iam::123456789012:role/Deploy"
    first = [[role, "cloudformation:UpdateStack", f"{stack}/3c563d8d-6aa7-4a88-b210-cb990c66b0e4"]]
    second = [
        [role, "cloudformation:UpdateStack", f"{stack}/d322107d-2d23-4481-893a-ff9947af01ef"],
        [role, "cloudformation:DescribeStacks", f"{stack}/d322107d-2d23-4481-893a-ff9947af01ef"],
        [role, "s3:GetObject", "arn:aws:s3:::bucket/3c563d8d-6aa7-4a88-b210-cb990c66b0e4"],
    ]
    for worker, pairs in (("gw0", first), ("gw1", second)):
        (tmp_path / f"iam-{worker}.json").write_text(json.dumps({"calls": len(pairs), "pairs": pairs, "denied": []}))
    # Then the stack's two actions are two pairs, and an object key that looks like an id stays as it is
    assert iam_proof.line(tmp_path) == "IAM coverage: 4 calls, 3 distinct action/resource pairs, 0 denied"
