"""Layer-wise pretraining by (denoising) autoencoders, as the lecture draws it."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skdbn._training as training
from skdbn import DBNClassifier, DBNTransformer
from skdbn._network import Network
from skdbn._training import TrainingState, make_optimizer, run_epochs


def _fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args)


def test_each_layers_reconstruction_error_falls(digits):
    X_train, _, y_train, _ = digits
    clf = _fit(
        DBNClassifier((128, 64), pretraining="autoencoder", max_iter=0, random_state=0),
        X_train,
        y_train,
    )
    first, second = clf.pretraining_curves_
    assert len(first) >= 10 and len(second) >= 10
    assert first[-1] < 0.75 * first[0]  # measured: 26.4 -> 17.0
    assert second[-1] < second[0]


def test_the_tied_decoder_reconstructs_before_any_fine_tuning(digits):
    # The decoder is W.T with its own biases: the pretrained stack already
    # reconstructs, far better than predicting every pixel's mean.
    X_train, X_test, _, _ = digits
    dbn = _fit(
        DBNTransformer((32,), pretraining="autoencoder", random_state=0), X_train
    )
    baseline = -np.mean(np.sum((X_test - X_train.mean(axis=0)) ** 2, axis=1))
    assert dbn.score(X_test) > 0.5 * baseline  # measured: -1.78 against -4.7


def test_autoencoder_pretraining_matches_no_pretraining(digits):
    # With the head's default penalty (head_alpha=1) a Glorot start reaches
    # about 0.969 on digits, and pretraining by (denoising) autoencoders
    # matches it: measured 0.967 and 0.973. (With the head's penalty of
    # before, alpha / batch_size, the Glorot start scored 0.889: its weakly
    # regularised head, not the lack of pretraining, held it back.)
    X_train, X_test, y_train, y_test = digits
    scores = {}
    for name, params in {
        "autoencoder": dict(pretraining="autoencoder"),
        "denoising": dict(pretraining="autoencoder", pretrain_noise=0.3),
        "none": dict(pretrain_epochs=0),
    }.items():
        clf = DBNClassifier((256, 256), random_state=0, **params)
        scores[name] = _fit(clf, X_train, y_train).score(X_test, y_test)
    assert scores["none"] > 0.95
    assert scores["autoencoder"] > scores["none"] - 0.01
    assert scores["denoising"] > scores["none"] - 0.01


def test_masking_noise_hits_the_inputs_not_the_targets(monkeypatch):
    # An identity layer; a spy records what each step is given.
    rng = np.random.default_rng(0)
    X = np.ones((400, 50), dtype=np.float64)
    net = Network([np.eye(50)], [np.zeros(50)], ["gaussian"])
    state = TrainingState(make_optimizer("sgd", net.params, 0.0, 0.0))
    seen = []
    real_step = training.train_step

    def spy(net_, xb, yb, *args, **kwargs):
        seen.append((xb.copy(), yb.copy()))
        return real_step(net_, xb, yb, *args, **kwargs)

    monkeypatch.setattr(training, "train_step", spy)
    run_epochs(
        net,
        X,
        X.copy(),
        state,
        n_epochs=1,
        batch_size=100,
        rng=rng,
        input_noise=0.3,
        check_convergence=False,
    )
    inputs = np.concatenate([x for x, _ in seen])
    targets = np.concatenate([y for _, y in seen])
    share = np.mean(inputs == 0)
    assert abs(share - 0.3) < 5 * np.sqrt(0.3 * 0.7 / inputs.size)
    assert np.all(targets == 1)


def test_the_transposed_unrolling_works_from_autoencoder_pretraining(digits):
    X_train, X_test, _, _ = digits
    pretrained = _fit(
        DBNTransformer((64, 16), pretraining="autoencoder", random_state=0), X_train
    )
    tuned = _fit(
        DBNTransformer(
            (64, 16), pretraining="autoencoder", fine_tune=True, random_state=0
        ),
        X_train,
    )
    assert tuned.score(X_test) > pretrained.score(X_test)
    assert tuned.transform(X_test).shape == (len(X_test), 16)


def test_what_needs_rbms_says_so(digits):
    X_train = digits[0]
    dbn = _fit(
        DBNTransformer((16,), pretraining="autoencoder", pretrain_epochs=1), X_train
    )
    with pytest.raises(ValueError, match="pretraining='autoencoder'"):
        dbn.sample(2)
    with pytest.raises(ValueError, match="pretraining='rbm'"):
        DBNTransformer((16,), pretraining="autoencoder").partial_fit(X_train)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(pretrain_noise=0.2), "pretrain_noise"),
        (dict(pretraining="autoencoder", sparsity_cost=0.1), "sparsity_cost"),
        (dict(hidden_unit=["bernoulli", "relu"], sparsity_cost=[0, 0.1]), "sparsity"),
    ],
)
def test_options_the_pretraining_would_ignore_are_refused(params, message, digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match=message):
        DBNClassifier((8, 4), **params).fit(X_train, y_train)
