"""Failures of the RBM and of greedy pretraining that must not pass silently.

Each test checks against a reference computed here (a formula in float64, a
count of saturated units, a fitted-state snapshot), not against the package.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skdbn import RBM, DBNClassifier, DBNTransformer
from skdbn._validation import TrainingDivergedError

FLOAT32_MAX = float(np.finfo(np.float32).max)


@pytest.fixture(scope="module")
def small_digits():
    X, _ = load_digits(return_X_y=True)
    return X[:300] / 16


def _softplus(x):
    return np.logaddexp(0.0, x)


def _reference_free_energy(rbm, V):
    """Free energy in float64 for Bernoulli or Gaussian visible, Bernoulli hidden."""
    W, b_h, b_v = (np.asarray(p, dtype=np.float64) for p in rbm._params())
    V = np.asarray(V, dtype=np.float64)
    hidden = -_softplus(V @ W.T + b_h).sum(axis=1)
    if rbm.visible_unit == "bernoulli":
        return hidden - V @ b_v
    return hidden + 0.5 * ((V - b_v) ** 2).sum(axis=1)


def _reference_pseudo_log_likelihood(rbm, V):
    """sum_i log P(v_i | v_-i) from the float64 free energy of each flipped row."""
    V = np.asarray(V, dtype=np.float64)
    F = _reference_free_energy(rbm, V)
    total = np.zeros(V.shape[0])
    for i in range(V.shape[1]):
        flipped = V.copy()
        flipped[:, i] = 1 - flipped[:, i]
        total -= _softplus(-(_reference_free_energy(rbm, flipped) - F))
    return total


def _fitted_state(estimator):
    params = estimator.get_params(deep=False)
    return {k: v for k, v in estimator.__dict__.items() if k not in params}


def _assert_same_state(before, after, key="state"):
    """Equal fitted state, walked into lists, dicts (layers) and objects."""
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and np.array_equal(before, after), key
    elif isinstance(before, np.random.Generator):
        pass  # generators compare by identity; their draws are checked
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), key
        for name, value in before.items():
            _assert_same_state(value, after[name], f"{key}[{name!r}]")
    elif isinstance(before, (list, tuple)):
        assert type(before) is type(after) and len(before) == len(after), key
        for i, (value, other) in enumerate(zip(before, after)):
            _assert_same_state(value, other, f"{key}[{i}]")
    elif isinstance(before, (int, float, str, type(None))):
        assert before == after, key
    else:
        _assert_same_state(vars(before), vars(after), f"{key}.")


# -- 1. densities of finite input -------------------------------------------------


def test_free_energy_of_huge_bernoulli_rows_is_exact_or_refused(small_digits):
    row = np.full((1, 64), 3e38)
    for dtype in ("float32", "float64"):
        rbm = RBM(16, n_iter=3, dtype=dtype, random_state=0).fit(small_digits)
        reference = _reference_free_energy(rbm, row)
        assert np.all(np.isfinite(reference))
        if dtype == "float32":
            # |F| is about 1e40 here: a float32 model cannot return it.
            assert np.abs(reference).max() > FLOAT32_MAX
            with pytest.raises(ValueError, match="too large for a float32 model"):
                rbm.free_energy(row)
            with pytest.raises(ValueError, match="too large for a float32 model"):
                rbm.score_samples(row)
        else:
            np.testing.assert_allclose(rbm.free_energy(row), reference, rtol=1e-9)
            np.testing.assert_allclose(
                rbm.score_samples(row),
                _reference_pseudo_log_likelihood(rbm, row),
                rtol=1e-6,
            )


def test_free_energy_representable_despite_float32_overflow(small_digits):
    # One value of 2e19 squares to 4e38, past float32's range, but half of
    # it (the Gaussian visible energy) is 2e38, inside it.
    X = (small_digits - small_digits.mean(0)) / (small_digits.std(0) + 1e-3)
    rbm = RBM(16, visible_unit="gaussian", n_iter=2, random_state=0).fit(X)
    row = np.zeros((1, 64))
    row[0, 10] = 2e19
    reference = _reference_free_energy(rbm, row)
    assert np.abs(reference).max() < FLOAT32_MAX
    energy = rbm.free_energy(row)
    assert energy.dtype == np.float32
    np.testing.assert_allclose(energy, reference, rtol=1e-5)
    np.testing.assert_allclose(rbm.score_samples(row), -reference, rtol=1e-5)
    # 1e20 everywhere gives 3.2e41: refused, not returned as inf.
    with pytest.raises(ValueError, match="too large for a float32 model"):
        rbm.free_energy(np.full((1, 64), 1e20))
    with pytest.raises(ValueError, match="too large for a float32 model"):
        rbm.score_samples(np.full((1, 64), 1e20))


def test_transformer_score_of_huge_rows_is_the_float64_error(small_digits):
    dbn = DBNTransformer((16,), pretrain_epochs=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dbn.fit(small_digits)
    rows = np.full((2, 64), 3e38)
    reconstruction = dbn.inverse_transform(dbn.transform(rows)).astype(np.float64)
    reference = -np.mean(np.sum((rows - reconstruction) ** 2, axis=1))
    assert np.isfinite(reference)
    assert np.isclose(dbn.score(rows), reference, rtol=1e-6)


# -- 2. a collapsed or diverged RBM ----------------------------------------------


def test_a_collapsed_standalone_rbm_warns_naming_learning_rate(small_digits):
    with pytest.warns(UserWarning, match="collapsed") as record:
        rbm = RBM(16, n_iter=10, learning_rate=10, random_state=0).fit(small_digits)
    H = rbm.transform(small_digits)
    # The reference: every unit is saturated at the same end for every row.
    stuck = np.all(H < 0.01, axis=0) | np.all(H > 0.99, axis=0)
    assert stuck.all()
    message = str(record[0].message)
    assert "learning_rate" in message and "pretrain_learning_rate" not in message
    # A working step on the same data does not warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        healthy = RBM(16, n_iter=10, learning_rate=1, random_state=0).fit(small_digits)
    H = healthy.transform(small_digits)
    assert not (np.all(H < 0.01, axis=0) | np.all(H > 0.99, axis=0)).any()


@pytest.mark.parametrize(
    "params", [{"n_iter": 2}, {"dtype": "float64"}], ids=["float32", "float64"]
)
def test_exploding_weights_are_divergence_naming_learning_rate(small_digits, params):
    # Measured before the check: weights of 1e16 (float32, 2 epochs) and
    # 1e71 (float64), every number still finite.
    rbm = RBM(learning_rate=1e6, random_state=0, **params)
    with pytest.raises(TrainingDivergedError, match="Lower learning_rate"):
        rbm.fit(small_digits)
    assert not hasattr(rbm, "components_")


def test_pretraining_divergence_names_pretrain_learning_rate(small_digits):
    dbn = DBNTransformer(
        (256,), pretrain_learning_rate=1e6, pretrain_epochs=2, random_state=0
    )
    with pytest.raises(TrainingDivergedError, match="pretrain_learning_rate") as info:
        dbn.fit(small_digits)
    assert "Lower learning_rate" not in str(info.value)


def test_pretraining_batch_divergence_names_pretrain_learning_rate(small_digits):
    # Here the error explodes within an epoch (the per-batch check).
    dbn = DBNTransformer((16,), pretrain_learning_rate=1e6, random_state=0)
    with pytest.raises(TrainingDivergedError, match="pretrain_learning_rate") as info:
        dbn.fit(small_digits)
    assert "Lower learning_rate" not in str(info.value)


# -- 3. a layer that learned little ------------------------------------------------


def _mean_field_ratio(rbm, V):
    """Mean-field reconstruction error over the column-mean predictor's, float64."""
    W, b_h, b_v = (np.asarray(p, dtype=np.float64) for p in rbm._params())
    H = 1 / (1 + np.exp(-(V @ W.T + b_h)))
    R = 1 / (1 + np.exp(-(H @ W + b_v)))
    return ((V - R) ** 2).sum(1).mean() / ((V - V.mean(0)) ** 2).sum(1).mean()


