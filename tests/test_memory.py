"""memory=: pretrained layers stored once and loaded, the model unchanged."""

import numpy as np
import pytest
from joblib import Memory
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skdbn import DBNClassifier, DBNTransformer, GenerativeDBNClassifier, _stack


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16)[:400], y[:400]


@pytest.fixture
def trained_layers(monkeypatch):
    """Counts the layers actually trained (not loaded)."""
    calls = []
    train = _stack._train

    def counting(layer, *args, **kwargs):
        calls.append(layer["W"].shape)
        return train(layer, *args, **kwargs)

    monkeypatch.setattr(_stack, "_train", counting)
    return calls


def _same_model(a, b):
    for left, right in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(left, right)
    assert a.pretraining_curves_ == b.pretraining_curves_


QUICK = dict(pretrain_epochs=3, max_iter=3, batch_size=20, random_state=0)


def test_a_second_fit_loads_every_layer_and_is_the_same_model(
    digits, tmp_path, trained_layers, capsys
):
    X, y = digits
    plain = DBNClassifier((16, 8), **QUICK).fit(X, y)
    assert len(trained_layers) == 2
    first = DBNClassifier((16, 8), memory=str(tmp_path), **QUICK).fit(X, y)
    assert len(trained_layers) == 4
    second = DBNClassifier((16, 8), memory=Memory(str(tmp_path)), verbose=1, **QUICK)
    second.fit(X, y)
    assert len(trained_layers) == 4  # nothing trained
    assert capsys.readouterr().out.count("loaded from the cache") == 2
    _same_model(plain, first)
    _same_model(plain, second)


def test_candidates_share_the_layers_below_their_difference(
    digits, tmp_path, trained_layers
):
    X, y = digits
    DBNClassifier((16,), memory=str(tmp_path), **QUICK).fit(X, y)
    deeper = DBNClassifier((16, 8), memory=str(tmp_path), **QUICK).fit(X, y)
    assert [shape[0] for shape in trained_layers] == [16, 8]
    _same_model(deeper, DBNClassifier((16, 8), **QUICK).fit(X, y))
    # Fine-tuning settings do not touch the stack: nothing is pretrained.
    del trained_layers[:]
    DBNClassifier((16, 8), memory=str(tmp_path), alpha=1e-2, **QUICK).fit(X, y)
    assert trained_layers == []


