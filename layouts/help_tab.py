"""Help: a guide, the input formats, troubleshooting and good practice."""

from __future__ import annotations

from dash import dcc, html

from layouts.components import section
from services.files.store import human_size

GUIDE = """
1. **Model Configuration** — pick a model (or type its full name, such as
   `main.ml_models.iris_classifier`) and a version: a number (`1`), an alias (`Champion`) or
   `latest`. Press **Load Model**. The card shows versions, aliases, tags, the description and
   the input signature.
2. **JSON Prediction** — press **Demo input** for a valid example, edit it, and press
   **Predict**. The line under the editor says whether the input fits the model as you type.
   Prefer a form? Fill in **Form input** and press **Predict from form**.
3. **CSV Prediction** — drop a CSV file. Check the preview and the column check, press
   **Predict from CSV**, then **Download** `<name>_with_predictions.csv` (or the Parquet file,
   written in the same pass: for code, each column keeps its type). Columns the model does
   not use, such as `customer_id`, are kept. Scoring runs on the server as a job: reload,
   open another tab or another computer and it is still there, with its progress and Cancel.
4. **Prediction History** — your JSON and form runs and your file jobs, kept on the server
   (every tab and device you sign in from shows them) with the version that answered:
   **Open** one, **Download** a job's result while the file exists, **Run again** with the
   same input, **Cancel** a job that runs.

The address bar follows you: **Copy link** beside the model name gives a link that opens the
same model, version or alias, tab and job for anyone allowed to see them.

The model you load is the one that answers everywhere: the header, each tab and every result
name it (`v1 @Champion`, `v2 latest`). Picking another model or version in the dropdowns
changes nothing until you press **Load Model**; a failed load leaves the loaded model in
place.
"""

FOR_OWNERS = """
- **Class names.** Give your classifier's classes names and every result shows them beside
  the numbers (`0 · setosa`; CSV and Parquet results get a `prediction_label` column; the API
  answers `labels`): set the tag `console.class_labels` on the registered model (all versions)
  or on one version, as JSON, for example:

  ```python
  MlflowClient().set_registered_model_tag(
      "main.ml_models.iris_classifier", "console.class_labels",
      '["setosa", "versicolor", "virginica"]')   # or '{"0": "stays", "1": "leaves"}'
  ```
- **Signature and input example**: the form, the demo input and every check come from them.
- **Training reference**: explanations, feature importance and what-if compare against a
  sample of the training inputs carried in the model's own files (read with your own
  permissions, like the model). After `info = mlflow.sklearn.log_model(...)`, one line:

  ```python
  X_train.sample(min(len(X_train), 10_000)).to_parquet("console_reference.parquet")
  mlflow.MlflowClient().log_model_artifact(info.model_id, "console_reference.parquet")
  ```

  Without it the console falls back to the input example and every chart says so.
- **Why this answer?** A one-row answer (form or JSON) shows its class probabilities and a
  waterfall of each input's SHAP contribution: exact for tree ensembles (probability for
  forests, log-odds for boosting) and linear models (log-odds for logistic ones), a
  model-agnostic estimate otherwise; one-hot columns are summed back into the column you
  typed. A batch shows its distribution; Model Configuration shows feature importance.
- **What-if.** Each numeric field of **Form input** has a slider spanning the training
  range, and each text field a list of the categories seen in training (you can still type
  anything). Changing a value predicts again at once: the answer, its probabilities and the
  waterfall follow, and the **What-if** chart shows how the prediction (for a classifier,
  the probability of the predicted class) moves as the feature chosen under **Sweep** goes
  across its range with the other values held. What-if answers are audited but not kept in
  Prediction History. Without a training reference the ranges come from the input example,
  and the panel says so.
- **Pick a row.** Click a row of a JSON batch's table or of a CSV result's first rows to see
  that row's waterfall under the table.
- **Class probabilities in a CSV result.** Tick **Add class probabilities** before
  **Predict from CSV**: one `probability_<class>` column per class, in the model's class
  order, and a histogram of how sure the model was across the file (the API:
  `?probabilities=true` on the score route). A row that could not be scored gets none.
"""

FORMATS = """
One record:

```json
{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
```

Several records:

```json
[{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
 {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]
```

MLflow's scoring formats work too: `dataframe_split`, `dataframe_records`, `instances`,
`inputs` (with optional `params`):

```json
{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
                     "data": [[5.1, 3.5, 1.4, 0.2]]}}
```

CSV: a header row with the model's column names, one row per record:

```text
customer_id,age,income,tenure_months,usage_gb,city,is_member
C-1001,34,48000,2,3.5,Paris,false
```

The same from a script: `POST /api/models/<name>/<version or alias>/predict` with
`Content-Type: application/json` or `text/csv`.

Every route, its parameters, bodies, answers and error codes, with a form to try each one:
the [API reference](api/docs) (its OpenAPI 3.1 document: [openapi.json](api/openapi.json)).
"""

