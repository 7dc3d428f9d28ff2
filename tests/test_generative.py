"""The generative DBN: label units, free-energy classification, up-down, dreams.

References written here, not taken from the package: enumeration of a tiny
top RBM's hidden states, the closed-form free energy of binary hidden units,
the wake-sleep delta rule, and a separately trained classifier that judges
the generated digits.
"""

import itertools
import pickle

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import skdbn._generative
from skdbn import GenerativeDBNClassifier
from skdbn._units import LabelJoinedUnit
from skdbn._updown import TopRBM, label_log_odds, up_down_step

# -- the top RBM's visible layer ------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_joined_unit_samples_one_hot_labels_and_bernoulli_features(dtype):
    unit = LabelJoinedUnit(3, "bernoulli")
    rng = np.random.default_rng(0)
    n = 100_000
    pre_row = np.array([1.0, -0.5, 0.2, -2.0, 0.0, 3.0], dtype=dtype)
    pre = np.repeat(pre_row[None, :], n, axis=0)
    out = np.empty_like(pre)
    unit.activate_and_sample_scaled(pre * unit.input_scale, rng, out)
    labels, features = out[:, :3], out[:, 3:]
    assert np.all(labels.sum(axis=1) == 1) and set(np.unique(labels)) == {0, 1}
    for observed, expected in (
        (labels.mean(axis=0), softmax(pre_row[:3].astype(float))),
        (features.mean(axis=0), expit(pre_row[3:].astype(float))),
    ):
        standard_error = np.sqrt(expected * (1 - expected) / n)
        assert np.all(np.abs(observed - expected) < 5 * standard_error)


def _free_energy_by_enumeration(v, W, b_h, b_v):
    """``-log sum_h exp(v.b_v + h.b_h + h.W.v)`` over every binary ``h``."""
    states = np.array(list(itertools.product([0, 1], repeat=len(b_h))), dtype=float)
    return -logsumexp(v @ b_v + states @ b_h + states @ (W @ v))


def test_label_posterior_matches_enumeration_of_the_top_rbm():
    rng = np.random.default_rng(1)
    n_labels, n_features, n_hidden = 3, 4, 5
    W = rng.normal(0, 1.0, (n_hidden, n_labels + n_features))
    b_h, b_v = rng.normal(0, 1, n_hidden), rng.normal(0, 1, n_labels + n_features)
    features = rng.random((6, n_features))
    expected = np.empty((6, n_labels))
    for row, f in enumerate(features):
        energies = [
            _free_energy_by_enumeration(
                np.concatenate([np.eye(n_labels)[c], f]), W, b_h, b_v
            )
            for c in range(n_labels)
        ]
        expected[row] = softmax(-np.array(energies))
    log_odds = label_log_odds(features, W, b_h, b_v, n_labels, "bernoulli")
    np.testing.assert_allclose(softmax(log_odds, axis=1), expected, rtol=1e-10)


# -- the up-down step -------------------------------------------------------------


