"""The private behaviour of other libraries the console leans on (services/compat.py): each
checked here, so an upgrade that changes it fails this test rather than a user's page."""

from __future__ import annotations

import mlflow

from services.compat import mlflow_mismatch_text

CHECKED_ON_MLFLOW = "3.17.2"


def test_mlflow_words_for_a_missing_and_a_mismatched_requirement():
    assert mlflow_mismatch_text("console-absent-pkg==1.2.3") == (
        "console-absent-pkg (current: uninstalled, required: console-absent-pkg==1.2.3)"
    )
    assert mlflow_mismatch_text("mlflow==0.1.0") == (
        f"mlflow (current: {mlflow.__version__}, required: mlflow==0.1.0)"
    )
    assert mlflow_mismatch_text(f"mlflow=={mlflow.__version__}") is None


def test_it_was_checked_on_this_mlflow():
    """On another MLflow, read services/compat.py's notes again, re-check, then move this."""
    assert mlflow.__version__ == CHECKED_ON_MLFLOW


CHECKED_ON = {
    "dash": "4.4.1",
    "gunicorn": "26.2.0",
    "mlflow": "3.17.2",
    "scikit-learn": "1.9.1",
}


def test_each_private_use_was_checked_on_the_installed_version():
    """On another version, read services/compat.py's notes again, re-check, then move this."""
    from importlib.metadata import version

    assert {name: version(name) for name in CHECKED_ON} == CHECKED_ON


def test_the_unity_catalog_store_asks_the_callers_credentials():
    from mlflow.utils.rest_utils import MlflowHostCreds

    from services.compat import unity_catalog_store

    creds = MlflowHostCreds("https://example.cloud.databricks.com", token="user-token")
    store = unity_catalog_store(creds)
    assert store.get_host_creds() is creds and store.get_tracking_host_creds() is creds


def test_gunicorn_bodies_are_read_whole_and_nothing_else_is():
    """Through gunicorn's own parser: a body read by its reader gives the same bytes."""
    import io

    from gunicorn.http.body import Body, LengthReader

    from services.compat import whole_socket_reader

    class Unreader:
        def __init__(self, data: bytes) -> None:
            self.stream = io.BytesIO(data)

        def read(self) -> bytes:
            return self.stream.read(8192)

        def unread(self, data: bytes) -> None:
            rest = self.stream.read()
            self.stream = io.BytesIO(data + rest)

    body = Body(LengthReader(Unreader(b"x" * 20_000), 20_000))
    reader = whole_socket_reader(body)
    assert reader is not None and reader(20_000) == b"x" * 20_000
    assert whole_socket_reader(io.BytesIO(b"x")) is None


def test_dash_can_finish_its_setup_before_the_first_request(settings):
    import dash

    from services.compat import finish_dash_setup

    app = dash.Dash(__name__)
    app.layout = dash.html.Div("x")
    finish_dash_setup(app)
    assert app.server.test_client().get("/_dash-layout").status_code == 200


def test_dash_answers_unknown_paths_with_its_page_unless_told_otherwise():
    import dash

    from services.compat import only_the_page

    app = dash.Dash(__name__)
    app.layout = dash.html.Div("x")
    assert app.server.test_client().get("/docs").status_code == 200  # Dash's catch-all
    only_the_page(app, lambda: ("gone", 404))
    client = app.server.test_client()
    assert client.get("/docs").status_code == 404
    assert client.get("/").status_code == 200


def forest():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True, as_frame=True)
    return RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y), X.head(1)


def test_sklearn_still_adds_every_warning_filter_again_for_each_tree(monkeypatch):
    """The reason for ``few_warning_filters``: when scikit-learn stops doing this, the
    workaround can go."""
    import warnings

    model, row = forest()
    added = []
    for adding in ("filterwarnings", "simplefilter"):
        real = getattr(warnings, adding)
        monkeypatch.setattr(
            warnings, adding, lambda *a, real=real, **k: added.append(1) or real(*a, **k)
        )
    with warnings.catch_warnings():
        for number in range(6):
            warnings.filterwarnings("ignore", message=f"console-test-{number}")
        held = len(warnings.filters)
        added.clear()
        model.predict(row)
    assert len(added) >= 10 * held  # each filter again, for each of the 10 trees


def test_while_models_predict_the_process_holds_one_filter_and_then_its_own_again():
    import threading
    import warnings

    from services.compat import few_warning_filters

    model, row = forest()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="console-test")
        before = warnings.filters
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        held = []

        def first() -> None:
            with few_warning_filters():
                first_in.set()
                second_in.wait(10)
                held.append(len(warnings.filters))
                model.predict(row)
            first_out.set()

        thread = threading.Thread(target=first)
        thread.start()
        first_in.wait(10)
        with few_warning_filters():
            second_in.set()
            first_out.wait(10)  # the first ends while this one still predicts
            held.append(len(warnings.filters))
            model.predict(row)
        thread.join(10)
        assert held == [1, 1]
        assert warnings.filters is before
