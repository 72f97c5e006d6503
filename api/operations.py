"""The declaration of every API route: what it reads (query parameters, headers, bodies),
what it answers, and which errors it can meet. ``api/routes.py`` puts each one under its
route with ``@declared(...)`` and reads its parameters through it; ``api/openapi.py`` writes
the reference from them. A route without one fails ``tests/api/test_openapi.py``."""

from __future__ import annotations

from api import error_codes as codes
from api.contract import Answer, Body, Operation, Param
from api.error_codes import ErrorCode, code
from api.schemas import SCORING_FORMS, ref
from services import errors
from services.explain.explainer import ExplanationFailed, ExplanationTooSlow
from services.explain.reference import NoReference
from services.files.results import DEFAULT_RESULT_FORMAT, RESULT_FORMATS
from services.files.store import QuotaExceeded, StorageFull
from services.jobs.record import JobNotFound
from services.monitor.split import NoSplit, SplitMisconfigured
from services.registry.demo import IRIS_MODEL
from services.registry.promotion import NothingToRollBack
from services.scoring.probabilities import NoProbabilities
from services.spark.session import SparkUnavailable

MODELS, PREDICT_TAG, FILES, JOBS, MONITOR, CONSOLE = (
    "models",
    "predict",
    "files",
    "jobs",
    "compare and monitor",
    "console",
)

# Errors by where they come from; each operation lists the groups it can meet.
# Before any route: the guard (host, size) and the sign-in (a registry that cannot confirm
# it is REGISTRY_UNAVAILABLE); anything unexpected; and NOT_FOUND, because a path parameter
# holding an encoded slash (%2F) makes the path another one, which may be no route at all.
EVERY_REQUEST = (
    codes.HOST_NOT_ALLOWED,
    codes.NOT_FOUND,
    codes.UNAUTHENTICATED,
    codes.PAYLOAD_TOO_LARGE,
    codes.INTERNAL_ERROR,
    codes.REGISTRY_UNAVAILABLE,
)
CHANGES = (codes.CROSS_SITE_REQUEST,)  # POST and DELETE sent by another site's page
MODEL = (
    code(errors.InvalidInput),  # a name that cannot be one (control characters, "/")
    code(errors.ModelNotFound),
    code(errors.ModelNotAllowed),
    code(errors.PermissionDenied),
)
VERSION = (*MODEL, code(errors.VersionNotFound))
LOADING = (
    code(errors.ModelCannotLoad),
    code(errors.ModelDependencyMissing),
    code(errors.ModelFilesUnreadable),
    code(errors.ModelNeedsNewerMlflow),
)
JSON_INPUT = (
    code(errors.InvalidInput),
    code(errors.SchemaMismatch),
    code(errors.DimensionMismatch),
    code(errors.UnsupportedMediaType),
    code(errors.ModelRejectedInput),
    code(errors.PredictionFailed),
)
EXPLAINING = (
    code(ExplanationFailed),
    code(ExplanationTooSlow),
    code(NoReference),
)
FILE_STORE = (code(QuotaExceeded), code(StorageFull))
A_FILE = (code(errors.FileGone),)
STARTING_JOBS = (
    code(errors.TooManyJobs),
    code(errors.JobsUnavailable),
    code(SparkUnavailable),
)


def errors_of(*groups: tuple[ErrorCode, ...]) -> tuple[ErrorCode, ...]:
    seen: dict[str, ErrorCode] = {}
    for group in (EVERY_REQUEST, *groups):
        for error in group:
            seen.setdefault(error.code, error)
    return tuple(seen.values())