def test_up_down_step_applies_the_wake_and_sleep_delta_rules():
    """Saturated layers make the wake and sleep states known in advance.

    Layers: data (4) -> h1 (3) -> h2 (2) -> top RBM over [2 labels, h2].
    The recognition weights are zero with biases of +-50, so the wake states
    are the sign patterns A (h1) and C (h2); the generative weights from h2
    to h1 likewise give sleep states B in h1 whatever the top RBM samples.
    The delta rules then give exact updates to compare with.
    """
    rng = np.random.default_rng(2)
    A, B, C = np.array([1.0, 0, 1]), np.array([0.0, 1, 1]), np.array([1.0, 0])
    n = 5
    V = rng.random((n, 4))
    labels = np.eye(2)[[0, 1, 0, 1, 1]]
    R0, r0 = np.zeros((4, 3)), 100 * A - 50
    R1, r1 = np.zeros((3, 2)), 100 * C - 50
    G0, g0 = rng.normal(0, 1, (3, 4)), rng.normal(0, 1, 4)
    G1, g1 = np.zeros((2, 3)), 100 * B - 50
    before = [x.copy() for x in (R0, r0, G0, g0, G1, g1)]
    W_top = rng.normal(0, 0.1, (3, 4))
    W_top_before = W_top.copy()
    top = TopRBM(
        W_top,
        np.zeros(3),
        np.zeros(4),
        visible_unit=LabelJoinedUnit(2, "bernoulli"),
        hidden_unit="bernoulli",
        batch_size=n,
        momentum=0.0,
        weight_decay=0.0,
    )
    step = 0.1
    up_down_step(
        V,
        labels,
        [(R0, r0), (R1, r1)],
        [(G0, g0), (G1, g1)],
        ["bernoulli"] * 3,
        top,
        learning_rate=step,
        n_gibbs_steps=1,
        rng=rng,
    )
    R0_, r0_, G0_, g0_, G1_, g1_ = before
    wake_h1, wake_h2 = np.tile(A, (n, 1)), np.tile(C, (n, 1))
    sleep_h1 = np.tile(B, (n, 1))
    sleep_v = expit(sleep_h1 @ G0_ + g0_)
    # Wake: generative weights predict the layer below from the layer above.
    error0 = V - expit(wake_h1 @ G0_ + g0_)
    np.testing.assert_allclose(G0, G0_ + step / n * wake_h1.T @ error0, atol=1e-12)
    np.testing.assert_allclose(g0, g0_ + step / n * error0.sum(axis=0), atol=1e-12)
    error1 = wake_h1 - expit(wake_h2 @ G1_ + g1_)
    np.testing.assert_allclose(G1, G1_ + step / n * wake_h2.T @ error1, atol=1e-12)
    np.testing.assert_allclose(g1, g1_ + step / n * error1.sum(axis=0), atol=1e-12)
    # Sleep: recognition weights predict the layer above from the layer below.
    error_r = sleep_h1 - expit(sleep_v @ R0_ + r0_)
    np.testing.assert_allclose(R0, R0_ + step / n * sleep_v.T @ error_r, atol=1e-12)
    np.testing.assert_allclose(r0, r0_ + step / n * error_r.sum(axis=0), atol=1e-12)
    # The top RBM learnt from the labels joined to the wake states: CD moved it.
    top.unpack()
    assert not np.allclose(W_top, W_top_before)


# -- the estimator on digits ------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    return GenerativeDBNClassifier(random_state=0).fit(X_train, y_train)


def test_predict_proba_is_the_top_rbms_posterior_given_the_up_pass(fitted, digits):
    _, X_test, _, _ = digits
    m = fitted
    h = X_test[:20]
    for W, b in zip(m.recognition_coefs_, m.recognition_intercepts_):
        h = expit(h @ W.astype(float) + b)
    W, b_h, b_v = (p.astype(float) for p in m.top_rbm_._params())
    k = len(m.classes_)
    pre = h @ W[:, k:].T + b_h
    # -F(label c) = b_v[c] + sum_j softplus(pre_j + W_jc), up to a row constant.
    log_odds = np.stack(
        [b_v[c] + np.logaddexp(0, pre + W[:, c]).sum(axis=1) for c in range(k)],
        axis=1,
    )
    np.testing.assert_allclose(
        m.predict_proba(X_test[:20]), softmax(log_odds, axis=1), atol=1e-5
    )
    np.testing.assert_array_equal(
        m.predict(X_test[:20]), m.classes_[np.argmax(log_odds, axis=1)]
    )
    np.testing.assert_allclose(
        np.exp(m.predict_log_proba(X_test[:20])),
        m.predict_proba(X_test[:20]),
        rtol=1e-5,
    )
    # transform: the top RBM's hidden probabilities, labels at their posterior.
    joined = np.hstack([softmax(log_odds, axis=1), h])
    np.testing.assert_allclose(
        m.transform(X_test[:20]), expit(joined @ W.T + b_h), atol=1e-5
    )


