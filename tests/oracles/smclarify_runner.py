"""Runs smclarify's bias report on a CSV file; executed by the oracle environment (.venv-smclarify).

Usage: python smclarify_runner.py REQUEST.json  ->  JSON on stdout
REQUEST: {"csv": path, "label": col, "positive": [values] | null, "label_threshold": t | null,
          "predicted": col | null, "group": col | null,
          "facets": [{"column": col, "values": [..] | null, "threshold": t | null}]}
Output: {"pre": {facet: [entries]}, "post": {facet: [entries]}} as smclarify.bias.report returns them.
"""

import json
import math
import sys

import pandas as pd
from smclarify.bias.report import FacetColumn, LabelColumn, StageType, bias_report


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if hasattr(value, "item"):
        return clean(value.item())
    return value


def main(path):
    with open(path) as handle:
        request = json.load(handle)
    df = pd.read_csv(request["csv"])
    positive = request.get("positive")
    if request.get("label_threshold") is not None:
        positive = [request["label_threshold"]]
    label = LabelColumn(request["label"], df[request["label"]], positive)
    group = df[request["group"]] if request.get("group") else None
    out = {"pre": {}, "post": {}}
    for facet in request["facets"]:
        sensitive = facet.get("values")
        if facet.get("threshold") is not None:
            sensitive = [facet["threshold"]]
        column = FacetColumn(facet["column"], sensitive)
        out["pre"][facet["column"]] = bias_report(df, column, label, StageType.PRE_TRAINING, group_variable=group)
        if request.get("predicted"):
            predicted = LabelColumn(request["predicted"], df[request["predicted"]], positive)
            out["post"][facet["column"]] = bias_report(
                df, column, label, StageType.POST_TRAINING, predicted_label_column=predicted, group_variable=group
            )
    json.dump(clean(out), sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
