"""Inputs as users send them, fitted state, and failures that must be loud.

Each test pins one behaviour that README or a docstring promises; the
reference values are computed here, independently of the package.
"""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skdbn._training
from skdbn import (
    RBM,
    DBNClassifier,
    DBNRegressor,
    DBNTransformer,
    TrainingDivergedError,
)

# -- data outside [0, 1] for Bernoulli visible units ---------------------------


def _raw_digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, random_state=0)


def test_unclipped_scaler_pipeline_scores_and_searches():
    X_train, X_test, y_train, y_test = _raw_digits()
    scaled = MinMaxScaler().fit(X_train).transform(X_test)
    assert scaled.max() > 1  # the rows the pipeline must not refuse
    pipe = make_pipeline(
        MinMaxScaler(), DBNClassifier((32,), pretrain_epochs=2, max_iter=20)
    )
    pipe.set_params(dbnclassifier__random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.9
        scores = cross_val_score(pipe, X_train, y_train, cv=3)
        assert np.all(np.isfinite(scores)) and scores.min() > 0.85
        search = GridSearchCV(
            pipe, {"dbnclassifier__hidden_layer_sizes": [(16,), (32,)]}, cv=2
        ).fit(X_train, y_train)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_fit_warns_once_naming_the_range_and_the_fixes():
    X = np.linspace(-0.5, 1.5, 40).reshape(20, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DBNTransformer((4,), pretrain_epochs=1, random_state=0).fit(X)
    range_warnings = [w for w in caught if "[0, 1]" in str(w.message)]
    assert len(range_warnings) == 1
    message = str(range_warnings[0].message)
    assert "[-0.5, 1.5]" in message
    assert "MinMaxScaler(clip=True)" in message and "gaussian" in message
    assert range_warnings[0].filename == __file__  # points at the caller


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_raw_pixel_values_are_refused(Estimator):
    X_train, _, y_train, _ = _raw_digits()  # whole numbers 0-16
    with pytest.raises(ValueError, match=r"\[0, 1\].*raw counts or pixel"):
        Estimator((8,)).fit(X_train, y_train)


def test_uint8_images_are_predicted_without_a_full_float_copy():
    X, y = load_digits(return_X_y=True)
    clf = DBNClassifier((16,), pretrain_epochs=1, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X / 16, y)
    X8 = (X * 15).astype(np.uint8)  # 0-240 stored as bytes
    expected = clf.predict_proba((X8 / 1.0).astype(np.float32))
    np.testing.assert_array_equal(clf.predict_proba(X8), expected)


# -- a row's output does not depend on the other rows ------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_rows_prediction_does_not_depend_on_the_others(dtype, digits):
    X_train, X_test, y_train, _ = digits
    clf = DBNClassifier((64, 32), pretrain_epochs=2, max_iter=3, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(random_state=0).fit(X_train, y_train)
    together = clf.predict_proba(X_test)
    for i in (0, 7, 255, 256, 300):
        np.testing.assert_array_equal(
            clf.predict_proba(X_test[i : i + 1]), together[i : i + 1]
        )
    shuffled = np.random.default_rng(0).permutation(len(X_test))
    np.testing.assert_array_equal(
        clf.predict_proba(X_test[shuffled]), together[shuffled]
    )


# -- fitted state --------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
@pytest.mark.parametrize("copier", ["joblib", "pickle", "deepcopy"])
def test_sgd_trains_the_weights_of_a_copied_model(Estimator, copier, digits, tmp_path):
    X_train, _, y_train, _ = digits
    est = Estimator((16,), solver="sgd", pretrain_epochs=1, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_train, y_train)
    if copier == "joblib":
        joblib.dump(est, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
    elif copier == "pickle":
        loaded = pickle.loads(pickle.dumps(est))
    else:
        loaded = copy.deepcopy(est)
    before = [W.copy() for W in loaded.coefs_]
    loaded.partial_fit(X_train, y_train)
    est.partial_fit(X_train, y_train)
    for W_before, W_after, W_original in zip(before, loaded.coefs_, est.coefs_):
        assert not np.array_equal(W_before, W_after)  # the weights moved
        np.testing.assert_array_equal(W_after, W_original)  # as the original's did


def test_autoencoder_partial_fit_continues_the_fine_tuned_model(digits):
    X_train = digits[0]
    dbn = DBNTransformer((16, 8), fine_tune=True, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X_train)
    tuned_score = dbn.score(X_train)
    rbm_weights = [rbm.components_.copy() for rbm in dbn.rbms_]
    dbn.partial_fit(X_train[:10])
    assert len(dbn.loss_curve_) == 31 and dbn.n_iter_ == 31
    # One epoch over ten rows moves the fine-tuned model a little, it does
    # not fall back to the pretrained stack.
    assert dbn.score(X_train) > tuned_score - 0.1
    for rbm, W in zip(dbn.rbms_, rbm_weights):
        np.testing.assert_array_equal(rbm.components_, W)


def test_sample_draws_from_the_pretrained_rbms(digits):
    X_train = digits[0]
    dbn = DBNTransformer((16, 8), fine_tune=True, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X_train)
    top = dbn.rbms_[-1].sample(3, n_gibbs_steps=5, random_state=4)
    lower = dbn.rbms_[0]
    expected = 1 / (1 + np.exp(-(top @ lower.components_ + lower.intercept_visible_)))
    np.testing.assert_allclose(
        dbn.sample(3, n_gibbs_steps=5, random_state=4), expected, atol=1e-6
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: RBM(8, n_iter=2, random_state=0),
        lambda: DBNTransformer((8,), pretrain_epochs=2, random_state=0),
        lambda: DBNClassifier((8,), pretrain_epochs=1, max_iter=2, random_state=0),
        lambda: DBNRegressor((8,), pretrain_epochs=1, max_iter=2, random_state=0),
    ],
)
def test_a_failed_refit_leaves_the_model_as_it_was(make, digits):
    X_train, X_test, y_train, _ = digits
    est = make()
    supervised = isinstance(est, (DBNClassifier, DBNRegressor))
    args = (X_train, y_train) if supervised else (X_train,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(*args)
    method = getattr(est, "predict" if supervised else "transform")
    before = method(X_test)
    state = {k: v for k, v in vars(est).items() if k.endswith("_")}
    bad = X_train[:, :10].copy()
    bad[0, 0] = np.nan
    bad_args = (bad, y_train) if supervised else (bad,)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(*bad_args)
    with pytest.raises(ValueError, match="NaN|features"):
        est.partial_fit(*bad_args)
    assert est.n_features_in_ == 64
    np.testing.assert_array_equal(method(X_test), before)
    with pytest.raises(ValueError, match="features"):
        method(X_test[:, :10])  # a clear error, not a BLAS crash
    assert {k for k in vars(est) if k.endswith("_")} == set(state)


def test_a_diverged_partial_fit_leaves_the_weights_untouched(digits):
    X_train = digits[0]
    rbm = RBM(8, visible_unit="gaussian", n_iter=1, dtype="float64", random_state=0)
    rbm.fit(X_train)
    weights = rbm.components_.copy()
    rbm.set_params(learning_rate=1e4)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        rbm.partial_fit(X_train * 50)
    np.testing.assert_array_equal(rbm.components_, weights)
    assert rbm.n_iter_ == 1


@pytest.mark.parametrize(
    "change", [{"n_components": 4}, {"hidden_unit": "relu"}, {"dtype": "float64"}]
)
def test_rbm_prediction_uses_the_fitted_structure(change, digits):
    X_train = digits[0]
    rbm = RBM(8, n_iter=1, random_state=0).fit(X_train)
    H = rbm.transform(X_train)
    rbm.set_params(**change)
    np.testing.assert_array_equal(rbm.transform(X_train), H)
    assert rbm.inverse_transform(H).shape == X_train.shape
    with pytest.raises(ValueError, match="partial_fit cannot change.*Call fit"):
        rbm.partial_fit(X_train)


@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (8,)}, {"dtype": "float64"}])
def test_dbn_refuses_to_continue_after_a_structural_change(change, digits):
    X_train, X_test, y_train, _ = digits
    clf = DBNClassifier((16,), pretrain_epochs=1, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    clf.set_params(**change)
    np.testing.assert_array_equal(clf.predict_proba(X_test), proba)
    with pytest.raises(ValueError, match="partial_fit.*no longer match"):
        clf.partial_fit(X_train, y_train)
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match="warm_start.*no longer match"):
        clf.fit(X_train, y_train)
    clf.set_params(warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)  # a fresh fit takes the new structure
    assert clf.coefs_[0].dtype == np.dtype(clf.dtype)


# -- failures are loud ---------------------------------------------------------


def test_runaway_rbm_training_raises(digits):
    X = digits[0]
    X = (X - X.mean(0)) / (X.std(0) + 1e-3)
    rbm = RBM(16, visible_unit="gaussian", learning_rate=1.0, n_iter=5, dtype="float64")
    with pytest.raises(TrainingDivergedError, match="grew from .* Lower learning_rate"):
        rbm.fit(X)
    assert not hasattr(rbm, "components_")


def test_an_exploding_sgd_run_raises_instead_of_returning_nan(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (16,),
        pretrain_epochs=1,
        solver="sgd",
        learning_rate_init=1e300,
        alpha=0.0,
        max_iter=1,
        batch_size=1000,
    )
    with pytest.raises(TrainingDivergedError, match="learning_rate_init"):
        clf.fit(X_train, y_train)


def test_huge_float32_targets_are_predicted_finitely(digits):
    X_train, _, y_train, _ = digits
    y = (y_train.astype(np.float32) + 1) * np.float32(1e18)
    reg = DBNRegressor((16,), pretrain_epochs=1, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_train, y)
    pred = reg.predict(X_train)
    assert np.all(np.isfinite(pred))
    assert 1e18 < pred.mean() < 1e19


def test_input_that_overflows_the_model_dtype_is_a_clear_error(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (8,), visible_unit="gaussian", pretrain_epochs=1, max_iter=1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    with pytest.raises(ValueError, match="too large for a float32 model.*float64"):
        clf.predict_proba(np.full((1, 64), 1e300))


def test_a_collapsed_fine_tuning_run_warns(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (32,),
        pretrain_epochs=0,
        solver="sgd",
        learning_rate_init=3.0,
        momentum=0.9,
        max_iter=8,
        batch_size=32,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="collapsed.*learning_rate_init"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
    prior = np.bincount(y_train) / len(y_train)
    assert clf.loss_curve_[-1] > -np.sum(prior * np.log(prior))


def _interrupt_after(monkeypatch, name, n_calls):
    """Make ``skdbn._training.<name>`` raise KeyboardInterrupt on call n_calls."""
    original = getattr(skdbn._training, name)
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n_calls:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(skdbn._training, name, wrapped)


def test_ctrl_c_in_fine_tuning_keeps_the_history(monkeypatch, digits):
    X_train, X_test, y_train, _ = digits
    n_batches = int(np.ceil(len(X_train) / 100))
    _interrupt_after(monkeypatch, "train_step", 3 * n_batches + 2)
    clf = DBNClassifier(
        (16,), pretrain_epochs=1, batch_size=100, max_iter=10, random_state=0
    )
    with pytest.warns(UserWarning, match="interrupted.*after 3 complete epochs"):
        clf.fit(X_train, y_train)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert np.all(np.isfinite(clf.predict_proba(X_test)))


def test_ctrl_c_in_the_head_leaves_a_usable_model(monkeypatch, digits):
    X_train, X_test, y_train, _ = digits
    _interrupt_after(monkeypatch, "forward_backward", 4)
    clf = DBNClassifier((16,), pretrain_epochs=1, fine_tune=False, random_state=0)
    with pytest.warns(UserWarning, match="interrupted.*output layer"):
        clf.fit(X_train, y_train)
    assert len(clf.coefs_) == 2
    assert clf.predict(X_test).shape == (len(X_test),)


# -- parameters and methods ----------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_unit": ["bogus"]},
        {"pretrain_learning_rate": [-1.0]},
        {"pretrain_learning_rate": [0.0]},
        {"pretrain_learning_rate": [float("nan")]},
        {"pretrain_epochs": [-3]},
        {"pretrain_epochs": [2.7]},
    ],
)
@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNTransformer])
def test_per_layer_lists_are_validated_like_scalars(Estimator, params, digits):
    X_train, _, y_train, _ = digits
    est = Estimator((4,), **params)
    with pytest.raises(ValueError, match="Every entry of"):
        est.fit(X_train, y_train)


