"""Another library's private behaviour, in one place: each use says the versions it was
checked on, and ``tests/services/test_compat.py`` fails when that behaviour changes (read the notes
here again, re-check, then move the versions in the test).

- ``mlflow_mismatch_text``: ``mlflow.utils.requirements_utils._check_requirement_satisfied``
  and the text of its ``_MismatchedPackageInfo`` (MLflow 3.17.2). MLflow has no public way to
  ask whether one requirement is met; its words are the ones users also see in the warning
  ``mlflow.pyfunc.load_model`` logs ("xgboost (current: uninstalled, required:
  xgboost==3.2.0)").
- ``prepare_requirement_checks``: MLflow's map from installed packages to their modules
  (``mlflow.utils.requirements_utils._init_packages_to_modules_map``, ``_MODULES_TO_PACKAGES``;
  MLflow 3.17.2), built on a process's first requirement check by reading the file list of
  every installed package: about half a second, which ``mlflow.pyfunc.load_model`` spends on
  a process's first model. Built ahead of that by a worker's warm-up and by the job server
  (whose jobs are forked with it), and by one thread at a time.
- ``sklearn_predict``: a loaded scikit-learn pyfunc's own ``predict``, behind MLflow's
  wrapper (``PyFuncModel._model_impl``, ``_predict_fn``, ``metadata._is_signature_from_type_hint``,
  ``_SklearnModelWrapper.sklearn_model``; MLflow 3.17.2). For input the console has already
  conformed exactly, MLflow's second schema check is work done twice. An estimator of one of
  scikit-learn's plain kinds (``array_estimators``: linear models, trees, forests, gradient
  boosting; exactly those classes, no subclass, no pipeline) reads nothing in ``predict`` but
  the values: when the frame's columns are the fitted ones in their order, its values go as
  one array, the one scikit-learn would make of the frame, without the checks of pandas
  dtypes and names that took most of a small model's ``predict``. The array goes to a
  shallow copy of the estimator without ``feature_names_in_`` (the names were checked here):
  scikit-learn 1.9.1 warns when an estimator fitted on named columns gets an array, and a
  process-wide filter for that warning does not hold (``check_array`` enters
  ``warnings.catch_warnings`` on every call, in every thread, and puts back the list it
  found).
  A forest of the four plain kinds (``tree_by_tree_forests``), predicting in one thread (a
  classifier: of one output), sums its trees' answers in one loop, as its own ``predict`` does
  through joblib (``BaseForest._validate_X_predict``, ``_accumulate_prediction``'s order,
  and of each tree what its ``predict_proba`` or ``predict`` returns from ``tree_.predict``
  after checks the forest's has made; scikit-learn 1.9.1): joblib's task machinery and each
  tree's check that it is fitted cost more than a 100-tree forest's one-row work.
- ``unity_catalog_store``: MLflow's Unity Catalog registry store
  (``mlflow.store._unity_catalog.registry.rest_store.UcModelRegistryStore``) with its
  credential lookups replaced by the caller's own (MLflow 3.17.2): MLflow has no supported
  per-request credentials.
- ``promptly_stopping_thread_worker``: gunicorn's gthread worker
  (``gunicorn.workers.gthread.ThreadWorker.wait_for_and_dispatch_events``; gunicorn 26.2.0).
  After SIGTERM its graceful loop waits in one ``select`` for the whole ``graceful_timeout``
  (30 s) while any client holds an idle kept-alive connection (a browser with the console
  open, a proxy), and only then notices that connection expired 2 s after its last request:
  a container's stop took 30 s. gunicorn 27 wakes for the expiry itself, but MLflow 3.17.2
  asks for gunicorn<27.
- ``whole_socket_reader``: gunicorn's request body (``gunicorn.http.body.Body``: ``reader``,
  ``buf``; gunicorn 26.2.0). Its ``read`` gathers a kilobyte at a time; the reader beneath
  hands over whole socket reads.
- ``finish_dash_setup``: ``Dash._setup_server`` (Dash 4.4.1), which Dash otherwise runs on
  the first request while serving others half set up.
- ``lighter_sklearn_tasks``: scikit-learn's ``sklearn.utils.parallel._FuncWrapper.__call__``
  (1.9.1) clears the process's warning filters and adds each back for every task it runs:
  for each tree of a forest, on every prediction, a few microseconds per filter. A worker
  holds about 17 filters (Python's and those MLflow, SciPy, NumPy and Plotly add on import),
  so a 100-tree forest's one-row predict paid more for them than for its trees. When the
  filters a task was given are the ones in force, clearing and re-adding them changes
  nothing: the task then runs under its configuration alone; any other task takes
  scikit-learn's own path.
- ``only_the_page``: Dash's catch-all route (``FlaskBackend.setup_catchall``, endpoint
  ``<routes prefix><path:path>``; Dash 4.4.1), which answers every unknown path under the
  prefix with the page, for multi-page apps; the console has one page.
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


_requirement_map_lock = threading.Lock()
_requirement_map_built = False


def prepare_requirement_checks() -> None:
    """MLflow's package map built now, once per process (see the note above); a thread that
    asks while another builds it waits instead of building it again."""
    global _requirement_map_built
    if _requirement_map_built:
        return
    with _requirement_map_lock:
        if not _requirement_map_built:
            try:
                from mlflow.utils.requirements_utils import _init_packages_to_modules_map

                _init_packages_to_modules_map()
            except Exception:  # MLflow's own check logs and goes on: so do model loads, jobs
                log.warning("MLflow's map of installed packages was not built", exc_info=True)
            _requirement_map_built = True


def mlflow_mismatch_text(requirement: str) -> str | None:
    """MLflow's own words for a requirement this process does not meet; None when MLflow
    finds it met, or cannot say (then the console's own check stands alone)."""
    try:
        from mlflow.utils.requirements_utils import _check_requirement_satisfied

        mismatch = _check_requirement_satisfied(requirement)
    except Exception:  # a changed private API must not cost the page: the test notices
        log.debug("MLflow's requirement check failed for %s", requirement, exc_info=True)
        return None
    return None if mismatch is None else str(mismatch)


def sklearn_predict(pyfunc: Any) -> Callable[[Any], Any] | None:
    """scikit-learn's own ``predict`` behind MLflow's wrapper; None for every other flavour,
    for a signature from type hints, and for a model logged to answer with another method
    (``pyfunc_predict_fn="predict_proba"``): those keep MLflow's whole path."""
    if getattr(pyfunc, "loader_module", None) != "mlflow.sklearn":
        return None
    from_hints = getattr(pyfunc.metadata, "_is_signature_from_type_hint", None)
    if from_hints is None or from_hints():
        return None
    wrapper = getattr(pyfunc, "_model_impl", None)
    predict = getattr(wrapper, "predict", None)
    if predict is None or getattr(pyfunc, "_predict_fn", None) != predict:
        return None
    estimator = getattr(wrapper, "sklearn_model", None)
    return _by_array(estimator, predict) if type(estimator) in array_estimators() else predict


@functools.cache
def array_estimators() -> frozenset[type]:
    """scikit-learn's plain estimators whose ``predict`` takes the values alone (see the
    note above)."""
    from sklearn import ensemble, linear_model, tree

    kinds = {
        linear_model: (
            "LogisticRegression LinearRegression Ridge RidgeClassifier Lasso ElasticNet "
            "SGDClassifier SGDRegressor"
        ),
        tree: "DecisionTreeClassifier DecisionTreeRegressor",
        ensemble: "GradientBoostingClassifier GradientBoostingRegressor",
    }
    named = {getattr(module, name) for module, names in kinds.items() for name in names.split()}
    return frozenset(named) | tree_by_tree_forests()


def _by_array(estimator: Any, by_frame: Callable[[Any], Any]) -> Callable[[Any], Any]:
    import pandas as pd

    fitted = getattr(estimator, "feature_names_in_", None)
    names = None if fitted is None else [str(name) for name in fitted]
    # a copy without the fitted names: given an array, scikit-learn has no names to warn
    # about (the names are checked here); coefficients and trees stay shared
    unnamed = copy.copy(estimator)
    vars(unnamed).pop("feature_names_in_", None)
    predict_values = _tree_by_tree(unnamed) or unnamed.predict

    def predict(frame: Any) -> Any:
        if isinstance(frame, pd.DataFrame) and (names is None or list(frame.columns) == names):
            values = frame.to_numpy()
            if values.dtype.kind in "fiu":  # numbers: what the frame would have become
                return predict_values(values)
        return by_frame(frame)  # scikit-learn's own checks and words

    return predict


@functools.cache
def tree_by_tree_forests() -> frozenset[type]:
    """scikit-learn's forests whose trees are summed here (see the note above)."""
    from sklearn import ensemble

    names = "RandomForestClassifier RandomForestRegressor ExtraTreesClassifier ExtraTreesRegressor"
    return frozenset(getattr(ensemble, name) for name in names.split())


def forest_mean(forest: Any) -> Callable[[Any], Any] | None:
    """The mean of a fitted forest's trees for an array, summed in this thread in the forest's
    order: its ``predict_proba`` (a classifier of one output) or ``predict`` (a regressor).
    None for any other estimator, and where scikit-learn's sum would run otherwise (in
    several threads, printing progress) or is not done here (several outputs of a
    classifier, or not fitted: scikit-learn's own path says so)."""
    from sklearn.base import is_classifier

    if type(forest) not in tree_by_tree_forests() or forest.n_jobs not in (None, 1):
        return None
    classifier = is_classifier(forest)
    unfitted = "estimators_" not in vars(forest)
    if unfitted or forest.verbose or (classifier and forest.n_outputs_ != 1):
        return None
    import numpy as np

    # each tree's own predict_proba / predict is its fitted and feature checks (made once for
    # all trees by the forest's), then this part of its Tree's values
    trees = [estimator.tree_ for estimator in forest.estimators_]
    if classifier:
        part, width = (slice(None), slice(0, forest.n_classes_)), (forest.n_classes_,)
    elif forest.n_outputs_ == 1:
        part, width = (slice(None), 0), ()
    else:
        part, width = (slice(None), slice(None), 0), (forest.n_outputs_,)

    def mean(values: Any) -> Any:
        X = forest._validate_X_predict(values)  # scikit-learn's own checks and words
        total = np.zeros((X.shape[0], *width), dtype=np.float64)
        for tree in trees:
            total += tree.predict(X)[part]
        total /= len(trees)
        return total

    return mean


def _tree_by_tree(forest: Any) -> Callable[[Any], Any] | None:
    """A forest's ``predict`` of an array from ``forest_mean``."""
    import numpy as np
    from sklearn.base import is_classifier

    mean = forest_mean(forest)
    if mean is None or not is_classifier(forest):
        return mean

    return lambda values: forest.classes_.take(np.argmax(mean(values), axis=1), axis=0)


def unity_catalog_store(credentials: Any) -> Any:
    """MLflow's Unity Catalog registry store, asking ``credentials`` (the caller's) instead
    of the ambient identity."""
    from mlflow.store._unity_catalog.registry.rest_store import UcModelRegistryStore

    store = UcModelRegistryStore(store_uri="databricks-uc", tracking_uri="databricks")
    store.get_host_creds = lambda: credentials
    store.get_tracking_host_creds = lambda: credentials
    return store


def whole_socket_reader(body: Any) -> Callable[[int], bytes] | None:
    """The reader beneath gunicorn's request body, while nothing has been read from it (the
    bytes are then the same); None under any other server."""
    reader = getattr(body, "reader", None)
    buffered = getattr(body, "buf", None)
    if (
        type(body).__module__ == "gunicorn.http.body"
        and type(body).__name__ == "Body"
        and callable(getattr(reader, "read", None))
        and isinstance(buffered, io.BytesIO)
        and buffered.tell() == 0
    ):
        return reader.read
    return None


def promptly_stopping_thread_worker() -> type:
    """gunicorn's gthread worker (with any GUNICORN_THREADS, 1 included), whose graceful
    stop looks at its kept-alive connections at least once a second (see the note above):
    idle ones close once their keep-alive expires, requests in flight keep the whole
    graceful timeout."""
    from gunicorn.workers.gthread import ThreadWorker

    class PromptlyStoppingThreadWorker(ThreadWorker):
        def wait_for_and_dispatch_events(self, timeout: float) -> None:
            super().wait_for_and_dispatch_events(min(timeout, 1.0))  # its main loop's own

    return PromptlyStoppingThreadWorker


def finish_dash_setup(app: Any) -> None:
    """Dash's setup (the bundles it may serve, cancel callbacks) done now, before any
    request: a fresh gunicorn worker answered 500 for react and react-dom while another
    request ran Dash's first-request setup."""
    with app.server.test_request_context(app.config.requests_pathname_prefix):
        app._setup_server()


def only_the_page(app: Any, unknown: Callable[[], Any]) -> None:
    """Every path under the prefix that no route of the console takes is answered by
    ``unknown`` (a 404), not by the page with status 200 (``/docs``, ``/openapi.json``)."""
    endpoint = f"{app.config.routes_pathname_prefix}<path:path>"
    if endpoint not in app.server.view_functions:
        raise RuntimeError(f"Dash no longer has its catch-all route {endpoint}: see compat.py")
    app.server.view_functions[endpoint] = lambda path: unknown()


def lighter_sklearn_tasks() -> None:
    """Once per process, before a scikit-learn model predicts (see the note above)."""
    try:
        from sklearn._config import config_context
        from sklearn.utils.parallel import _FuncWrapper
    except ImportError:  # no scikit-learn here: nothing to lighten
        return
    original = _FuncWrapper.__call__
    if getattr(original, "lightened", False):
        return

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        config = getattr(self, "config", None)
        given = getattr(self, "warning_filters", None)
        if config and given and (given is warnings.filters or given == warnings.filters):
            with config_context(**config):
                return self.function(*args, **kwargs)
        return original(self, *args, **kwargs)

    call.lightened = True  # type: ignore[attr-defined]
    call.original = original  # type: ignore[attr-defined]
    _FuncWrapper.__call__ = call
