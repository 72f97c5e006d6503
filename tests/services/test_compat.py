"""The private behaviour of other libraries the console leans on (services/compat.py): each
checked here, so an upgrade that changes it fails this test rather than a user's page."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from services.compat import array_estimators, mlflow_mismatch_text, sklearn_predict

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
    """On another version, read services/compat.py's notes again, re-check, then move this.
    (The tests' own use of dash's test browser is noted in tests/shared_chromium.py.)"""
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


def counting_filter_calls(monkeypatch) -> list[int]:
    """Each call of ``warnings.filterwarnings`` or ``warnings.simplefilter``, counted."""
    import warnings

    added: list[int] = []
    for adding in ("filterwarnings", "simplefilter"):
        real = getattr(warnings, adding)
        monkeypatch.setattr(
            warnings, adding, lambda *a, real=real, **k: added.append(1) or real(*a, **k)
        )
    return added


def unlightened(monkeypatch) -> None:
    from sklearn.utils.parallel import _FuncWrapper

    original = getattr(_FuncWrapper.__call__, "original", _FuncWrapper.__call__)
    monkeypatch.setattr(_FuncWrapper, "__call__", original)


def test_sklearn_still_adds_every_warning_filter_again_for_each_tree(monkeypatch):
    """The reason for ``lighter_sklearn_tasks``: when scikit-learn stops doing this, the
    workaround can go."""
    import warnings

    unlightened(monkeypatch)
    model, row = forest()
    added = counting_filter_calls(monkeypatch)
    with warnings.catch_warnings():
        for number in range(6):
            warnings.filterwarnings("ignore", message=f"console-test-{number}")
        held = len(warnings.filters)
        added.clear()
        model.predict(row)
    assert len(added) >= 10 * held  # each filter again, for each of the 10 trees


def test_lightened_tasks_keep_the_filters_and_the_configuration_without_re_adding(
    monkeypatch,
):
    import warnings

    import sklearn
    from sklearn.utils.parallel import Parallel, delayed

    from services.compat import lighter_sklearn_tasks

    unlightened(monkeypatch)
    model, row = forest()
    expected = model.predict_proba(row)
    lighter_sklearn_tasks()
    lighter_sklearn_tasks()  # once is enough, twice is harmless
    added = counting_filter_calls(monkeypatch)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="console-test")
        before = list(warnings.filters)
        assert (model.predict_proba(row) == expected).all()
        # a few of scikit-learn's own checks set a filter; no task adds them all again
        assert len(added) < len(before) and warnings.filters == before
        added.clear()

        def seen() -> tuple[bool, bool]:
            warnings.warn("console-test: ignored as the filters say", UserWarning, stacklevel=1)
            return sklearn.get_config()["assume_finite"], True

        with sklearn.config_context(assume_finite=True):
            answers = Parallel(n_jobs=1)(delayed(seen)() for _ in range(3))
        assert answers == [(True, True)] * 3 and added == []

        # a task given other filters than those in force: scikit-learn's own path
        from sklearn.utils.parallel import _FuncWrapper

        other = [("ignore", None, ResourceWarning, None, 0), *warnings.filters]

        def resource_warnings_ignored() -> bool:
            return any(f[0] == "ignore" and f[2] is ResourceWarning for f in warnings.filters)

        task = _FuncWrapper(resource_warnings_ignored).with_config_and_warning_filters(
            sklearn.get_config(), other
        )
        assert task() and added != []
        assert warnings.filters == before


def test_a_stopping_gunicorn_worker_looks_at_its_connections_every_second(monkeypatch):
    """gunicorn's graceful loop hands its whole grace period to one wait; the console's
    worker hands at most a second, so an idle kept-alive connection cannot hold a stop."""
    from gunicorn.workers.gthread import ThreadWorker

    from services.compat import promptly_stopping_thread_worker

    waits = []
    monkeypatch.setattr(ThreadWorker, "wait_for_and_dispatch_events", lambda _, t: waits.append(t))
    worker_class = promptly_stopping_thread_worker()
    assert issubclass(worker_class, ThreadWorker)
    worker = worker_class.__new__(worker_class)  # the wait needs no poller or sockets here
    worker.wait_for_and_dispatch_events(29.9)
    worker.wait_for_and_dispatch_events(0.2)
    assert waits == [1.0, 0.2]
    graceful_loop = "self.wait_for_and_dispatch_events(timeout=time_remaining)"
    assert graceful_loop in inspect.getsource(ThreadWorker.run)  # what it makes shorter


def test_mlflow_builds_its_package_map_once_and_the_console_builds_it_first(monkeypatch):
    """MLflow keeps the map where prepare_requirement_checks leaves it: a model's requirement
    check afterwards reads no installed package's file list again."""
    from mlflow.utils import requirements_utils

    from services import compat

    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", None)
    monkeypatch.setattr(requirements_utils, "_PACKAGES_TO_MODULES", None)
    monkeypatch.setattr(compat, "_requirement_map_built", False)
    compat.prepare_requirement_checks()
    assert requirements_utils._MODULES_TO_PACKAGES

    def read_again():
        raise AssertionError("MLflow read every package's file list again")

    monkeypatch.setattr(requirements_utils.importlib_metadata, "packages_distributions", read_again)
    assert requirements_utils._check_requirement_satisfied("scikit-learn") is None
    missing = requirements_utils._check_requirement_satisfied("surely-not-installed-pkg==1.0")
    assert missing is not None and missing.installed_version is None