@pytest.mark.parametrize(
    "kwargs", [{"n_samples": 0}, {"n_samples": 2.5}, {"n_gibbs_steps": 0}]
)
def test_sample_counts_are_validated(kwargs, digits):
    rbm = RBM(4, n_iter=1, random_state=0).fit(digits[0])
    dbn = DBNTransformer((4,), pretrain_epochs=1, random_state=0).fit(digits[0])
    for model in (rbm, dbn):
        with pytest.raises(ValueError, match="must be an int of at least 1"):
            model.sample(**{"n_samples": 2, **kwargs})


def test_gibbs_takes_fortran_and_sparse_input(digits):
    X = digits[0][:5]
    rbm = RBM(4, n_iter=1, random_state=0).fit(digits[0])
    for v in (np.asfortranarray(X), sp.csr_matrix(X), X.tolist()):
        out = rbm.gibbs(v)
        assert out.shape == X.shape and np.all((out == 0) | (out == 1))


def test_early_stopping_on_tiny_data_says_what_to_do():
    X = np.random.default_rng(0).uniform(size=(12, 3))
    y = np.repeat([0, 1, 2], 4)
    with pytest.raises(ValueError, match="set early_stopping=False"):
        DBNClassifier((4,), early_stopping=True).fit(X, y)


def test_head_convergence_warning_points_at_the_caller(digits):
    X_train, _, y_train, _ = digits
    for params in ({"fine_tune": False}, {"max_iter": 0}):
        clf = DBNClassifier((16,), pretrain_epochs=1, head_max_iter=1, **params)
        with pytest.warns(ConvergenceWarning, match="head_max_iter") as record:
            clf.fit(X_train, y_train)
        assert record[0].filename == __file__


