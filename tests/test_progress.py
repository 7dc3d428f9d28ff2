"""Training history, scikit-learn's callbacks and verbose progress lines."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skdbn._training
from skdbn import RBM, DBNClassifier, DBNTransformer, GenerativeDBNClassifier

callback = pytest.importorskip("sklearn.callback")

FIELDS = {
    "stage",
    "layer",
    "epoch",
    "loss",
    "validation_score",
    "learning_rate",
    "seconds",
}


class Recorder:
    """A callback that records each task's path of names, and can stop one."""

    def __init__(self, stop_at=None, propagate=False):
        self.begun, self.ended = [], []
        self.stop_at = stop_at
        if propagate:
            self.max_propagation_depth = None

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    @staticmethod
    def _path(context):
        names = []
        while context is not None:
            names.append(f"{context.estimator_name}:{context.task_name}")
            context = context.parent
        return tuple(reversed(names))

    def on_fit_task_begin(self, estimator, context):
        self.begun.append(self._path(context))

    def on_fit_task_end(self, estimator, context):
        path = self._path(context)
        self.ended.append(path)
        return (
            self.stop_at is not None
            and path[-2:] == self.stop_at
            and (sum(p[-2:] == self.stop_at for p in self.ended) >= 2)
        )


class PropagatedRecorder(Recorder):
    max_propagation_depth = None

    def __init__(self):
        super().__init__()


def _small_classifier(**params):
    params = {"pretrain_epochs": 3, "max_iter": 4, "random_state": 0, **params}
    return DBNClassifier((12, 8), **params)


def test_history_has_one_record_per_epoch_of_every_stage(digits):
    X, _, y, _ = digits
    clf = _small_classifier(early_stopping=True, n_iter_no_change=50).fit(X, y)
    history = clf.history_
    assert all(set(record) == FIELDS for record in history)
    pretraining = [r for r in history if r["stage"] == "pretraining"]
    for layer in (1, 2):
        records = [r for r in pretraining if r["layer"] == layer]
        assert [r["epoch"] for r in records] == [1, 2, 3]
        np.testing.assert_allclose(
            [r["loss"] for r in records], clf.pretraining_curves_[layer - 1]
        )
    head = [r for r in history if r["stage"] == "head"]
    assert len(head) == clf.n_head_iter_
    assert head[-1]["loss"] == pytest.approx(clf.head_loss_, rel=1e-6)
    tuning = [r for r in history if r["stage"] == "fine-tuning"]
    np.testing.assert_allclose([r["loss"] for r in tuning], clf.loss_curve_)
    np.testing.assert_allclose(
        [r["validation_score"] for r in tuning], clf.validation_scores_
    )
    assert all(r["learning_rate"] == clf.learning_rate_init for r in tuning)
    assert all(r["seconds"] >= 0 for r in history)
    # Stages in the order they ran.
    order = [r["stage"] for r in history]
    assert order == sorted(order, key=["pretraining", "head", "fine-tuning"].index)


def test_history_of_the_other_estimators(digits):
    X, _, y, _ = digits
    rbm = RBM(8, n_iter=3, random_state=0).fit(X)
    assert [r["epoch"] for r in rbm.history_] == [1, 2, 3]
    np.testing.assert_allclose(
        [r["loss"] for r in rbm.history_], rbm.reconstruction_error_curve_
    )
    assert rbm.history_[0]["learning_rate"] == rbm.learning_rate_
    rbm.partial_fit(X)
    assert len(rbm.history_) == 4  # partial_fit continues the history

    ae = DBNTransformer((8, 4), pretrain_epochs=2, fine_tune=True, max_iter=3)
    ae.set_params(random_state=0).fit(X)
    stages = [(r["stage"], r["layer"]) for r in ae.history_]
    assert (
        stages
        == [("pretraining", 1)] * 2
        + [("pretraining", 2)] * 2
        + [("fine-tuning", None)] * 3
    )
    gen = GenerativeDBNClassifier((8, 16), pretrain_epochs=2, up_down_epochs=3)
    gen.set_params(random_state=0).fit(X, y)
    up_down = [r for r in gen.history_ if r["stage"] == "up-down"]
    np.testing.assert_allclose([r["loss"] for r in up_down], gen.up_down_curve_)
    top = [r for r in gen.history_ if r["layer"] == 2]
    assert len(top) == 2  # the top RBM, as the second pretrained layer


def _epochs(history, stage, layer=None):
    return [r["epoch"] for r in history if (r["stage"], r["layer"]) == (stage, layer)]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_history_numbers_epochs_on_across_partial_fit_calls_and_warm_starts(digits):
    """A stage's epochs (per layer) count on from the calls before, as read."""
    X, _, y, _ = digits
    rbm = RBM(8, n_iter=2, random_state=0).fit(X)
    rbm.partial_fit(X)
    rbm.partial_fit(X)
    assert _epochs(rbm.history_, "RBM") == [1, 2, 3, 4]
    rbm.fit(X)  # a new fit, a new history
    assert _epochs(rbm.history_, "RBM") == [1, 2]

    clf = DBNClassifier((8,), pretrain_epochs=2, max_iter=2, random_state=0)
    for _ in range(3):
        clf.partial_fit(X[:200], y[:200], classes=np.arange(10))
    assert _epochs(clf.history_, "pretraining", 1) == [1, 2]
    assert _epochs(clf.history_, "fine-tuning") == [1, 2, 3]
    clf.set_params(warm_start=True).fit(X, y)
    assert _epochs(clf.history_, "pretraining", 1) == [1, 2]
    assert _epochs(clf.history_, "fine-tuning") == [1, 2, 3, 4, 5]

    stream = DBNTransformer((8, 4), random_state=0)
    for _ in range(3):
        stream.partial_fit(X)
    for layer in (1, 2):
        assert _epochs(stream.history_, "pretraining", layer) == [1, 2, 3]

    gen = GenerativeDBNClassifier((8,), pretrain_epochs=2, up_down_epochs=2)
    gen.set_params(warm_start=True, random_state=0).fit(X, y).fit(X, y)
    assert _epochs(gen.history_, "pretraining", 1) == [1, 2]
    assert _epochs(gen.history_, "up-down") == [1, 2, 3, 4]


