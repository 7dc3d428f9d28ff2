"""``sample_weight`` in the classifier's and regressor's fit and partial_fit.

The references are independent of the package: a finite difference of a
weighted loss written here, the same data with rows repeated or removed
(a weight of k is k copies of the row, a weight of 0 no row), and
scikit-learn's weighted metrics.
"""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
)

from skdbn import DBNClassifier, DBNRegressor
from skdbn._network import Network, forward_backward

# Deterministic training: no pretraining epochs (the Glorot start), the head
# and fine-tuning by full-batch L-BFGS, in float64.
DETERMINISTIC = dict(
    pretrain_epochs=0, solver="lbfgs", alpha=0.0, dtype="float64", random_state=0
)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _repeated(X, y, weights):
    """Each row repeated as many times as its (whole-number) weight."""
    counts = np.asarray(weights, dtype=int)
    return np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0)


def _data(digits, n=300):
    X, _, y, _ = digits
    rng = np.random.RandomState(0)
    weights = rng.randint(0, 4, size=n)
    return X[:n], y[:n], weights


# -- the gradient -------------------------------------------------------------


def test_weighted_gradient_matches_a_finite_difference_of_the_weighted_loss():
    rng = np.random.RandomState(0)
    n, sizes = 7, (4, 5, 3)
    coefs = [rng.normal(size=(a, b)) for a, b in zip(sizes, sizes[1:])]
    intercepts = [rng.normal(size=b) for b in sizes[1:]]
    net = Network(coefs, intercepts, ["bernoulli", "softmax"])
    X = rng.uniform(size=(n, sizes[0]))
    Y = np.eye(sizes[-1])[rng.randint(sizes[-1], size=n)]
    w = rng.uniform(0, 3, size=n)
    alpha = 0.3

    def weighted_loss():
        # Written out: logistic hidden layer, softmax output, cross-entropy
        # averaged with weights, and the L2 term over the weights' sum.
        h = 1 / (1 + np.exp(-(X @ coefs[0] + intercepts[0])))
        z = h @ coefs[1] + intercepts[1]
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        data = -(w * (Y * log_p).sum(axis=1)).sum() / w.sum()
        return data + alpha / (2 * w.sum()) * sum((W**2).sum() for W in coefs)

    value, grads = forward_backward(net, X, Y, weights=w, alpha=alpha)
    assert value == pytest.approx(weighted_loss(), rel=1e-12)
    eps = 1e-6
    for param, grad in zip(net.params, grads):
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            up = weighted_loss()
            param[index] = saved - eps
            down = weighted_loss()
            param[index] = saved
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


# -- weights as repeated and removed rows -------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        check_sample_weight_equivalence_on_dense_data,
        check_sample_weight_equivalence_on_sparse_data,
    ],
)
def test_classifier_weights_equal_repeated_and_removed_rows(check):
    # scikit-learn's own check: integer weights (0 included) against the
    # data with those rows repeated or removed, predict_proba to 1e-7.
    check("DBNClassifier", DBNClassifier((16,), **DETERMINISTIC))


