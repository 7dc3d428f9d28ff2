"""Behaviour of the RBM estimator."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.ndimage import shift
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skdbn import RBM, TrainingDivergedError


def _reconstruction_error(rbm, X):
    return np.mean(np.sum((X - rbm.inverse_transform(rbm.transform(X))) ** 2, 1))


def test_rbm_learns_to_reconstruct(digits):
    X_train, X_test, _, _ = digits
    untrained = RBM(64, n_iter=0, random_state=0).fit(X_train)
    trained = RBM(64, n_iter=20, random_state=0).fit(X_train)
    before = _reconstruction_error(untrained, X_test)
    after = _reconstruction_error(trained, X_test)
    assert after < 0.5 * before
    curve = trained.reconstruction_error_curve_
    assert len(curve) == trained.n_iter_ == 20
    assert curve[-1] < 0.6 * curve[0]


def _nudged_digits():
    """Digits plus copies shifted one pixel each way (scikit-learn's RBM example)."""
    X, y = load_digits(return_X_y=True)
    images = X.reshape(-1, 8, 8) / 16
    moved = [images] + [
        shift(images, (0, dy, dx), order=0)
        for dy, dx in [(-1, 0), (1, 0), (0, -1), (0, 1)]
    ]
    return np.concatenate(moved).reshape(-1, 64), np.tile(y, 5)


def test_rbm_features_beat_raw_pixels_for_a_linear_model():
    X, y = _nudged_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=3000, test_size=1500, random_state=0
    )
    raw = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    rbm = RBM(64, n_iter=10, random_state=0).fit(X_train)
    on_features = LogisticRegression(max_iter=2000).fit(rbm.transform(X_train), y_train)
    raw_score = raw.score(X_test, y_test)
    feature_score = on_features.score(rbm.transform(X_test), y_test)
    # Measured over three splits: raw 0.76-0.77, 64 RBM features 0.82-0.84.
    assert feature_score > raw_score + 0.03


def test_same_random_state_gives_identical_models(digits):
    X = digits[0]
    a = RBM(16, n_iter=3, random_state=42).fit(X)
    b = RBM(16, n_iter=3, random_state=42).fit(X)
    c = RBM(16, n_iter=3, random_state=43).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.intercept_visible_, b.intercept_visible_)
    assert not np.array_equal(a.components_, c.components_)


def test_float32_and_float64_agree(digits):
    X_train, X_test, _, _ = digits
    # Same initial weights in both precisions, up to rounding.
    start32 = RBM(16, n_iter=0, random_state=0).fit(X_train)
    start64 = RBM(16, n_iter=0, random_state=0, dtype="float64").fit(X_train)
    np.testing.assert_allclose(start32.components_, start64.components_, rtol=1e-6)
    np.testing.assert_allclose(
        start32.transform(X_test), start64.transform(X_test), atol=1e-6
    )
    # Training draws its random numbers in the working precision, so the
    # two runs follow different chains; they must learn equally well.
    rbm32 = RBM(32, n_iter=10, random_state=0).fit(X_train)
    rbm64 = RBM(32, n_iter=10, random_state=0, dtype="float64").fit(X_train)
    assert rbm32.components_.dtype == np.float32
    assert rbm64.components_.dtype == np.float64
    assert rbm32.transform(X_test).dtype == np.float32
    assert rbm64.transform(X_test.astype(np.float32)).dtype == np.float64
    error32 = _reconstruction_error(rbm32, X_test)
    error64 = _reconstruction_error(rbm64, X_test)
    assert error32 == pytest.approx(error64, rel=0.1)


def test_partial_fit_keeps_float32_and_makes_minibatch_updates(digits):
    X = digits[0].astype(np.float32)
    rbm = RBM(16, batch_size=10, random_state=0)
    rbm.partial_fit(X)
    assert rbm.components_.dtype == np.float32
    assert rbm.n_iter_ == 1
    # One partial_fit call over the data is one epoch of fit.
    reference = RBM(16, batch_size=10, n_iter=1, random_state=0).fit(X)
    np.testing.assert_array_equal(rbm.components_, reference.components_)
    first_error = rbm.reconstruction_error_curve_[0]
    for _ in range(5):
        rbm.partial_fit(X)
    assert rbm.reconstruction_error_curve_[-1] < first_error


@pytest.mark.parametrize(
    "params",
    [
        dict(n_gibbs_steps=3),
        dict(hidden_unit="relu", learning_rate=0.01),
        dict(hidden_unit="gaussian", learning_rate=0.001),
    ],
)
def test_variants_learn(digits, params):
    X = digits[0]
    # From 0.01-scale weights the first epochs barely move the error (CD-3
    # after 8 epochs: 4.70 -> 4.68); 20 epochs leave no doubt (4.7 -> 4.3).
    rbm = RBM(32, n_iter=20, random_state=0, **params).fit(X)
    curve = rbm.reconstruction_error_curve_
    assert np.all(np.isfinite(rbm.components_))
    assert curve[-1] < curve[0]