def test_an_interrupted_fit_keeps_its_history(monkeypatch, digits):
    X, _, y, _ = digits
    original = skdbn._training.train_step
    calls = {"n": 0}
    n_batches = int(np.ceil(len(X) / 26))

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * n_batches + 1:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(skdbn._training, "train_step", interrupted)
    with pytest.warns(UserWarning, match="interrupted"):
        clf = _small_classifier().fit(X, y)
    tuning = [r for r in clf.history_ if r["stage"] == "fine-tuning"]
    assert len(tuning) == 2 == len(clf.loss_curve_)


def test_callbacks_see_the_task_tree(digits):
    X, _, y, _ = digits
    recorder = Recorder()
    _small_classifier().set_callbacks(recorder).fit(X, y)
    names = [path for path in recorder.begun]
    root = ("DBNClassifier:fit",)
    assert names[0] == root
    layer1 = root + ("DBNClassifier:pretraining", "DBNClassifier:layer 1")
    assert names.count(layer1 + ("DBNClassifier:epoch",)) == 3
    assert names.count(root + ("DBNClassifier:fine-tuning", "DBNClassifier:epoch")) == 4
    head_epochs = names.count(root + ("DBNClassifier:head", "DBNClassifier:epoch"))
    assert head_epochs >= 1
    # Every task begun was ended.
    assert sorted(recorder.begun) == sorted(recorder.ended)


def test_a_callback_can_stop_a_stage(digits):
    X, _, y, _ = digits
    stopper = Recorder(stop_at=("DBNClassifier:fine-tuning", "DBNClassifier:epoch"))
    clf = _small_classifier(max_iter=10).set_callbacks(stopper).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2


def test_scoring_monitor_scores_each_fine_tuning_epoch_on_the_validation_split(
    digits,
):
    X, _, y, _ = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = _small_classifier(early_stopping=True, n_iter_no_change=50)
    clf.set_callbacks(monitor).fit(X, y)
    rows = [
        row
        for row in monitor.get_logs().data
        if row["task_name"] == "epoch" and "accuracy" in row
    ]
    np.testing.assert_allclose([r["accuracy"] for r in rows], clf.validation_scores_)


def test_callbacks_reach_skdbn_inside_a_pipeline_and_a_grid_search(digits):
    X, _, y, _ = digits
    recorder = PropagatedRecorder()
    pipe = make_pipeline(MinMaxScaler(), _small_classifier(max_iter=2))
    pipe.set_callbacks(recorder).fit(X, y)
    deepest = max(recorder.begun, key=len)
    assert deepest[0] == "Pipeline:fit" and deepest[-1] == "DBNClassifier:epoch"

    recorder = PropagatedRecorder()
    search = GridSearchCV(_small_classifier(max_iter=1), {"alpha": [1e-4, 1e-3]}, cv=2)
    search.set_callbacks(recorder).fit(X[:300], y[:300])
    assert any(p[-1] == "DBNClassifier:epoch" for p in recorder.begun)


def test_progress_bar_runs(digits):
    pytest.importorskip("rich")
    X, _, y, _ = digits
    # (Enough pretraining for features worth a head: "auto".)
    clf = _small_classifier(max_iter=2, pretrain_epochs="auto")
    clf.set_callbacks(callback.ProgressBar())
    assert clf.fit(X, y).score(X, y) > 0.5


def test_callbacks_are_not_fitted_state(digits):
    """A fit that raises restores the model but leaves the callbacks alone."""

    class NoCopy(Recorder):
        def __deepcopy__(self, memo):
            raise AssertionError("callbacks must not be deep-copied")

    X, _, y, _ = digits
    clf = _small_classifier().set_callbacks(NoCopy()).fit(X, y)
    before = clf.predict_proba(X)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X_nan, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_verbose_prints_elapsed_and_time_left(digits, capsys):
    X, _, y, _ = digits
    _small_classifier(verbose=1).fit(X, y)
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("[fine-tuning]")
    ]
    assert len(lines) == 4
    assert lines[0].startswith("[fine-tuning] epoch 1/4, loss ")
    assert "elapsed 0:0" in lines[0] and "left)" in lines[0]


def test_works_where_scikit_learn_has_no_callback_api():
    # scikit-learn itself imports sklearn.callback: refuse it to skdbn only.
    code = (
        "import builtins\n"
        "real_import = builtins.__import__\n"
        "def fake_import(name, globals=None, *args, **kwargs):\n"
        "    caller = (globals or {}).get('__name__', '')\n"
        "    if name == 'sklearn.callback' and caller.startswith('skdbn'):\n"
        "        raise ImportError(name)\n"
        "    return real_import(name, globals, *args, **kwargs)\n"
        "builtins.__import__ = fake_import\n"
        "from sklearn.datasets import load_digits\n"
        "from skdbn import DBNClassifier\n"
        "X, y = load_digits(return_X_y=True)\n"
        "clf = DBNClassifier((8,), pretrain_epochs=1, max_iter=1).fit(X / 16, y)\n"
        "assert not hasattr(clf, 'set_callbacks')\n"
        "assert clf.history_[-1]['stage'] == 'fine-tuning'\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