def test_a_short_pretraining_budget_that_learned_little_warns(digits):
    X_train, X_test, y_train, y_test = digits
    dbn = DBNTransformer((32, 16), pretrain_epochs=3, random_state=0)
    with pytest.warns(UserWarning, match="learned little") as record:
        dbn.fit(X_train)
    messages = [str(w.message) for w in record if "learned little" in str(w.message)]
    assert all("pretrain_epochs" in m for m in messages)
    # The reference: layer 1 reconstructs its input little better than the
    # column means do.
    ratio = _mean_field_ratio(dbn.rbms_[0], X_train[:1000])
    assert ratio > 0.5
    assert messages[0].startswith("Pretraining layer 1 ")
    assert f"{ratio:.0%}" in messages[0]
    # The network, which this budget leaves at about 0.8 accuracy
    # against 0.97 with "auto".
    clf = DBNClassifier((32, 16), pretrain_epochs=3, max_iter=20, random_state=0)
    with pytest.warns(UserWarning, match="learned little.*pretrain_epochs"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
    # Default budgets ("auto") do not warn, whatever their units or method.
    for params in (
        {"hidden_layer_sizes": (32, 16)},
        {"hidden_layer_sizes": (256,)},
        {"hidden_layer_sizes": (32, 16), "hidden_unit": "relu"},
        {"hidden_layer_sizes": (32, 16), "pretraining": "autoencoder"},
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            dbn = DBNTransformer(random_state=0, **params).fit(X_train)
        if dbn.rbms_[0].hidden_unit == "bernoulli":
            assert _mean_field_ratio(dbn.rbms_[0], X_train[:1000]) < 0.5


# -- 4. a call that raises leaves the model as it was -------------------------------


def test_transformer_fit_transform_that_raises_changes_nothing(small_digits):
    X = small_digits[:, :4]
    dbn = DBNTransformer(
        (3,),
        visible_unit="gaussian",
        hidden_unit="relu",
        pretrain_epochs=0,
        random_state=0,
    ).fit(X)
    before = _fitted_state(dbn)
    rows = np.tile([3e38, -3e38], (4, 2))
    with pytest.raises(ValueError, match="too large"):
        dbn.fit_transform(rows)
    _assert_same_state(before, _fitted_state(dbn))
    np.testing.assert_array_equal(dbn.transform(X), DBNTransformer.transform(dbn, X))
    assert dbn.rbms_[0].intercept_visible_[0] == pytest.approx(X[:, 0].mean())


def test_rbm_fit_transform_that_raises_changes_nothing():
    # With n_iter=0 the weights are the seeded start; rows of +-3e38 along
    # the signs of a unit's weights overflow its rectified pre-activation.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 500))
    rbm = RBM(
        2, visible_unit="gaussian", hidden_unit="relu", n_iter=0, random_state=0
    ).fit(X)
    before = _fitted_state(rbm)
    rows = 3e38 * np.sign(np.tile(rbm.components_[0], (3, 1))).astype(np.float64)
    assert np.abs(rbm.components_[0]).astype(np.float64).sum() * 3e38 > FLOAT32_MAX
    with pytest.raises(ValueError, match="too large"):
        rbm.fit_transform(rows)
    _assert_same_state(before, _fitted_state(rbm))
    np.testing.assert_allclose(rbm.intercept_visible_, X.mean(0), atol=1e-6)


# -- 5. sampling does not touch training ---------------------------------------------


def test_gibbs_between_partial_fits_does_not_change_training(small_digits):
    A, B = small_digits[:150], small_digits[150:]
    models = []
    for call_gibbs in (False, True):
        rbm = RBM(16, random_state=0).fit(small_digits)
        rbm.partial_fit(A)
        if call_gibbs:
            rbm.gibbs(A[:10])
            rbm.sample(2, n_gibbs_steps=3)
            rbm.score_samples(A[:5])
        rbm.partial_fit(B)
        models.append(rbm)
    np.testing.assert_array_equal(models[0].components_, models[1].components_)
    np.testing.assert_array_equal(
        models[0].intercept_hidden_, models[1].intercept_hidden_
    )
    # Sampling stays random from call to call, and reproducible by seed.
    a = RBM(16, n_iter=2, random_state=0).fit(small_digits)
    b = RBM(16, n_iter=2, random_state=0).fit(small_digits)
    first = a.gibbs(small_digits[:20])
    np.testing.assert_array_equal(first, b.gibbs(small_digits[:20]))
    assert not np.array_equal(first, a.gibbs(small_digits[:20]))


def test_transformer_sampling_between_partial_fits_does_not_change_training(
    small_digits,
):
    A, B = small_digits[:150], small_digits[150:]
    coefs = []
    for sample in (False, True):
        dbn = DBNTransformer((16, 8), random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dbn.partial_fit(A)
            if sample:
                dbn.sample(2, n_gibbs_steps=3)
                dbn.rbms_[0].gibbs(A[:5])
            dbn.partial_fit(B)
        coefs.append(dbn.coefs_)
    for W0, W1 in zip(*coefs):
        np.testing.assert_array_equal(W0, W1)


# -- 7. options that cannot take effect ----------------------------------------------


def test_rbm_refuses_options_that_cannot_take_effect(small_digits):
    # Without the penalty a sparsity target changes nothing.
    rbm = RBM(8, n_iter=1, sparsity_target=0.05, random_state=0)
    for method in (rbm.fit, rbm.partial_fit):
        with pytest.raises(ValueError, match="sparsity_target=0.05.*sparsity_cost"):
            method(small_digits)
    assert not hasattr(rbm, "components_")
    # The penalty needs binary hidden units, even when no epoch would run.
    rbm = RBM(8, hidden_unit="relu", n_iter=0, sparsity_cost=0.1)
    with pytest.raises(ValueError, match="sparsity_cost needs Bernoulli"):
        rbm.fit(small_digits)
    # With the penalty on, the target is taken.
    RBM(8, n_iter=1, sparsity_target=0.05, sparsity_cost=0.1).fit(small_digits)
