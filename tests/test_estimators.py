"""Behaviour of DBNTransformer, DBNClassifier and DBNRegressor."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from skdbn import DBNClassifier, DBNRegressor, DBNTransformer, TrainingDivergedError

# Small, quick settings; the fitted models are still good enough to compare.
QUICK = dict(batch_size=50, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _reconstruction_error(model, X):
    return np.mean(np.sum((X - model.inverse_transform(model.transform(X))) ** 2, 1))


# -- DBNTransformer -----------------------------------------------------------


def test_transformer_stacks_rbms_greedily(digits):
    X_train, X_test, _, _ = digits
    dbn = DBNTransformer((48, 16), pretrain_epochs=(5, 3), **QUICK).fit(X_train)
    first, second = dbn.rbms_
    assert (first.n_features_in_, first.n_components) == (64, 48)
    assert (second.n_features_in_, second.n_components) == (48, 16)
    assert [len(c) for c in dbn.pretraining_curves_] == [5, 3]
    # The up pass is each layer's transform in turn; the down pass the reverse.
    codes = dbn.transform(X_test)
    np.testing.assert_allclose(
        codes, second.transform(first.transform(X_test)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        dbn.inverse_transform(codes),
        first.inverse_transform(second.inverse_transform(codes)),
        rtol=1e-5,
        atol=1e-6,
    )
    assert codes.shape == (len(X_test), 16) and codes.dtype == np.float32


def test_rbms_are_copies_whose_training_leaves_the_transformer_as_it_is(digits):
    X_train, X_test, _, _ = digits
    dbn = DBNTransformer((16, 8), pretrain_epochs=2, **QUICK).fit(X_train)
    codes = dbn.transform(X_test)
    sampled = dbn.sample(2, n_gibbs_steps=3, random_state=0)
    first = dbn.rbms_[0]
    # Each access gives copies of the weights the transformer holds.
    assert first.components_ is not dbn.rbms_[0].components_
    np.testing.assert_array_equal(first.components_, dbn.rbms_[0].components_)
    first.partial_fit(X_train)
    first.components_[...] = 0
    dbn.rbms_[1].fit(np.random.default_rng(0).random((50, 16)))
    np.testing.assert_array_equal(dbn.transform(X_test), codes)
    np.testing.assert_array_equal(
        dbn.sample(2, n_gibbs_steps=3, random_state=0), sampled
    )
    assert dbn.rbms_[0].n_iter_ == 2


def test_transformer_round_trip_beats_untrained(digits):
    X_train, X_test, _, _ = digits
    untrained = DBNTransformer((64, 32), pretrain_epochs=0, **QUICK).fit(X_train)
    trained = DBNTransformer((64, 32), pretrain_epochs=15, **QUICK).fit(X_train)
    assert _reconstruction_error(trained, X_test) < 0.5 * _reconstruction_error(
        untrained, X_test
    )
    assert trained.score(X_test) == pytest.approx(
        -_reconstruction_error(trained, X_test), rel=1e-5
    )


def test_transformer_feature_names(digits):
    dbn = DBNTransformer((8, 3), pretrain_epochs=1, **QUICK).fit(digits[0])
    names = dbn.get_feature_names_out()
    assert list(names) == ["dbntransformer0", "dbntransformer1", "dbntransformer2"]


def test_transformer_partial_fit_streams_the_whole_stack(digits):
    X = digits[0]
    dbn = DBNTransformer((32, 16), **QUICK)
    for _ in range(6):
        for chunk in np.array_split(X, 4):
            dbn.partial_fit(chunk)
    assert [rbm.n_iter_ for rbm in dbn.rbms_] == [24, 24]
    # The upper layer's data changes as the lower one learns, so only the
    # bottom layer's error has to fall.
    bottom = dbn.pretraining_curves_[0]
    assert bottom[-1] < 0.7 * bottom[0]
    with pytest.raises(ValueError, match="features"):
        dbn.partial_fit(X[:, :10])


def test_transformer_per_layer_settings_are_checked(digits):
    with pytest.raises(ValueError, match="one value for all layers or one per"):
        DBNTransformer((8, 4), pretrain_epochs=(1, 2, 3)).fit(digits[0])
    with pytest.raises(ValueError, match="positive ints"):
        DBNTransformer((8, 0)).fit(digits[0])


# -- DBNClassifier ------------------------------------------------------------


def test_fine_tuning_beats_the_frozen_head(digits):
    X_train, X_test, y_train, y_test = digits
    # A narrow layer with little pretraining leaves the frozen features far
    # from linearly separable, so there is something for fine-tuning to add
    # beyond the best linear read-out (the head is fitted to convergence).
    params = dict(hidden_layer_sizes=(32,), pretrain_epochs=5, **QUICK)
    frozen = DBNClassifier(fine_tune=False, **params).fit(X_train, y_train)
    tuned = DBNClassifier(max_iter=50, **params).fit(X_train, y_train)
    frozen_score = frozen.score(X_test, y_test)
    tuned_score = tuned.score(X_test, y_test)
    # Measured over four seeds: frozen 0.88-0.91, fine-tuned 0.96-0.97.
    assert tuned_score > frozen_score + 0.03
    assert tuned.loss_curve_[-1] < frozen.head_loss_
    assert frozen.n_iter_ == 0 and frozen.loss_curve_ == []
    assert tuned.n_head_iter_ > 0
    assert len(tuned.loss_curve_) == tuned.n_iter_ == 50
    # The same pretraining and head: the two models differ only by stage 3.
    np.testing.assert_array_equal(frozen.pretraining_curves_, tuned.pretraining_curves_)


def test_learning_rate_schedules_reach_the_optimiser(digits):
    from skdbn._training import cosine_learning_rate

    X_train, X_test, y_train, y_test = digits
    params = dict(hidden_layer_sizes=(64,), max_iter=20, n_iter_no_change=50, **QUICK)
    constant = DBNClassifier(**params).fit(X_train, y_train)
    cosine = DBNClassifier(learning_rate="cosine", **params).fit(X_train, y_train)
    # Same pretraining, head and first epoch (full step); then the paths part.
    assert cosine.loss_curve_[0] == constant.loss_curve_[0]
    assert cosine.loss_curve_[-1] != constant.loss_curve_[-1]
    assert cosine._fine_tuning_state["optimizer"]["learning_rate"] == pytest.approx(
        cosine_learning_rate(1e-3, 19, 20)
    )
    assert cosine.score(X_test, y_test) > 0.9
    # "adaptive" in the autoencoder: divides the step rather than stopping.
    stalled = dict(tol=1e9, n_iter_no_change=1, max_iter=6)  # nothing improves
    auto = DBNTransformer(
        (32,), fine_tune=True, learning_rate="adaptive", **stalled, **QUICK
    )
    assert auto.fit(X_train).n_iter_ == 6
    # The first epoch improves on nothing; two more stalled ones stop it.
    assert auto.set_params(learning_rate="constant").fit(X_train).n_iter_ == 3


def test_classifier_string_labels_and_probabilities(digits):
    X_train, X_test, y_train, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = DBNClassifier((32,), max_iter=10, **QUICK).fit(X_train, names[y_train])
    assert list(clf.classes_) == sorted(names)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-5)
    assert set(clf.predict(X_test)) <= set(names)
    assert np.all(clf.predict(X_test) == clf.classes_[proba.argmax(axis=1)])


def test_binary_classification(digits):
    X_train, X_test, y_train, y_test = digits
    clf = DBNClassifier((32,), max_iter=20, **QUICK)
    clf.fit(X_train, y_train == 3)
    assert list(clf.classes_) == [False, True]
    assert clf.predict_proba(X_test).shape == (len(X_test), 2)
    assert clf.score(X_test, y_test == 3) > 0.95


def test_warm_start_continues_fine_tuning(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier((32,), max_iter=5, warm_start=True, **QUICK)
    clf.fit(X_train, y_train)
    curves = [list(c) for c in clf.pretraining_curves_]
    n_first = clf.n_iter_
    clf.fit(X_train, y_train)
    assert clf.n_iter_ == n_first + 5
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.pretraining_curves_ == curves  # no second pretraining
    assert clf.loss_curve_[-1] < clf.loss_curve_[n_first - 1]


def test_classifier_partial_fit(digits):
    X_train, X_test, y_train, y_test = digits
    clf = DBNClassifier((64,), **QUICK)
    classes = np.arange(10)
    for _ in range(15):
        for X_chunk, y_chunk in zip(
            np.array_split(X_train, 3), np.array_split(y_train, 3)
        ):
            clf.partial_fit(X_chunk, y_chunk, classes=classes)
    assert clf.n_iter_ == 45
    # The first pass over the three chunks against the last.
    assert np.mean(clf.loss_curve_[-3:]) < np.mean(clf.loss_curve_[:3])
    assert clf.score(X_test, y_test) > 0.85
    with pytest.raises(ValueError, match="absent from classes_"):
        clf.partial_fit(X_train[:5], np.full(5, 11))


def test_same_random_state_gives_identical_classifiers(digits):
    X_train, X_test, y_train, _ = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=3, dropout=0.2, **QUICK)
    a = DBNClassifier(**params).fit(X_train, y_train)
    b = DBNClassifier(**params).fit(X_train, y_train)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))


def test_float32_and_float64_classifiers_agree(digits):
    X_train, X_test, y_train, y_test = digits
    params = dict(hidden_layer_sizes=(64,), max_iter=20, **QUICK)
    clf32 = DBNClassifier(**params).fit(X_train, y_train)
    clf64 = DBNClassifier(dtype="float64", **params).fit(X_train, y_train)
    assert clf32.coefs_[0].dtype == np.float32
    assert clf64.coefs_[0].dtype == np.float64
    assert clf32.predict_proba(X_test).dtype == np.float32
    assert abs(clf32.score(X_test, y_test) - clf64.score(X_test, y_test)) < 0.02
    agree = np.mean(clf32.predict(X_test) == clf64.predict(X_test))
    assert agree > 0.95


def test_predictions_do_not_depend_on_batching(digits):
    X_train, X_test, y_train, _ = digits
    clf = DBNClassifier((32,), max_iter=3, **QUICK).fit(X_train, y_train)
    whole = clf.predict_proba(X_test)
    in_parts = np.vstack(
        [clf.predict_proba(part) for part in np.array_split(X_test, 7)]
    )
    np.testing.assert_allclose(whole, in_parts, rtol=1e-5, atol=1e-6)


def test_sparse_input(digits):
    X_train, X_test, y_train, y_test = digits
    params = dict(hidden_layer_sizes=(64,), max_iter=10, **QUICK)
    dense = DBNClassifier(**params).fit(X_train, y_train)
    sparse = DBNClassifier(**params).fit(sp.csr_matrix(X_train), y_train)
    assert sparse.score(sp.csr_matrix(X_test), y_test) > 0.88
    agree = np.mean(sparse.predict(X_test) == dense.predict(X_test))
    assert agree > 0.95
    dbn = DBNTransformer((16,), **QUICK).fit(sp.csr_matrix(X_train))
    np.testing.assert_allclose(
        dbn.transform(sp.csr_matrix(X_test)), dbn.transform(X_test), atol=1e-5
    )


def test_gaussian_visible_units_end_to_end(digits):
    X_train, X_test, y_train, y_test = digits
    scaler = StandardScaler().fit(X_train)
    Z_train, Z_test = scaler.transform(X_train), scaler.transform(X_test)
    clf = DBNClassifier((128,), visible_unit="gaussian", max_iter=30, **QUICK)
    assert clf.fit(Z_train, y_train).score(Z_test, y_test) > 0.94
    dbn = DBNTransformer((64,), visible_unit="gaussian", pretrain_epochs=10, **QUICK)
    dbn.fit(Z_train)
    assert dbn.rbms_[0].learning_rate_ == 0.01  # "auto" for Gaussian visible units
    untrained = DBNTransformer((64,), visible_unit="gaussian", pretrain_epochs=0)
    untrained.set_params(**QUICK).fit(Z_train)
    assert dbn.score(Z_test) > untrained.score(Z_test)


# -- DBNRegressor -------------------------------------------------------------


def test_regressor_fits_a_nonlinear_function_better_than_a_line():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(800, 2))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2
    X_train, X_test, y_train, y_test = X[:600], X[600:], y[:600], y[600:]
    reg = DBNRegressor(
        (64,), hidden_unit="relu", learning_rate_init=0.01, max_iter=300, **QUICK
    ).fit(X_train, y_train)
    linear = LinearRegression().fit(X_train, y_train)
    # Measured: 0.97 against the line's 0.66.
    assert reg.score(X_test, y_test) > 0.9
    assert reg.score(X_test, y_test) > linear.score(X_test, y_test) + 0.2
    assert reg.predict(X_test).shape == (200,)
    assert reg.predict(X_test).dtype == np.float64


def test_regressor_multi_output_and_target_scale():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(600, 3))
    Y = np.column_stack([1000 * X[:, 0] * X[:, 1], np.cos(3 * X[:, 2]) - 50])
    reg = DBNRegressor(
        (64,), hidden_unit="relu", learning_rate_init=0.01, max_iter=150, **QUICK
    ).fit(X, Y)
    assert reg.predict(X).shape == (600, 2)
    assert reg.score(X, Y) > 0.9


# -- errors --------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_bad_input_gets_clear_errors(Estimator, digits):
    X_train, _, y_train, _ = digits
    bad = X_train.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator((8,), max_iter=1).fit(bad, y_train)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        Estimator((8,), max_iter=1).fit(bad, y_train)
    with pytest.raises(ValueError, match=r"\[0, 1\].*MinMaxScaler"):
        Estimator((8,), max_iter=1).fit(X_train * 16, y_train)
    with pytest.raises(ValueError, match="0 sample"):
        Estimator((8,), max_iter=1).fit(X_train[:0], y_train[:0])
    model = Estimator((8,), max_iter=1, pretrain_epochs=1).fit(X_train, y_train)
    with pytest.raises(ValueError, match="expecting 64 features"):
        model.predict(X_train[:, :10])


def test_single_class_is_rejected(digits):
    X_train = digits[0]
    with pytest.raises(ValueError, match="at least 2 classes"):
        DBNClassifier((8,)).fit(X_train, np.zeros(len(X_train)))


def test_divergence_raises_with_a_hint(digits):
    X_train, _, y_train, _ = digits
    reg = DBNRegressor(
        (32,), hidden_unit="relu", solver="sgd", learning_rate_init=10.0, **QUICK
    )
    with pytest.raises(TrainingDivergedError, match="Lower learning_rate_init"):
        reg.fit(X_train, y_train)


def test_a_huge_sgd_step_raises_and_leaves_no_model(digits):
    X_train, _, y_train, _ = digits
    clf = DBNClassifier(
        (8,), solver="sgd", learning_rate_init=1e6, pretrain_epochs=1, random_state=0
    )
    with pytest.raises(TrainingDivergedError, match="learning_rate_init"):
        clf.fit(X_train, y_train)
    assert not hasattr(clf, "coefs_")


# -- autoencoder and sampling ----------------------------------------------------


def test_autoencoder_fine_tuning_lowers_the_pretrained_error(digits):
    X_train, X_test, _, _ = digits
    params = dict(hidden_layer_sizes=(128, 32), pretrain_epochs=10, **QUICK)
    pretrained = DBNTransformer(**params, hidden_unit=["bernoulli", "gaussian"])
    pretrained.fit(X_train)
    tuned = DBNTransformer(**params, fine_tune=True, max_iter=30)
    tuned.fit(X_train)
    # "auto" units make the code layer linear for an autoencoder.
    assert [rbm.hidden_unit for rbm in tuned.rbms_] == ["bernoulli", "gaussian"]
    assert tuned.rbms_[1].learning_rate_ == 0.001
    # Same pretraining, so the difference is the fine-tuning alone.
    np.testing.assert_array_equal(
        pretrained.rbms_[0].components_, tuned.rbms_[0].components_
    )
    before = -pretrained.score(X_test)
    after = -tuned.score(X_test)
    assert after < 0.7 * before
    assert len(tuned.loss_curve_) == tuned.n_iter_ == 30
    assert tuned.loss_curve_[-1] < tuned.loss_curve_[0]
    codes = tuned.transform(X_test)
    assert codes.shape == (len(X_test), 32)
    assert codes.min() < 0 or codes.max() > 1  # linear codes are unbounded
    assert tuned.inverse_transform(codes).shape == X_test.shape


def test_transformer_sample_shape_range_dtype_and_seed(digits):
    dbn = DBNTransformer((64, 32), pretrain_epochs=5, **QUICK).fit(digits[0])
    samples = dbn.sample(6, n_gibbs_steps=20, random_state=1)
    assert samples.shape == (6, 64) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(
        samples, dbn.sample(6, n_gibbs_steps=20, random_state=1)
    )
    assert not np.array_equal(samples, dbn.sample(6, n_gibbs_steps=20, random_state=2))


def test_gaussian_visible_regressor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3))
    y = np.tanh(X[:, 0]) * 3 + X[:, 1] * X[:, 2]
    reg = DBNRegressor(
        (64,),
        visible_unit="gaussian",
        hidden_unit="relu",
        learning_rate_init=0.01,
        max_iter=200,
        **QUICK,
    ).fit(X[:450], y[:450])
    linear = LinearRegression().fit(X[:450], y[:450])
    # Measured: 0.94 against the line's 0.79.
    assert reg.score(X[450:], y[450:]) > linear.score(X[450:], y[450:]) + 0.1


def test_lbfgs_solver(digits):
    X_train, X_test, y_train, y_test = digits
    dbn = DBNTransformer((64, 16), pretrain_epochs=5, fine_tune=True, solver="lbfgs")
    dbn.set_params(max_iter=30, **QUICK).fit(X_train)
    pretrained = DBNTransformer(
        (64, 16), pretrain_epochs=5, hidden_unit=["bernoulli", "gaussian"], **QUICK
    ).fit(X_train)
    assert dbn.score(X_test) > pretrained.score(X_test)
    assert len(dbn.loss_curve_) == dbn.n_iter_ <= 30
    clf = DBNClassifier((32,), solver="lbfgs", max_iter=30, **QUICK)
    assert clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="mini-batch solver"):
        clf.partial_fit(X_train, y_train)


def test_a_collapsed_layer_is_reported(digits):
    # A wide layer over few inputs with a large CD step switches every
    # hidden unit off (measured: 999 of 1000 at learning rate 0.5).
    with pytest.warns(UserWarning, match="collapsed.*Lower its pretrain_learning"):
        DBNTransformer(
            (32, 1000),
            pretrain_learning_rate=0.5,
            pretrain_epochs=10,
            batch_size=100,
            random_state=0,
        ).fit(digits[0])


def test_no_pretraining_means_the_usual_random_initialisation(digits):
    X_train = digits[0]
    dbn = DBNTransformer((64, 32), pretrain_epochs=(0, 3), **QUICK).fit(X_train)
    first, second = dbn.rbms_
    # Glorot-uniform bound for logistic units, as in scikit-learn's MLP.
    bound = np.sqrt(2 / (64 + 64))
    assert np.abs(first.components_).max() <= bound
    assert np.abs(first.components_).max() > 0.8 * bound
    np.testing.assert_array_equal(dbn.coefs_[0], first.components_.T)
    assert np.abs(second.components_).std() < 0.1  # trained from N(0, 0.01^2)


@pytest.mark.parametrize("kind", ["rbm", "transformer", "classifier"])
def test_prediction_memory_does_not_grow_with_a_copy_of_the_input(kind, digits):
    import tracemalloc

    from skdbn import RBM

    X_train, _, y_train, _ = digits
    if kind == "rbm":
        model = RBM(16, n_iter=1, random_state=0).fit(X_train)
        method = model.transform
    elif kind == "transformer":
        model = DBNTransformer((32, 16), pretrain_epochs=1, **QUICK).fit(X_train)
        method = model.transform
    else:
        model = DBNClassifier((32,), max_iter=1, **QUICK).fit(X_train, y_train)
        method = model.predict_proba
    big = np.tile(X_train, (30, 1))  # 40k rows of float64: 20 MB
    tracemalloc.start()
    out = method(big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A float32 copy of the input alone would be 10 MB; allow the output and
    # a few chunk-sized buffers.
    assert peak < out.nbytes + 4 * 2**20


def test_early_stopping_watches_the_chosen_scorer(digits):
    from sklearn.metrics import log_loss

    X_train, _, y_train, _ = digits
    calls = []

    def neg_log_loss(estimator, X, y):
        value = -log_loss(y, estimator.predict_proba(X), labels=estimator.classes_)
        calls.append((len(X), value, X, y))
        return value

    clf = DBNClassifier(
        (16,),
        pretrain_epochs=3,
        max_iter=6,
        early_stopping=True,
        scoring=neg_log_loss,
        n_iter_no_change=50,
        random_state=0,
    ).fit(X_train, y_train)
    n_val = int(np.ceil(0.1 * len(X_train)))
    assert all(call[0] == n_val for call in calls)
    # The head's score first, then one per fine-tuning epoch.
    scores = [call[1] for call in calls]
    np.testing.assert_allclose(clf.validation_scores_, scores[1:])
    assert clf.best_validation_score_ == max(scores)
    # The best weights were restored: the final model scores the best value.
    _, _, X_val, y_val = calls[0]
    final = -log_loss(y_val, clf.predict_proba(X_val), labels=clf.classes_)
    assert final == pytest.approx(max(scores), rel=1e-6)
    with pytest.raises(ValueError, match="scoring"):
        DBNClassifier(scoring=3).fit(X_train[:50], y_train[:50])


def test_multilabel_indicator_targets_get_logistic_outputs(digits):
    X_train, X_test, y_train, y_test = digits

    # Two labels per image: "even" and "greater than 4" (all four pairs occur).
    def labels(y):
        return np.column_stack([y % 2 == 0, y > 4]).astype(int)

    clf = DBNClassifier((32,), max_iter=30, random_state=0)
    clf.fit(X_train, labels(y_train))
    assert clf.classes_.tolist() == [0, 1]
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    # Independent logistic outputs: the two columns need not sum to 1.
    assert np.abs(proba.sum(axis=1) - 1).max() > 0.1
    predicted = clf.predict(X_test)
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))
    subset_accuracy = np.mean(np.all(predicted == labels(y_test), axis=1))
    assert clf.score(X_test, labels(y_test)) == pytest.approx(subset_accuracy)
    assert subset_accuracy > 0.85
    with pytest.raises(ValueError, match="multilabel indicator"):
        DBNClassifier().fit(X_train[:50], np.column_stack([y_train[:50]] * 2))
