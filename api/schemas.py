"""The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the API's bodies and answers,
named once and referred to from ``api/operations.py`` by ``ref(...)``.

Answers list the keys a client may rely on as ``required`` and leave the rest open
(``additionalProperties`` is not closed): a new key is not a breaking change."""

from __future__ import annotations

from typing import Any

from api.error_codes import IN_JOB_RECORDS
from services.files.results import RESULT_FORMATS
from services.jobs.record import ACTIVE, FINISHED

Schema = dict[str, Any]

ANY: Schema = {}
TEXT: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
OBJECT: Schema = {"type": "object"}
OBJECT_OR_NULL: Schema = {"type": ["object", "null"]}
TEXTS: Schema = {"type": "array", "items": TEXT}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra: Any):
    """An object with these keys (``required`` always there, ``optional`` sometimes)."""
    properties = {**required, **(optional or {})}
    return {"type": "object", "required": list(required), "properties": properties, **extra}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


PARAMS: Schema = {
    "type": "object",
    "description": "Inference parameters, checked against the model's params schema.",
}
RECORD: Schema = {
    "type": "object",
    "description": "One row: column name → value (unknown columns are ignored and listed "
    "in `ignored_columns`).",
}

# Each JSON form of MLflow's scoring protocol (as `mlflow models serve` reads them), plus
# the plain records the console also takes.
SCORING_FORMS: dict[str, Schema] = {
    "DataframeSplit": obj(
        {
            "dataframe_split": obj(
                {"columns": TEXTS, "data": array(array(ANY))}, {"index": array(ANY)}
            )
        },
        {"params": PARAMS},
        description="pandas' `split` orientation: column names once, rows as lists.",
    ),
    "DataframeRecords": obj(
        {"dataframe_records": array(RECORD)},
        {"params": PARAMS},
        description="pandas' `records` orientation: a list of rows.",
    ),
    "Instances": obj(
        {"instances": {"type": ["array", "object"]}},
        {"params": PARAMS},
        description="TF-serving's row form: a list of rows (records or values), or columns.",
    ),
    "Inputs": obj(
        {"inputs": {"type": ["array", "object"]}},
        {"params": PARAMS},
        description="TF-serving's column form: column name → values, or a list of rows.",
    ),
    "Record": RECORD,
    "Records": {**array(RECORD), "description": "A list of rows."},
}

STORED_FILE: Schema = obj({name: TEXT for name in ("file_id", "filename")} | {"size": INTEGER})
VERSIONS_ASKED: Schema = array(obj({"ref": TEXT, "version": TEXT}))