PROBABILITIES = Param(
    "probabilities",
    "`true`: each row's class probabilities (classifiers with `predict_proba`).",
    {"type": "boolean", "default": False},
    default=False,
)
DRIFT = Param(
    "drift",
    "`true`: the batch compared with the version's training reference.",
    {"type": "boolean", "default": False},
    default=False,
)
REFS = Param(
    "refs",
    "The versions or aliases to compare, comma-separated (default `Champion,Challenger`).",
    {"type": "string", "examples": ["Champion,Challenger", "1,2"]},
)
RESULT_FORMAT = Param(
    "format",
    "The result file's format.",
    {"enum": list(RESULT_FORMATS), "default": DEFAULT_RESULT_FORMAT},
    default=DEFAULT_RESULT_FORMAT,
)
FILENAME = Param(
    "filename",
    "The name the file is kept under (made safe as a file name).",
    {"type": "string", "default": "upload.csv"},
    default="upload.csv",
)
# Every path parameter, by the name routes give it.
PATH_PARAMS = {
    param.name: param
    for param in (
        Param(
            "name",
            "A registered model's full name.",
            {"type": "string", "examples": [IRIS_MODEL]},
            where="path",
        ),
        Param(
            "ref",
            "A version number, an alias, `latest`, or a legacy stage.",
            {"type": "string", "examples": ["Champion", "1", "latest"]},
            where="path",
        ),
        Param("file_id", "A file's id, from an upload or a result.", where="path"),
        Param("job_id", "A job's id, from its start.", where="path"),
        Param("asset", "A file of the reference page.", where="path"),
        Param(
            "alias",
            "An alias name: letters, digits, `_` and `-`.",
            {"type": "string", "examples": ["Champion"]},
            where="path",
        ),
    )
}
LABEL = Param(
    "label",
    "The column that holds the true values (required).",
    {"type": "string", "examples": ["species"]},
)
SLICE = Param(
    "slice",
    "A column whose values (or bins, for numbers) get figures of their own.",
    {"type": "string"},
)
SINCE = Param("since", "From this time (ISO 8601, UTC).", {"type": "string"})
UNTIL = Param("until", "Until this time (ISO 8601, UTC).", {"type": "string"})
SPLIT_KEY_HEADER = Param(
    "X-Request-Key",
    "The caller's key: the same key always reaches the same arm while the split holds.",
    where="header",
)
SPLIT_KEY = Param("key", "The key, when a header cannot be sent.", {"type": "string"})

JSON_FORMS = tuple(
    Body("application/json", ref(name), SCORING_FORMS[name].get("description", ""))
    for name in SCORING_FORMS
)
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
JSON_ROWS = Body(
    "application/json",
    {"anyOf": [ref(name) for name in SCORING_FORMS]},
    "One record, a list of records, or one of MLflow's scoring forms (`dataframe_split`, "
    "`dataframe_records`, `instances`, `inputs`, each with optional `params`).",
    examples={
        "record": {"value": SETOSA},
        "records": {"value": [SETOSA, SETOSA]},
        "dataframe_split": {
            "value": {"dataframe_split": {"columns": list(SETOSA), "data": [list(SETOSA.values())]}}
        },
        "dataframe_records": {"value": {"dataframe_records": [SETOSA]}},
        "instances": {"value": {"instances": [SETOSA]}},
        "inputs": {"value": {"inputs": {k: [v] for k, v in SETOSA.items()}}},
    },
)
CSV_SCHEMA = {"type": "string", "description": "CSV text with a header row."}
CSV_ROWS = Body("text/csv", CSV_SCHEMA, "A CSV with the model's columns and a header row.")
UPLOAD = tuple(
    Body(media_type, {"type": "string", "format": "binary"}, "The file itself, as the body.")
    for media_type in ("text/csv", "application/csv", "application/octet-stream")
)

FALLBACK = Operation(
    summary="Any other path under /api: 404 NOT_FOUND",
    tag=CONSOLE,
    answers=(),
    documented=False,
)