@pytest.mark.parametrize("head_hidden_layer_sizes", [(), (8,)])
def test_regressor_weights_equal_repeated_and_removed_rows(
    digits, head_hidden_layer_sizes
):
    X, y, w = _data(digits)
    target = X[:, 10] * 3 + y  # a smooth real target
    # (A few iterations: over many, L-BFGS on a non-convex loss turns the
    # rounding differences of the two sums into different paths.)
    params = dict(
        DETERMINISTIC,
        head_hidden_layer_sizes=head_hidden_layer_sizes,
        head_max_iter=20,
        max_iter=10,
    )
    if head_hidden_layer_sizes:
        params["head_max_iter"] = 0  # Adam epochs would shuffle
    weighted = DBNRegressor((16,), **params).fit(X, target, sample_weight=w)
    repeated = DBNRegressor((16,), **params).fit(*_repeated(X, target, w))
    np.testing.assert_allclose(
        weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_one_minibatch_sgd_epoch_with_weights_equals_repeated_rows(digits, method):
    # One batch holds every row, so the weighted step and the step over the
    # repeated rows are the same sums; the L2 term is divided by the
    # weights' sum as by the repeated rows' count.
    X, y, w = _data(digits, n=200)
    params = dict(
        pretrain_epochs=0,
        solver="sgd",
        learning_rate_init=0.05,
        alpha=1e-2,
        batch_size=10_000,
        max_iter=3,
        head_max_iter=5,
        dtype="float64",
        random_state=0,
    )
    weighted = getattr(DBNClassifier((16,), **params), method)(X, y, sample_weight=w)
    repeated = getattr(DBNClassifier((16,), **params), method)(*_repeated(X, y, w))
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_pretraining_leaves_out_rows_of_weight_zero(digits):
    # Zero weights give the stack pretrained without those rows, weight for
    # weight, and the same convex head on its features.
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    w = np.ones(len(y))
    w[::3] = 0
    params = dict(DETERMINISTIC, pretrain_epochs=2, fine_tune=False)
    weighted = DBNClassifier((16,), **params).fit(X, y, sample_weight=w)
    kept = w > 0
    removed = DBNClassifier((16,), **params).fit(X[kept], y[kept])
    np.testing.assert_array_equal(weighted.coefs_[0], removed.coefs_[0])
    np.testing.assert_allclose(
        weighted.predict_proba(X), removed.predict_proba(X), atol=1e-3
    )


def test_pretraining_sees_positive_weights_once(digits):
    X, y, _ = _data(digits)
    w = np.random.RandomState(1).uniform(0.5, 4, size=len(y))
    params = dict(pretrain_epochs=2, fine_tune=False, head_max_iter=5, random_state=0)
    weighted = DBNClassifier((16,), **params).fit(X, y, sample_weight=w)
    plain = DBNClassifier((16,), **params).fit(X, y)
    assert weighted.pretraining_curves_ == plain.pretraining_curves_
    # ... while the head, trained on the same features, follows the weights.
    assert not np.allclose(weighted.coefs_[-1], plain.coefs_[-1])


def test_unit_weights_give_the_unweighted_model(digits):
    X, y, _ = _data(digits)
    params = dict(max_iter=3, random_state=0)
    ones = DBNClassifier((16,), **params).fit(X, y, sample_weight=np.ones(len(y)))
    plain = DBNClassifier((16,), **params).fit(X, y)
    np.testing.assert_array_equal(ones.predict_proba(X), plain.predict_proba(X))


def test_weights_steer_the_classifier(digits):
    # Down-weighting one class makes the model predict it less often.
    X, _, y, _ = digits
    w = np.where(y == 3, 0.02, 1.0)
    params = dict(max_iter=15, random_state=0)
    weighted = DBNClassifier((32,), **params).fit(X, y, sample_weight=w)
    plain = DBNClassifier((32,), **params).fit(X, y)
    assert (weighted.predict(X) == 3).sum() < (plain.predict(X) == 3).sum()


# -- early stopping scores the held-out rows with their weights ---------------


def test_validation_scores_are_the_weighted_metrics():
    rng = np.random.RandomState(0)
    w = rng.uniform(0, 2, size=50)
    proba = rng.dirichlet(np.ones(4), size=50)
    Y = np.eye(4)[rng.randint(4, size=50)]
    expected = accuracy_score(Y.argmax(1), proba.argmax(1), sample_weight=w)
    assert DBNClassifier()._validation_score(proba, Y, w) == pytest.approx(expected)
    out, target = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    expected = r2_score(target, out, sample_weight=w)
    assert DBNRegressor._validation_score(out, target, w) == pytest.approx(expected)


@pytest.mark.parametrize("scoring", [None, "accuracy"])
def test_early_stopping_with_weights(digits, scoring):
    X, y, _ = _data(digits, n=400)
    w = np.random.RandomState(2).uniform(0.5, 2, size=len(y))
    clf = DBNClassifier(
        (16,), early_stopping=True, scoring=scoring, max_iter=5, random_state=0
    ).fit(X, y, sample_weight=w)
    assert np.isfinite(clf.validation_scores_).all()
    assert 0.5 < clf.best_validation_score_ <= 1


# -- routing through meta-estimators ------------------------------------------


def test_pipeline_and_grid_search_route_sample_weight(digits):
    X, y, w = _data(digits)
    w = w.astype(float)
    params = dict(max_iter=3, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = DBNClassifier((16,), **params).set_fit_request(sample_weight=True)
        pipe = make_pipeline(MinMaxScaler(clip=True), clf).fit(X, y, sample_weight=w)
        search = GridSearchCV(
            DBNClassifier((16,), **params)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True),
            {"alpha": [1e-4]},
            cv=2,
        ).fit(X, y, sample_weight=w)
    direct = DBNClassifier((16,), **params).fit(
        MinMaxScaler(clip=True).fit_transform(X), y, sample_weight=w
    )
    plain = DBNClassifier((16,), **params).fit(
        MinMaxScaler(clip=True).fit_transform(X), y
    )
    routed = pipe[-1].coefs_[-1]
    np.testing.assert_array_equal(routed, direct.coefs_[-1])
    assert not np.allclose(routed, plain.coefs_[-1])
    assert np.isfinite(search.best_score_)


# -- impossible weights --------------------------------------------------------


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(300), "Negative"),
        (np.full(300, np.nan), "NaN"),
        (np.ones(299), "300"),
        (np.zeros(300), "non-zero"),
    ],
)
@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_impossible_weights_are_refused(digits, weights, message, Estimator):
    X, y, _ = _data(digits)
    with pytest.raises(ValueError, match=message):
        Estimator((8,), max_iter=1).fit(X, y, sample_weight=weights)


def test_weights_that_leave_one_class_are_refused(digits):
    X, y, _ = _data(digits)
    w = (y == 4).astype(float)
    with pytest.raises(ValueError, match="only class 4 has one"):
        DBNClassifier((8,), max_iter=1).fit(X, y, sample_weight=w)


def test_a_validation_split_of_zero_weights_is_refused(digits):
    X, y, _ = _data(digits)
    y = (y > 4).astype(int)
    w = np.zeros(len(y))
    w[[0, 1, 2, 3, 4, 5, 10]] = 1  # every weighted row falls in training here
    with pytest.raises(ValueError, match="validation split"):
        DBNClassifier(
            (8,), early_stopping=True, validation_fraction=0.1, random_state=0
        ).fit(X, y, sample_weight=w)


def test_a_later_chunk_of_one_weighted_class_trains(digits):
    # partial_fit with classes given: a chunk whose weighted rows are all of
    # one class is an ordinary chunk, as it is without weights.
    X, _, y, _ = digits
    clf = DBNClassifier((8,), random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    before = clf.coefs_[-1].copy()
    ones = y == 1
    clf.partial_fit(X[ones][:20], y[ones][:20], sample_weight=np.full(20, 2.0))
    assert not np.array_equal(before, clf.coefs_[-1])