def test_grid_over_layer_sizes_builds_those_layers(digits):
    X_train, _, y_train, _ = digits
    search = GridSearchCV(
        DBNClassifier(pretrain_epochs=1, max_iter=2, random_state=0),
        {"hidden_layer_sizes": [(12, 6), (5,)]},
        cv=2,
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train[:300], y_train[:300])
    for sizes in [(12, 6), (5,)]:
        est = DBNClassifier(hidden_layer_sizes=sizes, pretrain_epochs=1, max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_train[:300], y_train[:300])
        assert [W.shape[1] for W in est.coefs_] == [*sizes, 10]


# -- early stopping restores the best weights ------------------------------------


def _snapshot_epochs(monkeypatch):
    """Record the network's parameters after every epoch's validation."""
    original = skdbn._training._record_epoch
    snapshots = []

    def record(net, state, *args, **kwargs):
        message = original(net, state, *args, **kwargs)
        snapshots.append(net.copy_params())
        return message

    monkeypatch.setattr(skdbn._training, "_record_epoch", record)
    return snapshots


def test_classifier_early_stopping_restores_the_best_epochs_weights(
    monkeypatch, digits
):
    X_train, _, y_train, _ = digits
    snapshots = _snapshot_epochs(monkeypatch)
    clf = DBNClassifier(
        (32,),
        pretrain_epochs=5,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        batch_size=50,
        random_state=0,
    ).fit(X_train, y_train)
    scores = clf.validation_scores_
    best = int(np.argmax(scores))
    assert best < len(scores) - 1  # later epochs were worse
    assert clf.best_validation_score_ == scores[best]
    n_layers = len(clf.coefs_)
    for W, W_best in zip(clf.coefs_ + clf.intercepts_, snapshots[best]):
        np.testing.assert_array_equal(W, W_best)
    assert not np.array_equal(clf.coefs_[0], snapshots[-1][0])
    assert len(snapshots[best]) == 2 * n_layers