def test_up_down_fine_tuning_raises_test_accuracy_over_greedy_pretraining(digits):
    X_train, X_test, y_train, y_test = digits
    gains = []
    for seed in (0, 1):
        greedy = GenerativeDBNClassifier(up_down_epochs=0, random_state=seed)
        tuned = GenerativeDBNClassifier(up_down_epochs=30, random_state=seed)
        greedy_score = greedy.fit(X_train, y_train).score(X_test, y_test)
        tuned_score = tuned.fit(X_train, y_train).score(X_test, y_test)
        assert greedy_score > 0.9
        gains.append(tuned_score - greedy_score)
        # Up-down untied the weights that greedy pretraining tied.
        assert not np.allclose(
            tuned.generative_coefs_[0], tuned.recognition_coefs_[0].T
        )
        np.testing.assert_array_equal(
            greedy.generative_coefs_[0], greedy.recognition_coefs_[0].T
        )
        assert len(tuned.up_down_curve_) == tuned.n_iter_ == 30
        assert tuned.up_down_curve_[-1] < tuned.up_down_curve_[0]
    assert min(gains) > 0 and np.mean(gains) >= 0.005


def test_warm_start_continues_up_down_from_the_same_weights(digits):
    X_train, X_test, y_train, y_test = digits
    m = GenerativeDBNClassifier((32, 64), up_down_epochs=0, warm_start=True)
    m.set_params(random_state=0).fit(X_train, y_train)
    top_before = m.top_rbm_.components_.copy()
    generative_before = m.generative_coefs_[0].copy()
    m.set_params(up_down_epochs=3).fit(X_train, y_train)
    assert m.n_iter_ == 3 and len(m.up_down_curve_) == 3
    # Pretraining was skipped: the weights moved from where they were by
    # small up-down steps, not to a fresh start.
    assert 0 < np.abs(m.generative_coefs_[0] - generative_before).max() < 0.5
    assert 0 < np.abs(m.top_rbm_.components_ - top_before).max() < 0.5
    m.fit(X_train, y_train)
    assert m.n_iter_ == 6 and len(m.up_down_curve_) == 6
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        m.set_params(hidden_layer_sizes=(16, 64)).fit(X_train, y_train)


def test_a_gibbs_schedule_splits_the_up_down_epochs_into_equal_parts(
    monkeypatch, digits
):
    X_train, _, y_train, _ = digits
    X, y = X_train[:200], y_train[:200]
    original = skdbn._generative.up_down_step
    seen = []

    def recording(*args, **kwargs):
        seen.append(kwargs["n_gibbs_steps"])
        return original(*args, **kwargs)

    monkeypatch.setattr(skdbn._generative, "up_down_step", recording)
    m = GenerativeDBNClassifier(
        (16, 32), pretrain_epochs=1, batch_size=100, random_state=0
    )
    # 7 epochs in 3 parts of 3, 2 and 2 (epoch e takes part e * 3 // 7).
    m.set_params(up_down_epochs=7, up_down_gibbs_steps=(3, 6, 10)).fit(X, y)
    per_epoch = seen[::2]  # 2 batches of 100 rows per epoch
    assert seen == [k for k in per_epoch for _ in range(2)]
    assert per_epoch == [3, 3, 3, 6, 6, 10, 10]
    # numpy integers, in an array, serve as well; 6 epochs in 3 parts of 2.
    seen.clear()
    m.set_params(up_down_epochs=6, up_down_gibbs_steps=np.array([1, 2, 4])).fit(X, y)
    assert seen[::2] == [1, 1, 2, 2, 4, 4]
    # Each fit of a warm start splits its own epochs.
    seen.clear()
    m.set_params(warm_start=True, up_down_epochs=2, up_down_gibbs_steps=[1, 2]).fit(
        X, y
    )
    assert seen == [1, 1, 2, 2]