def test_persistent_cd_improves_pseudo_likelihood(digits):
    X_train, X_test, _, _ = digits
    untrained = RBM(32, n_iter=0, random_state=0).fit(X_train)
    # PCD needs many small updates: batches of 10 give 1350 in 10 epochs.
    pcd = RBM(32, n_iter=10, persistent=True, batch_size=10, momentum=0.5)
    pcd.set_params(random_state=0).fit(X_train)
    gain = pcd.score_samples(X_test).mean() - untrained.score_samples(X_test).mean()
    # Measured: -25.1 untrained, -19.5 after PCD (scikit-learn's BernoulliRBM
    # with the same layer, batch and epochs: -20.6).
    assert gain > 4
    assert pcd.reconstruction_error_curve_[-1] < pcd.reconstruction_error_curve_[0]


def test_gaussian_visible_units_on_standardised_data(digits):
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(digits[0])
    rbm = RBM(32, visible_unit="gaussian", learning_rate=0.01, n_iter=10)
    rbm.set_params(random_state=0).fit(X)
    assert (
        rbm.reconstruction_error_curve_[-1] < 0.8 * rbm.reconstruction_error_curve_[0]
    )
    assert np.isfinite(rbm.score_samples(X)).all()


def test_sparse_input_matches_dense(digits):
    X = digits[0]
    dense = RBM(16, n_iter=2, random_state=0).fit(X)
    sparse = RBM(16, n_iter=2, random_state=0).fit(sp.csr_matrix(X))
    # Mini-batches are densified before the update, so training is identical.
    np.testing.assert_array_equal(sparse.components_, dense.components_)
    np.testing.assert_allclose(
        dense.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-6
    )


def test_score_samples_prefers_digits_over_noise(digits):
    X = digits[0]
    rbm = RBM(32, n_iter=10, random_state=0).fit(X)
    noise = (np.random.default_rng(0).random(X.shape) < X.mean()).astype(float)
    assert rbm.score_samples(X).mean() > rbm.score_samples(noise).mean() + 5
    assert rbm.free_energy(X).mean() < rbm.free_energy(noise).mean()


def test_gibbs_and_sample(digits):
    X = digits[0]
    rbm = RBM(32, n_iter=5, random_state=0).fit(X)
    v = rbm.gibbs(X[:10])
    assert v.shape == (10, 64)
    assert set(np.unique(v)) <= {0.0, 1.0}
    samples = rbm.sample(7, n_gibbs_steps=50, random_state=0)
    assert samples.shape == (7, 64) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    again = rbm.sample(7, n_gibbs_steps=50, random_state=0)
    np.testing.assert_array_equal(samples, again)


def test_out_of_range_data_warns_at_fit_and_is_computed_at_transform():
    X = np.array([[0.0, 2.0], [1.0, 0.5]])
    with pytest.warns(
        UserWarning, match=r"\[0, 1\].*MinMaxScaler\(clip=True\).*gaussian"
    ):
        rbm = RBM(2, n_iter=2, random_state=0).fit(X)
    assert rbm.n_iter_ == 2
    fitted = RBM(2, n_iter=1, random_state=0).fit(X / 2)
    H = fitted.transform(-X)  # computed: an affine map and a logistic
    W, b = fitted.components_, fitted.intercept_hidden_
    np.testing.assert_allclose(H, 1 / (1 + np.exp(-(-X @ W.T + b))), rtol=1e-5)


def test_raw_pixels_are_refused_with_the_fix():
    X = np.random.default_rng(0).integers(0, 256, size=(20, 4)).astype(float)
    with pytest.raises(ValueError, match=r"pixel.*X / 255"):
        RBM(2).fit(X)
    with pytest.raises(ValueError, match="this far from"):
        RBM(2).fit(X * 10.5)


def test_divergence_raises_with_a_hint():
    X = np.random.default_rng(0).normal(scale=50, size=(200, 10))
    rbm = RBM(8, visible_unit="gaussian", learning_rate=10.0, n_iter=20)
    with pytest.raises(TrainingDivergedError, match="Lower learning_rate"):
        rbm.fit(X)


def test_inverse_transform_checks_width(digits):
    rbm = RBM(8, n_iter=1, random_state=0).fit(digits[0])
    with pytest.raises(ValueError, match="expects 8 hidden activations"):
        rbm.inverse_transform(np.zeros((2, 5)))


def test_column_major_input_trains_as_fast_and_the_same():
    # Training gathers rows into batches; from a column-major array every
    # row is a strided gather. fit copies such input to row-major once.
    import time

    rng = np.random.default_rng(0)
    X = (rng.random((40000, 300)) < 0.3).astype(np.float32)  # 48 MB
    X_f = np.asfortranarray(X)
    times = {}
    models = {}
    for name, data in (("C", X), ("F", X_f)):
        start = time.perf_counter()
        models[name] = RBM(8, n_iter=1, random_state=0).fit(data)
        times[name] = time.perf_counter() - start
    np.testing.assert_array_equal(models["C"].components_, models["F"].components_)
    assert times["F"] < 3 * times["C"] + 0.5