def test_a_package_map_mlflow_cannot_build_stops_no_model_and_no_job(monkeypatch, caplog):
    """The job server imports prepare_requirement_checks' module before any job: an error
    there (one broken package listing) would end the fork server, and with it every job."""
    from mlflow.utils import requirements_utils

    from services import compat

    def broken():
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a package's top_level.txt")

    monkeypatch.setattr(requirements_utils, "_init_packages_to_modules_map", broken)
    monkeypatch.setattr(compat, "_requirement_map_built", False)
    compat.prepare_requirement_checks()  # says so in the log, raises nothing
    assert "was not built" in caplog.text
    compat.prepare_requirement_checks()  # and tries once per process only
    assert caplog.text.count("was not built") == 1


class ColumnPickingLogistic(LogisticRegression):
    """Not one of scikit-learn's own classes: its ``predict`` may read the frame's names."""

    def predict(self, X):
        return super().predict(X[list(self.feature_names_in_)])


def saved_and_loaded(model, folder: Path):
    # requirements named: inferring them starts a process that imports the model (seconds)
    mlflow.sklearn.save_model(
        model, folder, serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
    )
    return mlflow.pyfunc.load_model(str(folder))


def fitted(kind: type, frame: pd.DataFrame):
    """``kind`` fitted on ``frame``: two classes, or two targets for a forest regressor."""
    signal = frame.iloc[:, 0] + frame.iloc[:, 1]
    if is_classifier(kind()):
        return kind().fit(frame, (signal > signal.median()).astype(int))
    if kind is RandomForestRegressor:
        return kind(n_estimators=5).fit(frame, np.column_stack([signal, -signal]))
    return kind().fit(frame, signal)


@pytest.mark.parametrize("kind", sorted(array_estimators(), key=lambda k: k.__name__))
def test_each_plain_estimator_answers_from_the_array_as_mlflow_does(tmp_path, kind):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    loaded = saved_and_loaded(fitted(kind, frame), tmp_path / "m")
    direct = sklearn_predict(loaded)
    assert direct != loaded._model_impl.predict  # the array path was chosen
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        answer = direct(frame)
    assert np.array_equal(answer, loaded.predict(frame))
    assert [str(w.message) for w in shown] == []