ANSWERS: dict[str, Schema] = {
    "Error": obj(
        {"error_code": TEXT, "message": TEXT},
        {
            "hint": TEXT,
            "suggestions": {**TEXTS, "description": "Names you may have meant."},
            "missing_module": TEXT,
            "requirement": TEXT,
        },
        description="Every error: a stable `error_code`, a message for people, and what to "
        "do (`hint`) when there is something to do.",
    ),
    "Health": obj(
        {"status": TEXT, "auth_mode": TEXT},
        {
            "registry": TEXT,
            "embedded_registry": {"type": "boolean"},
            "models_cached": INTEGER,
            "model_cache": OBJECT,
            "jobs_runner": TEXT,
        },
    ),
    "ModelSummary": obj(
        {
            "name": TEXT,
            "description": TEXT_OR_NULL,
            "tags": OBJECT,
            "aliases": OBJECT,
            "updated": TEXT_OR_NULL,
        }
    ),
    "ModelList": obj({"models": array(ref("ModelSummary"))}),
    "ModelDetail": {
        "allOf": [ref("ModelSummary"), obj({"versions": array(OBJECT)})],
    },
    "VersionDetail": obj(
        {"model": TEXT, "version": TEXT, "signature": OBJECT, "environment": OBJECT},
        {"alias": TEXT, "input_example": {"type": ["array", "null"]}, "flavors": TEXTS},
    ),
    "Predictions": obj(
        {
            "predictions": array(ANY),
            "input_rows": INTEGER,
            "model": TEXT,
            "version": TEXT,
            "latency_ms": NUMBER,
        },
        {
            "alias": TEXT,
            "labels": array(TEXT_OR_NULL),
            "probabilities": array(OBJECT),
            "ignored_columns": TEXTS,
            "drift": OBJECT_OR_NULL,
        },
    ),
    "Explanation": obj(
        {
            "method": TEXT,
            "explained_output": TEXT,
            "reference": OBJECT,
            "model": TEXT,
            "version": TEXT,
            "rows": array(OBJECT),
            "latency_ms": NUMBER,
        },
        {"alias": TEXT, "text_features": TEXTS},
    ),
    "Importance": obj(
        {
            "kind": {"enum": ["impurity", "coefficients", "mean_abs_shap"]},
            "what": TEXT,
            "reference": OBJECT,
            "features": array(obj({"feature": TEXT, "importance": NUMBER})),
        }
    ),
    "Comparison": obj(
        {
            "model": TEXT,
            "versions": VERSIONS_ASKED,
            "predictions": OBJECT,
            "agreement": {"type": ["number", "null"]},
            "rows": INTEGER,
            "kind": TEXT,
        },
        {"crosstab": ANY, "mean_absolute_difference": ANY, "latency_ms": NUMBER},
    ),
    "ComparedFile": obj(
        {
            "model": TEXT,
            "versions": VERSIONS_ASKED,
            "rows": INTEGER,
            "agreement": {"type": ["number", "null"]},
            "result_file": STORED_FILE,
        }
    ),
    "StoredFile": STORED_FILE,
    "ScoredFile": obj(
        {
            "model": TEXT,
            "version": TEXT,
            "input_rows": INTEGER,
            "failed_rows": INTEGER,
            "latency_ms": NUMBER,
            "predictions": array(ANY),
            "result_file": STORED_FILE,
        },
        {
            "alias": TEXT,
            "distribution": OBJECT_OR_NULL,
            "confidence": OBJECT_OR_NULL,
            "drift": OBJECT_OR_NULL,
        },
    ),
    "Split": obj(
        {
            "model": TEXT,
            "tag": TEXT,
            "arms": array(obj({"ref": TEXT, "weight": INTEGER, "share": NUMBER})),
        }
    ),
    "SplitPrediction": {
        "allOf": [
            ref("Predictions"),
            obj({"arm": TEXT, "key": TEXT, "split": array(OBJECT)}),
        ]
    },
    "Traffic": obj(
        {
            "model": TEXT,
            "since": TEXT_OR_NULL,
            "until": TEXT_OR_NULL,
            "requests": INTEGER,
            "arms": array(OBJECT),
        }
    ),
    "DriftHistory": obj(
        {
            "model": TEXT,
            "version": TEXT,
            "alias": TEXT_OR_NULL,
            "summaries": {**array(OBJECT), "description": "One per scored file, oldest first."},
        }
    ),
    "Job": obj(
        {
            "job_id": TEXT,
            "owner": TEXT,
            "kind": TEXT,
            "model": TEXT,
            "ref": TEXT,
            "version": TEXT,
            "engine": TEXT,
            "state": {"enum": [*ACTIVE, *FINISHED]},
        },
        {
            "alias": TEXT_OR_NULL,
            "progress": OBJECT,
            "summary": OBJECT_OR_NULL,
            "result": OBJECT_OR_NULL,
            "error": {
                "anyOf": [{"type": "null"}, ref("Error")],
                "description": "Why a job failed: any error of the request it came from, or "
                + ", ".join(f"`{code}`" for code in IN_JOB_RECORDS)
                + " (codes only a job's record carries).",
            },
        },
    ),
    "JobList": obj({"jobs": array(ref("Job"))}),
    "Run": obj(
        {
            "id": TEXT,
            "time": {"type": "string", "description": "ISO 8601, UTC."},
            "source": {"type": "string", "description": "`JSON` or `form`."},
            "outcome": {"type": "string", "description": "`ok` or `failed`."},
        },
        {
            "model": TEXT_OR_NULL,
            "version": TEXT_OR_NULL,
            "alias": TEXT_OR_NULL,
            "ref": TEXT_OR_NULL,
            "rows": {"type": ["integer", "null"]},
            "failed_rows": INTEGER,
            "latency_ms": {"type": ["number", "null"]},
            "preview": {
                "type": "string",
                "description": "The first answers, as the page shows them.",
            },
            "message": {"type": "string", "description": "What went wrong, for a failed run."},
            "input": {
                "type": ["string", "null"],
                "description": "The input as sent (JSON text), when it was small enough to keep.",
            },
        },
    ),
    "RunList": obj({"runs": array(ref("Run"))}),
    "Evaluation": obj(
        {
            "label": TEXT,
            "kind": {"enum": ["classification", "regression"]},
            "rows": INTEGER,
            "skipped_rows": INTEGER,
            "versions": array(
                obj(
                    {"ref": TEXT, "version": TEXT, "metrics": OBJECT},
                    {"per_class": OBJECT, "confusion_matrix": OBJECT, "curves": OBJECT},
                )
            ),
        },
        {
            "comparison": OBJECT_OR_NULL,
            "slices": array(OBJECT),
            "skipped": OBJECT,
            "problems": array(OBJECT),
        },
    ),
    "AliasMoved": obj({"alias": TEXT, "version": TEXT_OR_NULL, "previous": TEXT_OR_NULL}),
    "AliasHistory": obj(
        {
            "alias": TEXT,
            "moves": array(
                obj(
                    {
                        "alias": TEXT,
                        "from_version": TEXT_OR_NULL,
                        "to_version": TEXT_OR_NULL,
                        "user": TEXT,
                        "time": TEXT,
                        "text": TEXT,
                    },
                    {"evidence": TEXT_OR_NULL, "kind": TEXT, "model": TEXT},
                )
            ),
        }
    ),
    "AliasRequest": obj(
        {"version": {"type": ["string", "integer"]}},
        {
            "evidence": {
                **TEXT_OR_NULL,
                "description": "What the move rests on (an evaluation job).",
            }
        },
    ),
    "SplitRequest": {
        "type": "object",
        "description": "Arm (a version or alias) → weight; the weights add up to 100.",
        "additionalProperties": INTEGER,
        "examples": [{"Champion": 90, "Challenger": 10}],
    },
    "JobRequest": obj(
        {},
        {
            "kind": {**TEXT, "description": "`score` (the default) or `compare`."},
            "source": {**TEXT, "description": "`upload:<file_id>`, a path or `table:<name>`."},
            "destination": TEXT,
            "format": {"enum": list(RESULT_FORMATS)},
            "engine": {"enum": ["local", "spark"]},
            "probabilities": {"type": "boolean"},
            "every_format": {"type": "boolean"},
            "compare_with": TEXTS,
        },
    ),
}

SCHEMAS: dict[str, Schema] = {**SCORING_FORMS, **ANSWERS}