@pytest.mark.parametrize(
    "change",
    [
        {"pretrain_learning_rate": 0.05},
        {"pretrain_epochs": 4},
        {"batch_size": 25},
        {"n_gibbs_steps": 2},
        {"persistent": True},
        {"pretrain_weight_decay": 1e-3},
        {"sparsity_cost": 0.1},
        {"hidden_unit": "relu"},
        {"random_state": 1},
        {"dtype": "float64"},
        {"hidden_layer_sizes": (12,)},
        {"pretraining": "autoencoder"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_anything_that_changes_the_first_layer_misses(
    digits, tmp_path, trained_layers, change
):
    X, y = digits
    base = DBNClassifier((16,), memory=str(tmp_path), **QUICK).fit(X, y)
    changed = clone(base).set_params(**change).fit(X, y)
    assert len(trained_layers) == 2
    uncached = clone(changed).set_params(memory=None).fit(X, y)
    _same_model(changed, uncached)


@pytest.mark.parametrize(
    "data_change",
    ["values", "rows", "weights", "autoencoder step", "autoencoder noise"],
)
def test_other_data_or_settings_miss(digits, tmp_path, trained_layers, data_change):
    X, y = digits
    params = dict(memory=str(tmp_path), **QUICK)
    if data_change.startswith("autoencoder"):
        params["pretraining"] = "autoencoder"
    DBNClassifier((16,), **params).fit(X, y)
    if data_change == "values":
        DBNClassifier((16,), **params).fit(np.clip(X + 0.01, 0, 1), y)
    elif data_change == "rows":
        DBNClassifier((16,), **params).fit(X[:-1], y[:-1])
    elif data_change == "weights":
        weights = np.ones(len(y))
        weights[:5] = 0  # rows of weight 0 do not pretrain
        DBNClassifier((16,), **params).fit(X, y, sample_weight=weights)
    elif data_change == "autoencoder step":
        DBNClassifier((16,), learning_rate_init=0.01, **params).fit(X, y)
    else:
        DBNClassifier((16,), pretrain_noise=0.2, **params).fit(X, y)
    assert len(trained_layers) == 2


def test_grid_search_in_two_processes_shares_one_cache(digits, tmp_path):
    X, y = digits
    grid = {"hidden_layer_sizes": [(16,), (16, 8)], "alpha": [1e-4, 1e-2]}
    plain = GridSearchCV(DBNClassifier(**QUICK), grid, cv=2).fit(X, y)
    cached = GridSearchCV(
        DBNClassifier(memory=str(tmp_path), **QUICK), grid, cv=2, n_jobs=2, refit=False
    ).fit(X, y)
    for key in ("split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(plain.cv_results_[key], cached.cv_results_[key])
    # Two folds, one first layer and one second layer each.
    layers = list(tmp_path.rglob("output.pkl"))
    assert len(layers) == 4


def test_the_transformer_and_the_generative_model_take_a_memory(
    digits, tmp_path, trained_layers
):
    X, y = digits
    # (Separate folders: the two share their first layer, which is the same
    # layer for both and would be loaded by the second.)
    for folder, make in enumerate(
        (
            lambda **kw: DBNTransformer(
                (16, 8), pretrain_epochs=2, random_state=0, **kw
            ),
            lambda **kw: GenerativeDBNClassifier(
                (16, 8), pretrain_epochs=2, up_down_epochs=1, random_state=0, **kw
            ),
        )
    ):
        del trained_layers[:]
        plain = make().fit(X, y)
        n_trained = len(trained_layers)
        make(memory=str(tmp_path / str(folder))).fit(X, y)
        again = make(memory=str(tmp_path / str(folder))).fit(X, y)
        assert len(trained_layers) == 2 * n_trained
        for name in ("coefs_", "recognition_coefs_", "generative_coefs_"):
            for a, b in zip(getattr(plain, name, []), getattr(again, name, [])):
                np.testing.assert_array_equal(a, b)


def test_memory_refuses_what_it_cannot_keep(digits, tmp_path):
    X, y = digits
    pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match="memory=None"):
        DBNClassifier((8,), memory=str(tmp_path))._memory(object())


def test_a_layer_cut_short_is_not_stored(digits, tmp_path, monkeypatch):
    X, y = digits
    from skdbn import _rbm_numerics

    step, calls = _rbm_numerics.cd_step, []

    def interrupted_in_the_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 25:  # 20 batches an epoch
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(_rbm_numerics, "cd_step", interrupted_in_the_second_epoch)
    with pytest.warns(UserWarning, match="nterrupt"):
        cut = DBNClassifier((16, 8), memory=str(tmp_path), **QUICK).fit(X, y)
    assert [len(c) for c in cut.pretraining_curves_] == [1, 0]
    assert list(tmp_path.rglob("output.pkl")) == []
    monkeypatch.setattr(_rbm_numerics, "cd_step", step)
    whole = DBNClassifier((16, 8), memory=str(tmp_path), **QUICK).fit(X, y)
    assert [len(c) for c in whole.pretraining_curves_] == [3, 3]
    assert len(list(tmp_path.rglob("output.pkl"))) == 2


def test_a_random_seed_never_loads_a_layer(digits, tmp_path, trained_layers):
    X, y = digits
    params = {**QUICK, "random_state": None}
    for _ in range(2):
        DBNClassifier((16,), memory=str(tmp_path), **params).fit(X, y)
    assert len(trained_layers) == 2