def test_autoencoder_early_stopping_restores_the_best_epochs_weights(
    monkeypatch, digits
):
    X_train = digits[0]
    snapshots = _snapshot_epochs(monkeypatch)
    dbn = DBNTransformer(
        (32, 8),
        pretrain_epochs=3,
        fine_tune=True,
        early_stopping=True,
        n_iter_no_change=2,
        max_iter=60,
        learning_rate_init=0.03,
        batch_size=50,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X_train)
    best = int(np.argmax(dbn.validation_scores_))
    assert best < len(dbn.validation_scores_) - 1
    for W, W_best in zip(dbn.coefs_ + dbn.intercepts_, snapshots[best]):
        np.testing.assert_array_equal(W, W_best)


# -- short pretraining and streaming ---------------------------------------------


def test_a_layer_stuck_at_its_random_start_is_reported(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (32, 16), pretrain_epochs=3, batch_size=100, max_iter=4, random_state=0
    )
    with pytest.warns(
        UserWarning, match=r"barely responds.*42 CD updates.*pretrain_epochs='auto'"
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
    # The defaults pretrain the same network without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        DBNClassifier((32, 16), max_iter=4, random_state=0).fit(X_train, y_train)


def test_auto_pretraining_is_not_worse_than_none(digits):
    X_train, X_test, y_train, y_test = digits
    scores = {}
    for epochs in ("auto", 0):
        clf = DBNClassifier(
            (32, 16),
            pretrain_epochs=epochs,
            batch_size="auto",
            max_iter=4,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[epochs] = clf.fit(X_train, y_train).score(X_test, y_test)
    assert scores["auto"] > scores[0] - 0.02


def test_streaming_reaches_fit_and_beats_a_streamed_mlp(digits):
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = digits
    chunks = list(zip(np.array_split(X_train, 5), np.array_split(y_train, 5)))

    def stream(model):
        for _ in range(20):
            for X_chunk, y_chunk in chunks:
                model.partial_fit(X_chunk, y_chunk, classes=np.arange(10))
        return model.score(X_test, y_test)

    params = dict(hidden_layer_sizes=(32, 16), random_state=0)
    params_dbn = dict(params, pretrain_epochs="auto", batch_size="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        streamed = stream(DBNClassifier(**params_dbn))
        fitted = DBNClassifier(**params_dbn).fit(X_train, y_train).score(X_test, y_test)
        mlp = stream(MLPClassifier(**params))
    assert streamed > fitted - 0.02
    assert streamed > mlp - 0.02


# -- later calls follow set_params --------------------------------------------


def test_partial_fit_after_switching_solver_starts_a_new_optimiser(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier((16,), pretrain_epochs=1, solver="lbfgs", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(random_state=0).fit(X_train, y_train)
    clf.set_params(solver="sgd", learning_rate_init=0.01)
    clf.partial_fit(X_train, y_train)
    assert "velocities" in clf._fine_tuning_state["optimizer"]  # SGD's state


def test_partial_fit_without_fine_tuning_trains_the_head_alone(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier((16,), pretrain_epochs=1, fine_tune=False, random_state=0)
    clf.partial_fit(X_train, y_train, classes=np.arange(10))
    hidden = clf.coefs_[0].copy()
    head = clf.coefs_[-1].copy()
    clf.partial_fit(X_train, y_train)
    np.testing.assert_array_equal(clf.coefs_[0], hidden)
    assert not np.array_equal(clf.coefs_[-1], head)


def test_streamed_stack_takes_a_new_learning_rate(digits):
    X_train = digits[0]
    dbn = DBNTransformer((8,), random_state=0).partial_fit(X_train)
    dbn.set_params(pretrain_learning_rate=1e-3)
    dbn.partial_fit(X_train)
    assert dbn.rbms_[0].learning_rate_ == 1e-3


def test_divergence_reference_is_the_current_call(digits):
    # New data with a loss of its own scale is not divergence.
    X_train = digits[0]
    rbm = RBM(16, random_state=0).partial_fit(np.zeros((100, 64)))
    rbm.partial_fit(X_train)
    assert rbm.n_iter_ == 2


def test_a_diverging_gibbs_chain_is_a_clear_error(digits):
    X = digits[0]
    X = (X - X.mean(0)) / (X.std(0) + 1e-3)
    rbm = RBM(8, visible_unit="gaussian", hidden_unit="gaussian", n_iter=1)
    rbm.set_params(random_state=0).fit(X)
    rbm.components_[...] = 0
    rbm.components_[0, 0] = 1.5  # spectral norm 1.5: no stationary law
    with pytest.raises(ValueError, match="Gibbs chain diverged"):
        rbm.sample(2, n_gibbs_steps=2000, random_state=0)


# -- memory ----------------------------------------------------------------------


def _peak_bytes(call):
    import tracemalloc

    tracemalloc.start()
    try:
        out = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def test_uint8_prediction_converts_block_by_block(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier((16,), pretrain_epochs=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    big = np.tile((X_train * 255).astype(np.uint8), (30, 1))  # 40k rows, 2.6 MB
    out, peak = _peak_bytes(lambda: clf.predict_proba(big))
    # A float32 copy of the input alone would be 10 MB.
    assert peak < out.nbytes + 2 * 2**20


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNTransformer])
def test_early_stopping_does_not_copy_the_training_rows(Estimator, digits):
    X_train, _, y_train, _ = digits
    X = np.tile(X_train, (10, 4)).astype(np.float32)  # 13k x 256: 14 MB
    y = np.tile(y_train, 10)
    params = dict(pretrain_epochs=1, max_iter=1, early_stopping=True, random_state=0)
    if Estimator is DBNTransformer:
        est, args = Estimator((4,), fine_tune=True, **params), (X,)
    else:
        est, args = Estimator((4,), **params), (X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, peak = _peak_bytes(lambda: est.fit(*args))
    # A copy of the 90 % training part alone would be 12 MB (before this
    # was fixed fit peaked at 1.1 times the input); the held-out tenth, a
    # 1000-row sample for the layer checks and the targets come to about 4 MB.
    assert peak < 0.4 * X.nbytes