def test_a_gibbs_schedule_equals_warm_starts_with_one_count_each(digits):
    X_train, _, y_train, _ = digits
    X, y = X_train[:300], y_train[:300]
    params = dict(pretrain_epochs=1, batch_size=50, random_state=0)
    scheduled = GenerativeDBNClassifier(
        (16, 32), up_down_epochs=4, up_down_gibbs_steps=(1, 3), **params
    ).fit(X, y)
    stepwise = GenerativeDBNClassifier(
        (16, 32), up_down_epochs=2, up_down_gibbs_steps=1, **params
    ).fit(X, y)
    stepwise.set_params(warm_start=True, up_down_gibbs_steps=3).fit(X, y)
    for a, b in zip(scheduled.generative_coefs_, stepwise.generative_coefs_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        scheduled.top_rbm_.components_, stepwise.top_rbm_.components_
    )


@pytest.mark.parametrize(
    "schedule, epochs",
    [
        ((), 30),
        ((3, 0), 30),
        ((2.5,), 30),
        (("3",), 30),
        ([[3, 6]], 30),
        ((True, 3), 30),
        (True, 30),
        ((3, 6, 10), 2),  # the 10 would never run
    ],
)
def test_an_impossible_gibbs_schedule_is_refused_before_training(
    digits, schedule, epochs
):
    X_train, _, y_train, _ = digits
    m = GenerativeDBNClassifier(
        (16, 32), up_down_epochs=epochs, up_down_gibbs_steps=schedule
    )
    with pytest.raises(ValueError, match="up_down_gibbs_steps"):
        m.fit(X_train[:100], y_train[:100])
    assert not hasattr(m, "classes_")


def test_class_conditional_samples_are_recognised_by_another_classifier(fitted, digits):
    X_train, _, y_train, _ = digits
    judge = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    wanted = np.repeat(fitted.classes_, 10)
    images, labels = fitted.sample(
        len(wanted), y=wanted, n_gibbs_steps=200, random_state=0
    )
    np.testing.assert_array_equal(labels, wanted)
    assert images.shape == (len(wanted), X_train.shape[1])
    assert images.min() >= 0 and images.max() <= 1
    # Chance is 0.1.
    assert np.mean(judge.predict(images) == wanted) >= 0.6


@pytest.fixture(scope="module")
def tiny_models(digits):
    """Small models of the same data with int, float and string classes."""
    X_train, _, y_train, _ = digits
    X, y = X_train[:200], y_train[:200]
    params = dict(pretrain_epochs=1, up_down_epochs=1, random_state=0)
    return {
        kind: GenerativeDBNClassifier((8,), **params).fit(X, labels)
        for kind, labels in [
            ("int", y),
            ("float", y.astype(float)),
            ("str", y.astype(str)),
        ]
    }


# (model's classes, y, the labels sampled) for labels equal to classes.
EQUAL_TO_CLASSES = [
    ("int", 3, [3, 3]),
    ("int", 3.0, [3, 3]),  # equal to the class 3
    ("int", [3, np.int8(4)], [3, 4]),
    ("int", np.array([[3], [4]]), [3, 4]),
    ("float", [3, 4.0], [3.0, 4.0]),
    ("str", "3", ["3", "3"]),
    ("str", ["3", np.str_("4")], ["3", "4"]),
]
# (model's classes, y, the labels the error names) for the others.
NOT_EQUAL_TO_CLASSES = [
    ("int", "3", "'3'"),  # a string is no integer class
    ("int", ["3", "3"], "'3'"),
    ("int", ["3", "4"], "'3', '4'"),
    ("int", [3, "4"], "'4'"),
    ("int", 3.5, "3.5"),
    ("int", [3, None], "None"),
    ("float", 3.0000000000000004, "3.0000000000000004"),
    ("str", 3, "3"),  # nor an integer a string class
    ("str", ["3", 4], "4"),
]