TROUBLESHOOTING = """
| Message | What it means | What to do |
|---|---|---|
| Model not found | No registered model has that name, or you cannot see it | Use the full three-part name; check the suggestions |
| Version or alias not found | The version number or alias does not exist | Pick one of the versions and aliases listed |
| Permission denied | Your account may not use this model | Ask an owner for READ (MLflow) or `EXECUTE` (Unity Catalog) |
| Missing required column | The input lacks a column of the signature | Add the column named in the message; where the hint says a column of yours looks like it (`"petal_widht" looks like petal_width`), rename yours |
| Column … expects a number | A value has the wrong type | Send numbers without quotes, booleans as `true`/`false` |
| Dimension mismatch | A tensor model got the wrong number of values per row | Send rows with exactly as many values as the signature's shape |
| Invalid JSON at line … | The text is not valid JSON | Check quotes, commas and brackets near that position |
| Model registry unreachable | The registry server does not answer | Retry; tell the administrator if it persists |
| Scoring stopped before it finished | The process scoring your CSV was killed, usually for lack of memory | Press Predict from CSV again; if it stops again, split the file |
| No progress for … | The CSV job has not moved for a while: a very slow model, or its worker is gone | Wait a little; if nothing moves, reload the page and press Predict from CSV again |
| N rows could not be scored | Those rows have bad values; the rest is scored | Read the `error` column of the download (it quotes your value), fix those rows, score them again. Row numbers in the check count the header as row 1, as a spreadsheet does |
| … is missing ("n/a") | A cell holds a word meaning "no value" (`n/a`, `NULL`, `NA` …) in a number or true/false column | Fill in the value; an optional column may stay empty |
| Use a dot for decimals | The form reads numbers as the API does: `3.5`, not `3,5`, and no thousands separators | Type the number with a dot |
"""

PRACTICES = """
- **Use aliases, not version numbers**, in anything that lasts (jobs, dashboards, this app's
  `MODEL_VERSION`): `Champion` follows promotions, `3` never moves.
- **Promotion** is moving an alias: in Model Configuration, *Aliases and traffic*, set
  `Champion` to the new version once it has been checked as `Challenger` (you need EDIT or
  MANAGE on the model; Unity Catalog: its ownership or MANAGE). Every worker uses it from its
  next request, without a restart.
- **Before promoting**, compare Champion and Challenger on your own rows (Compare with), or
  send a share of real traffic to the Challenger with a traffic split.
- **Rollback** is moving the alias back to the previous version: **Roll back** in the alias's
  history does it in one click; keep old versions registered.
- Always log a **signature and an input example** with a model: the console checks input
  against the signature and builds the form and the demo input from them.
"""


COMPARE_MONITOR = """
- **Compare with** (JSON Prediction and CSV Prediction tabs): pick a second version or alias
  (Challenger when Champion is loaded, Champion otherwise) and press **Compare JSON input**,
  **Compare form input** or **Compare on this file**. Both versions predict the same rows;
  you see the share of rows where they agree, the rows where they disagree first and
  highlighted, a crosstab of their classes (classifiers) or one against the other and the
  mean absolute difference (regressors). A file's result, `<name>_compared.csv`, has one
  prediction column per version, named as the page names it (`prediction_v2_Challenger`; the
  loaded version, compared by its number, `prediction_v1`), and `versions_agree`. Each version is checked
  for your permissions and audited on its own: a version you may not use stops the
  comparison and says which. Versions with different signatures each take the columns they
  need from your input; the result says which columns only one of them uses.
- **Drift** (every CSV result): each column of what you scored against the version's
  training reference: a population stability index (PSI) on bins fixed from the reference
  (deciles for numbers, categories for text), the share outside the training range, of
  unseen categories and of missing values. A column with PSI above 0.2 is flagged. Under 100
  rows the drift is *indicative* only and nothing is flagged: so few rows are mostly noise.
- **Compare & Monitor** tab: for the loaded model, its **traffic split** (requests, rows,
  latency and predictions per arm for the chosen period, from the audit log) and, for the
  loaded version, **drift over time**: one point per scored file, hollow when indicative.
- **A/B split** (API): the model's owner sets the model tag `console.traffic_split`, for
  example `Champion:90,Challenger:10`; `POST /api/models/<name>/split/predict` sends each
  request to one arm, always the same arm for the same `X-Request-Key` header (or `?key=`)
  while the split is unchanged, and answers which arm and version answered. The tag is
  re-read like an alias: a change takes effect within seconds.
"""


def layout(upload_limit_bytes: int) -> html.Div:
    limits = (
        f"\n\nFiles up to {human_size(upload_limit_bytes)} can be uploaded in the CSV tab; "
        "bigger files go to the API."
    )
    return html.Div(
        [
            section("Step by step", dcc.Markdown(GUIDE + limits), "signpost"),
            section("Compare and monitor", dcc.Markdown(COMPARE_MONITOR), "layout-split"),
            section("Input formats", dcc.Markdown(FORMATS), "braces"),
            section("Troubleshooting", dcc.Markdown(TROUBLESHOOTING), "life-preserver"),
            section("Best practices", dcc.Markdown(PRACTICES), "award"),
            section("For model owners", dcc.Markdown(FOR_OWNERS), "person-workspace"),
        ],
        className="help",
    )