@pytest.mark.parametrize(
    "columns",
    [
        {"a": [1, 2, 3, 4], "b": [0, 1, 0, 1]},  # long
        {"a": [1, 2, 3, 4], "b": [0.5, 1.5, 0.0, 1.0]},  # long and double
        {"a": [0.1, 2.0, 3.0, 4.0], "b": [True, False, True, False]},  # boolean: the frame
    ],
    ids=["long", "long-double", "boolean-double"],
)
def test_the_fast_paths_column_types_answer_as_mlflow_does(tmp_path, columns):
    frame = pd.DataFrame(columns)
    loaded = saved_and_loaded(LogisticRegression().fit(frame, [0, 0, 1, 1]), tmp_path / "m")
    assert sklearn_predict(loaded)(frame).tolist() == loaded.predict(frame).tolist()


def test_a_model_fitted_without_names_gets_the_array_not_the_frame(tmp_path):
    """scikit-learn warns when a frame's names reach a model fitted without any: the array
    path gives it none."""
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    loaded = saved_and_loaded(
        LogisticRegression().fit(frame.to_numpy(), [0, 0, 1, 1]), tmp_path / "m"
    )
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        answer = sklearn_predict(loaded)(frame)
    assert answer.tolist() == [0, 0, 1, 1]
    assert [str(w.message) for w in shown] == []


def test_columns_in_another_order_than_fitted_get_scikit_learns_own_refusal(tmp_path):
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    loaded = saved_and_loaded(LogisticRegression().fit(frame, [0, 0, 1, 1]), tmp_path / "m")
    with pytest.raises(ValueError, match="feature names should match"):
        sklearn_predict(loaded)(frame[["b", "a"]])


def test_estimators_that_may_read_names_still_get_the_frame(tmp_path):
    """A pipeline picking columns by name, and a subclass of a plain estimator."""
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    picks_b = ColumnTransformer([("b", StandardScaler(), ["b"])])
    pipeline = make_pipeline(picks_b, LogisticRegression()).fit(frame, [0, 1, 0, 1])
    own = ColumnPickingLogistic().fit(frame, [0, 0, 1, 1])
    for number, model in enumerate((pipeline, own)):
        loaded = saved_and_loaded(model, tmp_path / str(number))
        direct = sklearn_predict(loaded)
        assert direct == loaded._model_impl.predict
        assert direct(frame).tolist() == loaded.predict(frame).tolist()


def test_a_batch_of_exact_requests_answers_each_as_mlflow_does(tmp_path):
    """The batcher joins overlapping requests' frames; the array path scores the join."""
    from concurrent.futures import ThreadPoolExecutor

    from services.scoring.batching import Batcher, BatchSettings

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(64, 3)), columns=["a", "b", "c"])
    loaded = saved_and_loaded(fitted(LogisticRegression, frame), tmp_path / "m")
    batcher = Batcher(loaded.predict, BatchSettings(0.05, 64), sklearn_predict(loaded))
    rows = [frame.iloc[[i]].reset_index(drop=True) for i in range(len(frame))]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda row: batcher.predict(row, exact=True), rows))
    assert [a.tolist() for a in answers] == [loaded.predict(row).tolist() for row in rows]
    assert batcher.stats.calls >= 1 and batcher.stats.requests > batcher.stats.calls


def forest_kinds() -> list[type]:
    from services.compat import tree_by_tree_forests

    return sorted(tree_by_tree_forests(), key=lambda k: k.__name__)


def joblib_runs(monkeypatch) -> list[int]:
    """Each time a forest hands its trees to joblib, counted."""
    from sklearn.ensemble import _forest

    runs: list[int] = []
    real = _forest.Parallel
    monkeypatch.setattr(_forest, "Parallel", lambda *a, **k: runs.append(1) or real(*a, **k))
    return runs