def test_sample_matches_labels_to_classes_by_equality_alone(tiny_models):
    """A label is a class when it equals one, as the classes compare.

    No conversion between strings and numbers: whether ``"3"`` is taken for
    the class 3 must not depend on the other labels given with it.
    """
    for kind, y, expected in EQUAL_TO_CLASSES:
        model = tiny_models[kind]
        _, labels = model.sample(2, y=y, n_gibbs_steps=2, random_state=0)
        assert labels.tolist() == expected, (kind, y)
        assert labels.dtype == model.classes_.dtype
    for kind, y, absent in NOT_EQUAL_TO_CLASSES:
        model = tiny_models[kind]
        with pytest.raises(ValueError, match="absent from classes_") as excinfo:
            model.sample(2, y=y, n_gibbs_steps=2)
        message = str(excinfo.value)
        assert f"labels {absent} absent" in message, (kind, y)
        assert repr(model.classes_.tolist()) in message


def test_sample_labels_and_arguments(fitted):
    images, labels = fitted.sample(4, y=3, n_gibbs_steps=5, random_state=0)
    assert labels.tolist() == [3, 3, 3, 3]
    again, _ = fitted.sample(4, y=3, n_gibbs_steps=5, random_state=0)
    np.testing.assert_array_equal(images, again)
    _, free = fitted.sample(50, n_gibbs_steps=5, random_state=0)
    assert set(free) <= set(fitted.classes_) and len(set(free)) > 1
    with pytest.raises(ValueError, match="absent from classes_"):
        fitted.sample(2, y=11)
    with pytest.raises(ValueError, match="one label per sample"):
        fitted.sample(3, y=[1, 2])
    with pytest.raises(ValueError, match="n_gibbs_steps"):
        fitted.sample(3, n_gibbs_steps=0)


def test_string_labels_and_a_single_layer(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    m = GenerativeDBNClassifier((128,), up_down_epochs=5, random_state=0)
    m.fit(X_train, names[y_train])
    # One layer: a classification RBM over [labels, pixels].
    assert m.recognition_coefs_ == [] and m.top_rbm_.n_features_in_ == 64 + 10
    assert m.score(X_test, names[y_test]) > 0.8
    images, labels = m.sample(2, y="seven", n_gibbs_steps=10, random_state=0)
    assert images.shape == (2, 64) and labels.tolist() == ["seven", "seven"]
    assert images.min() >= 0 and images.max() <= 1


def test_gaussian_visible_units_on_standardised_data(digits):
    X_train, X_test, y_train, y_test = digits
    scaler = StandardScaler().fit(X_train)
    m = GenerativeDBNClassifier(
        (128, 256), visible_unit="gaussian", up_down_epochs=5, random_state=0
    )
    m.fit(scaler.transform(X_train), y_train)
    assert m.score(scaler.transform(X_test), y_test) > 0.8
    images, _ = m.sample(3, y=0, n_gibbs_steps=10, random_state=0)
    assert np.all(np.isfinite(images))


def test_pickle_keeps_predictions_and_samples(fitted, digits):
    _, X_test, _, _ = digits
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        clone.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    a, _ = clone.sample(3, y=1, n_gibbs_steps=5, random_state=0)
    b, _ = fitted.sample(3, y=1, n_gibbs_steps=5, random_state=0)
    np.testing.assert_array_equal(a, b)


def test_ctrl_c_in_up_down_keeps_a_consistent_model(monkeypatch, digits):
    X_train, X_test, y_train, _ = digits
    n_batches = int(np.ceil(len(X_train) / 26))  # batch_size="auto" gives 26
    original = skdbn._generative.up_down_step
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * n_batches + 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(skdbn._generative, "up_down_step", interrupted)
    m = GenerativeDBNClassifier((32, 64), up_down_epochs=10, random_state=0)
    with pytest.warns(UserWarning, match="interrupted.*after 2 complete epochs"):
        m.fit(X_train, y_train)
    assert m.n_iter_ == 2 and len(m.up_down_curve_) == 2
    assert np.all(np.isfinite(m.predict_proba(X_test)))


def test_impossible_input_is_refused(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="only one class"):
        GenerativeDBNClassifier().fit(X_train[:20], np.zeros(20))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GenerativeDBNClassifier().fit(X_train[:20], y_train[:19])
    X_nan = X_train[:20].copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GenerativeDBNClassifier().fit(X_nan, y_train[:20])
