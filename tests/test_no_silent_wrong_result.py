"""The supervised estimators never end with a wrong model without a word.

Each test reproduces one way a fit used to end with a wrong or useless
model and no error or warning (targets, options, warm starts, weights,
collapsed training), and checks it against a reference the test computes
itself.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)

from skdbn import DBNClassifier, DBNRegressor, DBNTransformer


@pytest.fixture(scope="module")
def small():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


QUICK = {"pretrain_epochs": 2, "max_iter": 3, "random_state": 0}


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(*args, **kwargs)


# -- targets -------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1e155, 1e-200])
def test_regressor_is_scale_free_up_to_extreme_targets(small, factor):
    # Targets are standardised, so scaling them scales the predictions: the
    # reference is the same model fitted on unscaled targets.
    X, y = small
    reference = _fit_quietly(DBNRegressor((16,), **QUICK), X, y.astype(float))
    scaled = _fit_quietly(DBNRegressor((16,), **QUICK), X, y * factor)
    predicted = scaled.predict(X[:20])
    assert np.all(np.isfinite(predicted))
    np.testing.assert_allclose(predicted / factor, reference.predict(X[:20]), rtol=1e-5)


def test_regressor_refuses_targets_too_close_to_the_float_limit(small):
    X, y = small
    with pytest.raises(ValueError, match="divide y by a constant"):
        DBNRegressor((16,), **QUICK).fit(X, np.where(y > 4, 1e308, -1e308))


@pytest.mark.parametrize("values", [(-1, 1), (0, 2), (1, 2)])
def test_multilabel_targets_must_be_zeros_and_ones(small, values):
    X, y = small
    Y = np.stack([y % 2, y > 4, y == 3], 1).astype(int)
    coded = np.where(Y == 1, values[1], values[0])
    with pytest.raises(ValueError, match="0s and 1s.*map its values"):
        DBNClassifier((16,), **QUICK).fit(X, coded)


def test_sparse_multilabel_targets_train_as_dense_ones(small):
    X, y = small
    Y = np.stack([y % 2, y > 4, y == 3], 1).astype(int)
    dense = _fit_quietly(DBNClassifier((16,), **QUICK), X, Y)
    sparse = _fit_quietly(DBNClassifier((16,), **QUICK), X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))


def test_warm_fit_from_labels_to_one_hot_rows_names_the_fix(small):
    X, y = small
    clf = _fit_quietly(DBNClassifier((16,), **QUICK), X, y % 3)
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"one label per row.*argmax"):
        clf.fit(X, np.eye(3, dtype=int)[y % 3])


# -- warm starts with another validation ------------------------------------------


def test_warm_start_with_another_scorer_trains_and_records_that_scorer(small):
    X, y = small
    clf = _fit_quietly(DBNClassifier((16,), early_stopping=True, **QUICK), X, y)
    before = [W.copy() for W in clf.coefs_]
    clf.set_params(warm_start=True, scoring="neg_log_loss", max_iter=5)
    _fit_quietly(clf, X, y)
    # New training was kept, not thrown away against the old accuracy bar.
    assert any(not np.array_equal(a, b) for a, b in zip(before, clf.coefs_))
    # Every recorded score is a log-loss of this call (accuracy is >= 0).
    assert len(clf.validation_scores_) == 5
    assert all(score < 0 for score in clf.validation_scores_)
    assert clf.best_validation_score_ < 0
    assert clf.best_validation_score_ >= max(clf.validation_scores_)


def test_warm_start_bar_is_the_current_model_on_this_split(small):
    # The final model scores the best value seen in the call (the start's
    # included), recomputed here with log_loss on the held-out rows.
    X, y = small
    calls = []

    def neg_log_loss(estimator, X_val, y_val):
        value = -log_loss(y_val, estimator.predict_proba(X_val), labels=range(10))
        calls.append((value, X_val, y_val))
        return value

    clf = _fit_quietly(
        DBNClassifier((16,), early_stopping=True, scoring=neg_log_loss, **QUICK),
        X,
        y,
    )
    calls.clear()
    clf.set_params(warm_start=True, max_iter=4, learning_rate_init=0.05)
    _fit_quietly(clf, X, y)
    start, X_val, y_val = calls[0]
    seen = [value for value, _, _ in calls]
    assert clf.best_validation_score_ == max(seen)
    final = -log_loss(y_val, clf.predict_proba(X_val), labels=range(10))
    assert final == pytest.approx(max(seen), rel=1e-6)


def test_toggling_early_stopping_on_a_warm_fit_keeps_the_records_consistent(small):
    X, y = small
    clf = _fit_quietly(DBNClassifier((16,), **QUICK), X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    clf.set_params(warm_start=True, early_stopping=True, max_iter=4)
    _fit_quietly(clf, X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ - 3
    assert clf.best_validation_score_ >= max(clf.validation_scores_)
    clf.set_params(early_stopping=False)
    _fit_quietly(clf, X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


# -- collapsed training -------------------------------------------------------------


def test_fine_tuning_worse_than_a_constant_warns_and_names_the_parameter(small):
    X, y = small
    clf = DBNClassifier(
        (16,), pretrain_epochs=10, max_iter=20, learning_rate_init=1.0, random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    messages = [str(w.message) for w in caught]
    constant = log_loss(y, np.tile(np.bincount(y) / len(y), (len(y), 1)))
    assert clf.loss_curve_[-1] > constant  # the reference: a constant model
    assert any("collapsed" in m and "learning_rate_init" in m for m in messages)
    # More epochs would not help: no advice to train longer.
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_partial_fit_that_collapses_warns(small):
    X, y = small
    clf = DBNClassifier(
        (16,), pretrain_epochs=2, learning_rate_init=100, random_state=0
    )
    with pytest.warns(UserWarning, match="collapsed.*learning_rate_init"):
        clf.partial_fit(X, y, classes=np.arange(10))


# -- options that cannot take effect ---------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "lbfgs", "early_stopping": True}, "early_stopping=False"),
        ({"solver": "lbfgs", "dropout": 0.5}, "dropout=0"),
        ({"solver": "lbfgs", "learning_rate": "cosine"}, "learning_rate='constant'"),
        ({"scoring": "neg_log_loss"}, "early_stopping=True"),
        ({"fine_tune": False, "dropout": 0.2}, "dropout=0"),
        ({"pretraining": "autoencoder", "persistent": True}, "persistent"),
        ({"pretraining": "autoencoder", "n_gibbs_steps": 3}, "n_gibbs_steps"),
        (
            {"pretraining": "autoencoder", "pretrain_learning_rate": 0.1},
            "pretrain_learning_rate",
        ),
        ({"sparsity_target": 0.05}, "sparsity_cost > 0"),
    ],
)
def test_options_that_cannot_take_effect_are_refused(small, params, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        DBNClassifier((16,), **{**QUICK, **params}).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"early_stopping": True}, "fine_tune=True"),
        (
            {"fine_tune": True, "solver": "lbfgs", "early_stopping": True},
            "early_stopping=False",
        ),
    ],
)
def test_transformer_options_that_cannot_take_effect_are_refused(small, params, match):
    X, _ = small
    with pytest.raises(ValueError, match=match):
        DBNTransformer((16,), pretrain_epochs=2, **params).fit(X)


def test_multilabel_partial_fit_refuses_classes(small):
    X, y = small
    Y = np.stack([y % 2, y > 4], 1).astype(int)
    with pytest.raises(ValueError, match="classes does not apply"):
        DBNClassifier((16,), **QUICK).partial_fit(X, Y, classes=[0, 1])


# -- weights and the penalties ---------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"hidden_layer_sizes": (16,)}, {"fine_tune": False}],
    ids=["16 units fine-tuned", "256 units, head only"],
)
def test_weights_equal_repeated_rows_at_the_default_penalties(params):
    # scikit-learn's own check (predict_proba to 1e-7), at the default alpha
    # and head_alpha: the penalties depend on the weights' sum only.
    clf = DBNClassifier(solver="lbfgs", pretrain_epochs=0, dtype="float64", **params)
    check_sample_weight_equivalence_on_dense_data("DBNClassifier", clf)


def test_regressor_weights_equal_repeated_rows_at_the_default_penalties(small):
    X, y = small
    X, y = X[:60], y[:60].astype(float)
    weights = np.random.default_rng(0).integers(0, 3, size=60)
    params = dict(
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        pretrain_epochs=0,
        max_iter=20,
        dtype="float64",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = DBNRegressor(**params).fit(X, y, sample_weight=weights)
        repeated = DBNRegressor(**params).fit(
            np.repeat(X, weights, axis=0), np.repeat(y, weights)
        )
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6)


@pytest.mark.parametrize("head_alpha", [0.1, 1.0, 10.0])
def test_head_is_logistic_regression_with_c_one_over_head_alpha(small, head_alpha):
    # The head on frozen features solves LogisticRegression(C=1/head_alpha)'s
    # problem (divided by n): the reference is scikit-learn's own solver on
    # the features the stack computes.
    X, y = small
    clf = DBNClassifier(
        (16,),
        pretrain_epochs=0,
        fine_tune=False,
        head_alpha=head_alpha,
        head_max_iter=500,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    features = 1 / (1 + np.exp(-(X @ clf.coefs_[0] + clf.intercepts_[0])))
    reference = LogisticRegression(C=1 / head_alpha, tol=1e-10, max_iter=10000)
    reference.fit(features, y)
    # (Both stop at their solvers' tolerances: agreement to 1e-2 in the
    # weights; a penalty off by a factor of 2 moves them by about 0.1.)
    np.testing.assert_allclose(clf.coefs_[-1], reference.coef_.T, atol=1e-2)
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(features), atol=1e-3
    )


def test_vanishing_weights_are_refused_or_warned_of(small):
    X, y = small
    with pytest.raises(ValueError, match="smallest normal float32"):
        DBNClassifier((16,), alpha=0, **QUICK).fit(
            X, y, sample_weight=np.full(len(y), 1e-44)
        )
    with pytest.warns(UserWarning, match="sum to 3e-28, less than one row"):
        DBNClassifier((16,), **QUICK).fit(X, y, sample_weight=np.full(len(y), 1e-30))


# -- found by the property suite ------------------------------------------------------


@pytest.mark.parametrize("y", [[2.45e154, 0.0, 1e154], [0.0, 4e-161, 1.0]])
def test_regressor_score_is_r2_of_the_scaled_problem(y):
    # R^2 is scale-free: the reference is r2_score on y and predictions
    # divided by y's largest value, computed here.
    from sklearn.metrics import r2_score

    X = np.random.default_rng(0).uniform(size=(30, 3))
    y = np.resize(np.asarray(y), 30)
    reg = _fit_quietly(DBNRegressor((4,), **QUICK), X, y)
    peak = np.abs(y).max()
    expected = r2_score(y / peak, reg.predict(X) / peak)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert reg.score(X, y) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_zero_weight_rows_far_from_the_weighted_targets_do_not_overflow():
    # The rows of weight 0 would standardise to 1e85; they count for nothing.
    X = np.random.default_rng(0).uniform(size=(3, 2))
    reg = DBNRegressor(
        (1,), pretrain_epochs=0, max_iter=0, head_max_iter=0, fine_tune=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        reg.fit(X, [1.0, 2.29e-85, 0.0], sample_weight=[0, 1, 1])
    assert np.all(np.isfinite(reg.predict(X)))


def test_weights_that_underflow_to_zero_say_so(small):
    X, y = small
    weights = np.zeros(len(y))
    weights[:50] = 1.1e-308
    with pytest.raises(ValueError, match="smallest normal float32.*underflow to 0"):
        DBNClassifier((16,), **QUICK).fit(X, y, sample_weight=weights)


def test_early_stopping_split_needs_two_rows_of_every_class(small):
    X, y = small
    y = y.copy()
    y[0] = 10  # a class with one row
    with pytest.raises(ValueError, match="2 rows of every class.*early_stopping"):
        DBNClassifier((16,), early_stopping=True, **QUICK).fit(X, y)


def test_early_stopping_refuses_a_side_of_the_split_all_of_weight_zero(small):
    # Two rows of positive weight, one per class: over seeds, the splits that
    # leave one side without either are refused, the others train.
    X, y = small
    X, y = X[:40], y[:40] % 2
    weights = np.zeros(len(y))
    weights[[0, 1]] = 1
    assert y[0] != y[1]
    refused = 0
    for seed in range(10):
        clf = DBNClassifier(
            (4,), early_stopping=True, **{**QUICK, "random_state": seed}
        )
        try:
            _fit_quietly(clf, X, y, sample_weight=weights)
        except ValueError as error:
            assert "has a sample weight of zero" in str(error)
            refused += 1
    assert refused > 0


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"up_down_learning_rate": 100.0}, "up_down_learning_rate"),
        ({"pretrain_learning_rate": 100.0}, "pretrain_learning_rate"),
    ],
)
def test_generative_model_worse_than_the_class_prior_warns(small, params, parameter):
    # The reference: the log-loss of predicting the class frequencies.
    from skdbn import GenerativeDBNClassifier

    X, y = small
    clf = GenerativeDBNClassifier(
        (16, 32), pretrain_epochs=3, up_down_epochs=2, random_state=0, **params
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    prior = log_loss(y, np.tile(np.bincount(y) / len(y), (len(y), 1)))
    assert log_loss(y, clf.predict_proba(X), labels=clf.classes_) > prior
    messages = [str(w.message) for w in caught if "collapsed" in str(w.message)]
    assert messages and all(parameter in message for message in messages)


def test_raw_digits_are_refused_with_the_fix_that_fits_them():
    X, y = load_digits(return_X_y=True)  # whole numbers 0 to 16
    with pytest.raises(ValueError, match=r"X / 16 "):
        DBNClassifier((16,), **QUICK).fit(X, y)