def three_class_frame(rows: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    labels = np.array(["low", "mid", "high"])
    return frame, labels[np.digitize(frame["a"] + frame["b"] * frame["c"], [-0.5, 0.5])]


def forest_on(kind: type, frame: pd.DataFrame, classes: np.ndarray, outputs: int = 1):
    """``kind`` fitted on ``frame``: string classes, or ``outputs`` numeric targets."""
    target = frame["a"] * 2 - frame["d"]
    if is_classifier(kind()):
        target = classes
    elif outputs > 1:
        target = np.column_stack([target * (1 + k) for k in range(outputs)])
    return kind(n_estimators=30, random_state=0).fit(frame, target)


FOREST_CASES = [(kind, 1) for kind in forest_kinds()] + [
    (kind, 2) for kind in forest_kinds() if not is_classifier(kind())
]  # a classifier of two outputs keeps scikit-learn's path (the next test)


@pytest.mark.parametrize(
    ("kind", "outputs"), FOREST_CASES, ids=[f"{k.__name__}-{n}" for k, n in FOREST_CASES]
)
def test_a_forest_sums_its_trees_in_one_loop_to_scikit_learns_very_answer(
    tmp_path, monkeypatch, kind, outputs
):
    """Bit for bit the forest's own mean (probabilities, or values) and answer, with no
    joblib run: when scikit-learn changes how a forest sums its trees, this fails."""
    from services.compat import forest_mean

    frame, classes = three_class_frame()
    model = forest_on(kind, frame, classes, outputs)
    own_mean = model.predict_proba(frame) if is_classifier(model) else model.predict(frame)
    loaded = saved_and_loaded(model, tmp_path)
    expected = loaded.predict(frame)
    runs = joblib_runs(monkeypatch)
    assert np.array_equal(forest_mean(model)(frame.to_numpy()), own_mean)
    assert np.array_equal(sklearn_predict(loaded)(frame), expected)
    assert runs == []


def test_forests_scikit_learn_runs_otherwise_keep_its_own_predict(tmp_path, monkeypatch):
    """Trees in several threads, progress printed, a classifier of two outputs: joblib's
    path, the same answer; a forest never fitted: scikit-learn's own refusal."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import NotFittedError

    from services.compat import forest_mean

    frame, classes = three_class_frame(60)
    models = (
        RandomForestClassifier(n_estimators=8, n_jobs=2).fit(frame, classes),
        RandomForestClassifier(n_estimators=8, verbose=1).fit(frame, classes),
        RandomForestClassifier(n_estimators=8).fit(frame, np.column_stack([classes, classes])),
    )
    for number, model in enumerate(models):
        assert forest_mean(model) is None
        loaded = saved_and_loaded(model, tmp_path / str(number))
        expected = loaded.predict(frame)
        runs = joblib_runs(monkeypatch)
        assert np.array_equal(sklearn_predict(loaded)(frame), expected)
        assert runs == [1]
    unfitted = saved_and_loaded(RandomForestClassifier(), tmp_path / "unfitted")
    with pytest.raises(NotFittedError):
        sklearn_predict(unfitted)(frame)


def test_a_forests_missing_value_gets_scikit_learns_own_answer(tmp_path, monkeypatch):
    """scikit-learn's forests send a missing value down the side its training chose."""
    from sklearn.ensemble import RandomForestClassifier

    frame, classes = three_class_frame(60)
    frame.loc[::7, "b"] = np.nan
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, classes)
    loaded = saved_and_loaded(model, tmp_path)
    holed = frame.head(15)
    assert holed["b"].isna().sum() == 3
    expected = loaded.predict(holed)
    runs = joblib_runs(monkeypatch)
    assert np.array_equal(sklearn_predict(loaded)(holed), expected)
    assert runs == []


def test_a_forest_given_too_few_columns_gets_scikit_learns_own_words(tmp_path):
    from sklearn.ensemble import ExtraTreesRegressor

    frame, _ = three_class_frame(60)
    model = ExtraTreesRegressor(n_estimators=5).fit(frame.to_numpy(), frame["a"])
    loaded = saved_and_loaded(model, tmp_path)
    with pytest.raises(ValueError) as own:
        model.predict(frame.to_numpy()[:, :3])
    with pytest.raises(ValueError, match="X has 3 features") as ours:
        sklearn_predict(loaded)(frame[["a", "b", "c"]])
    assert str(ours.value) == str(own.value)