HEALTH = Operation(
    summary="The console's state: registry, identity mode, model cache, jobs runner",
    tag=CONSOLE,
    answers=(Answer(200, "The console answers.", schema=ref("Health")),),
    errors=errors_of(),
)
LIST_MODELS = Operation(
    summary="The registered models you can see",
    tag=MODELS,
    answers=(Answer(200, "Models you may read.", schema=ref("ModelList")),),
    errors=errors_of(MODEL),
)
MODEL_DETAIL = Operation(
    summary="A model and its versions",
    tag=MODELS,
    answers=(Answer(200, "The model.", schema=ref("ModelDetail")),),
    errors=errors_of(MODEL),
)
VERSION_DETAIL = Operation(
    summary="One version: metadata, signature, input example, environment",
    description="`ref` is a version number, an alias, `latest` or a legacy stage.",
    tag=MODELS,
    answers=(Answer(200, "The version.", schema=ref("VersionDetail")),),
    errors=errors_of(VERSION, LOADING),
)
PREDICT = Operation(
    summary="Predict: JSON rows → predictions; a CSV → the CSV with predictions appended",
    tag=PREDICT_TAG,
    params=(PROBABILITIES, DRIFT),
    bodies=(JSON_ROWS, CSV_ROWS, Body("application/csv", CSV_SCHEMA, CSV_ROWS.description)),
    answers=(
        Answer(
            200, "The predictions (JSON), or the scored CSV (text/csv).", schema=ref("Predictions")
        ),
        Answer(
            200,
            "The CSV with `prediction` and `error` columns appended.",
            media_type="text/csv",
            schema=CSV_SCHEMA,
            headers={
                "X-Model-Version": "The version that answered.",
                "X-Input-Rows": "Rows read.",
                "X-Failed-Rows": "Rows that could not be scored (see their `error`).",
            },
        ),
    ),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT, FILE_STORE, (code(NoProbabilities),)),
)
EXPLAIN = Operation(
    summary="Each row's feature contributions (at most 100 rows)",
    tag=PREDICT_TAG,
    bodies=(JSON_ROWS,),
    answers=(Answer(200, "One explanation per row.", schema=ref("Explanation")),),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT, EXPLAINING),
)
IMPORTANCE = Operation(
    summary="The version's feature importance",
    tag=PREDICT_TAG,
    answers=(Answer(200, "Features, most important first.", schema=ref("Importance")),),
    errors=errors_of(VERSION, LOADING, EXPLAINING, JSON_INPUT),
)
COMPARE = Operation(
    summary="The same rows through several versions: agreement and disagreements",
    tag=MONITOR,
    params=(REFS,),
    bodies=(JSON_ROWS,),
    answers=(
        Answer(200, "Each version's answers and how far they agree.", schema=ref("Comparison")),
    ),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT),
)
COMPARE_FILE = Operation(
    summary="An uploaded file through several versions; the result is a new file",
    tag=MONITOR,
    params=(REFS,),
    body_required=False,
    answers=(Answer(200, "Agreement and the result file.", schema=ref("ComparedFile")),),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT, A_FILE, FILE_STORE),
)
EVALUATE = Operation(
    summary="Rows with their true values through several versions: metrics and a verdict",
    tag=MONITOR,
    params=(REFS, LABEL, SLICE),
    bodies=(JSON_ROWS,),
    answers=(
        Answer(200, "Each version's metrics, the comparison, slices.", schema=ref("Evaluation")),
    ),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT),
)
EVALUATE_FILE = Operation(
    summary="An uploaded file with its true values evaluated as a job",
    tag=MONITOR,
    params=(REFS, LABEL, SLICE),
    body_required=False,
    answers=(
        Answer(202, "The job's record; when finished, `detail.evaluation`.", schema=ref("Job")),
    ),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT, A_FILE, STARTING_JOBS),
)
PROMOTING = (code(errors.InvalidInput), code(errors.PermissionDenied))
SET_ALIAS = Operation(
    summary="Point an alias at a version (needs EDIT or MANAGE on the model)",
    tag=MODELS,
    bodies=(Body("application/json", ref("AliasRequest")),),
    answers=(Answer(200, "Where the alias points now, and before.", schema=ref("AliasMoved")),),
    errors=errors_of(CHANGES, VERSION, PROMOTING, (code(errors.UnsupportedMediaType),)),
)
DELETE_ALIAS = Operation(
    summary="Delete an alias (needs MANAGE on the model)",
    tag=MODELS,
    answers=(Answer(200, "The alias, and the version it pointed to.", schema=ref("AliasMoved")),),
    errors=errors_of(CHANGES, VERSION, PROMOTING),
)
ALIAS_HISTORY = Operation(
    summary="An alias's moves made in the console, newest first",
    tag=MODELS,
    answers=(Answer(200, "The moves.", schema=ref("AliasHistory")),),
    errors=errors_of(MODEL, PROMOTING),
)
ROLLBACK = Operation(
    summary="Move an alias back to the version it pointed to before its last move",
    tag=MODELS,
    body_required=False,
    answers=(Answer(200, "Where the alias points now, and before.", schema=ref("AliasMoved")),),
    errors=errors_of(CHANGES, VERSION, PROMOTING, (code(NothingToRollBack),)),
)
SET_SPLIT = Operation(
    summary="Set the traffic split (needs EDIT or MANAGE on the model)",
    tag=MONITOR,
    bodies=(Body("application/json", ref("SplitRequest")),),
    answers=(Answer(200, "The split as saved.", schema=ref("Split")),),
    errors=errors_of(CHANGES, VERSION, PROMOTING, (code(errors.UnsupportedMediaType),)),
)
SPLIT = Operation(
    summary="The model's traffic split (tag `console.traffic_split`)",
    tag=MONITOR,
    answers=(Answer(200, "The arms and their shares.", schema=ref("Split")),),
    errors=errors_of(MODEL, (code(NoSplit), code(SplitMisconfigured))),
)
SPLIT_PREDICT = Operation(
    summary="Predict with one arm of the split, the same arm for the same key",
    tag=MONITOR,
    params=(SPLIT_KEY_HEADER, SPLIT_KEY),
    bodies=(JSON_ROWS,),
    answers=(Answer(200, "The arm's predictions.", schema=ref("SplitPrediction")),),
    errors=errors_of(
        CHANGES, VERSION, LOADING, JSON_INPUT, (code(NoSplit), code(SplitMisconfigured))
    ),
)
TRAFFIC = Operation(
    summary="Per arm of the split, for a period: requests, rows, latency, predictions",
    tag=MONITOR,
    params=(SINCE, UNTIL),
    answers=(Answer(200, "The traffic per arm.", schema=ref("Traffic")),),
    errors=errors_of(MODEL, (code(errors.InvalidInput),)),
)
DRIFT_HISTORY = Operation(
    summary="The version's stored drift summaries, one per scored file, oldest first",
    tag=MONITOR,
    params=(SINCE,),
    answers=(Answer(200, "Drift summaries.", schema=ref("DriftHistory")),),
    errors=errors_of(VERSION, LOADING),
)
UPLOAD_FILE = Operation(
    summary="A file, streamed to your own area",
    tag=FILES,
    params=(FILENAME,),
    bodies=UPLOAD,
    answers=(Answer(201, "The stored file.", schema=ref("StoredFile")),),
    errors=errors_of(
        CHANGES, (code(errors.UnsupportedMediaType), code(errors.InvalidInput)), FILE_STORE
    ),
)
SCORE_FILE = Operation(
    summary="An uploaded file scored in chunks; the result is a new file",
    tag=FILES,
    params=(RESULT_FORMAT, PROBABILITIES),
    body_required=False,
    answers=(Answer(200, "The summary and the result file.", schema=ref("ScoredFile")),),
    errors=errors_of(
        CHANGES, VERSION, LOADING, JSON_INPUT, A_FILE, FILE_STORE, (code(NoProbabilities),)
    ),
)
DOWNLOAD = Operation(
    summary="One of your files, streamed",
    tag=FILES,
    answers=(
        *(
            Answer(
                200,
                f"The file ({fmt.label}).",
                media_type=fmt.mimetype,
                schema={"type": "string", "format": "binary"},
            )
            for fmt in RESULT_FORMATS.values()
        ),
    ),
    errors=errors_of(A_FILE),
)
START_JOB = Operation(
    summary="Start a job (score or compare a file, score a table on Spark)",
    tag=JOBS,
    bodies=(Body("application/json", ref("JobRequest")),),
    answers=(Answer(202, "The job's record.", schema=ref("Job")),),
    errors=errors_of(CHANGES, VERSION, LOADING, JSON_INPUT, A_FILE, STARTING_JOBS),
)
LIST_JOBS = Operation(
    summary="Your jobs of every kind, newest first",
    tag=JOBS,
    answers=(Answer(200, "Your jobs.", schema=ref("JobList")),),
    errors=errors_of((code(errors.JobsUnavailable),)),
)
JOB_STATE = Operation(
    summary="One of your jobs: state, progress, summary, result, error",
    tag=JOBS,
    answers=(Answer(200, "The job's record.", schema=ref("Job")),),
    errors=errors_of((code(JobNotFound), code(errors.JobsUnavailable))),
)
CANCEL_JOB = Operation(
    summary="Cancel one of your jobs (nothing is published)",
    tag=JOBS,
    answers=(Answer(202, "The job's record.", schema=ref("Job")),),
    errors=errors_of(CHANGES, (code(JobNotFound), code(errors.JobsUnavailable))),
)
LIST_RUNS = Operation(
    summary="Your JSON and form runs in the console's page, newest first",
    tag=CONSOLE,
    answers=(Answer(200, "Your runs (the last HISTORY_SIZE).", schema=ref("RunList")),),
    errors=errors_of((code(errors.HistoryUnavailable),)),
)
CLEAR_RUNS = Operation(
    summary="Clear your JSON and form runs (Clear history in the page)",
    tag=CONSOLE,
    answers=(Answer(200, "No runs now.", schema=ref("RunList")),),
    errors=errors_of(CHANGES, (code(errors.HistoryUnavailable),)),
)
OPENAPI = Operation(
    summary="This document: OpenAPI 3.1, written from the routes' own declarations",
    tag=CONSOLE,
    answers=(Answer(200, "The OpenAPI document.", schema={"type": "object"}),),
    errors=errors_of(),
)
DOCS_PAGE = Operation(
    summary="The interactive reference (Swagger UI) of this document",
    tag=CONSOLE,
    answers=(Answer(200, "The page.", media_type="text/html", schema={"type": "string"}),),
    errors=errors_of(),
)
DOCS_ASSET = Operation(
    summary="A file of the interactive reference (its script and style sheet)",
    tag=CONSOLE,
    answers=(
        Answer(200, "The script.", media_type="text/javascript", schema={"type": "string"}),
        Answer(200, "The style sheet.", media_type="text/css", schema={"type": "string"}),
    ),
    errors=errors_of(),
)
