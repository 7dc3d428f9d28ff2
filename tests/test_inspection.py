"""The displays draw what the model holds: pixel data, counts and labels.

Each test renders with the Agg backend and compares the drawn image data
with values computed here from the fitted attributes.
"""

import sys

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skdbn import (  # noqa: E402
    RBM,
    DBNClassifier,
    DBNTransformer,
    GenerativeDBNClassifier,
)
from skdbn.inspection import (  # noqa: E402
    FiltersDisplay,
    ReconstructionsDisplay,
    SamplesDisplay,
    TrainingCurvesDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def rbm(digits):
    return RBM(20, n_iter=5, random_state=0).fit(digits[0])


@pytest.fixture(scope="module")
def stack(digits):
    return DBNTransformer((20, 12), pretrain_epochs=3, random_state=0).fit(digits[0])


def _data(image):
    return np.asarray(image.get_array())


def test_filters_are_the_weights_and_deeper_ones_their_projection(rbm, stack):
    display = FiltersDisplay.from_estimator(rbm, image_shape=(8, 8), n_filters=9)
    assert len(display.images_) == 9 and display.axes_.shape == (3, 3)
    for i, image in enumerate(display.images_):
        np.testing.assert_allclose(_data(image), rbm.components_[i].reshape(8, 8))
    assert "Layer 1" in display.figure_._suptitle.get_text()

    deep = FiltersDisplay.from_estimator(stack, image_shape=(8, 8), layer=1)
    W1, W2 = (r.components_.astype(float) for r in stack.rbms_)
    projected = W1.T @ W2.T  # (pixels, units of layer 2)
    assert len(deep.images_) == 12
    for j, image in enumerate(deep.images_):
        np.testing.assert_allclose(
            _data(image), projected[:, j].reshape(8, 8), rtol=1e-5
        )
    assert "projected" in deep.figure_._suptitle.get_text()
    # The trailing axes of the 4 x 4 grid are hidden.
    assert sum(a.get_visible() for a in deep.axes_.ravel()) == 12


def test_filters_of_a_pipeline_and_of_every_estimator(digits):
    X, _, y, _ = digits
    pipe = make_pipeline(MinMaxScaler(), RBM(4, n_iter=2, random_state=0)).fit(X)
    assert len(FiltersDisplay.from_estimator(pipe, image_shape=(8, 8)).images_) == 4
    clf = DBNClassifier((6,), pretrain_epochs=2, max_iter=2, random_state=0).fit(X, y)
    display = FiltersDisplay.from_estimator(clf, image_shape=(8, 8))
    np.testing.assert_allclose(
        _data(display.images_[0]), clf.coefs_[0][:, 0].reshape(8, 8)
    )
    # A head's own hidden layers are not pretrained filters.
    headed = DBNClassifier(
        (6,), head_hidden_layer_sizes=(5,), pretrain_epochs=2, max_iter=2
    ).fit(X, y)
    assert len(FiltersDisplay.from_estimator(headed, layer=-1).images_) == 6
    with pytest.raises(ValueError, match="has 1 pretrained layer\\."):
        FiltersDisplay.from_estimator(headed, layer=1)
    gen = GenerativeDBNClassifier((6,), up_down_epochs=1, random_state=0).fit(X, y)
    display = FiltersDisplay.from_estimator(gen, image_shape=(8, 8))
    np.testing.assert_allclose(
        _data(display.images_[0]), gen.top_rbm_.components_[0, 10:].reshape(8, 8)
    )


def test_filters_refuse_a_wrong_shape_or_layer(rbm):
    with pytest.raises(ValueError, match="holds 49 pixels.*64 features"):
        FiltersDisplay.from_estimator(rbm, image_shape=(7, 7))
    with pytest.raises(ValueError, match="layer=1 is out of range"):
        FiltersDisplay.from_estimator(rbm, image_shape=(8, 8), layer=1)


def test_reconstructions_rows_are_the_models_and_pca(stack, digits):
    X = digits[0]
    display = ReconstructionsDisplay.from_estimator(
        stack, X, image_shape=(8, 8), n_images=6, pca=True
    )
    assert display.axes_.shape == (3, 6) and len(display.images_) == 18
    expected = stack.inverse_transform(stack.transform(X[:6]))
    for image, row in zip(display.images_[6:12], expected):
        np.testing.assert_allclose(_data(image), row.reshape(8, 8), rtol=1e-6)
    for image, row in zip(display.images_[:6], X[:6]):
        np.testing.assert_allclose(_data(image), row.reshape(8, 8))
    labels = [a.get_ylabel() for a in display.axes_[:, 0]]
    assert labels[0] == "data"
    assert labels[1].startswith("DBNTransformer") and labels[2].startswith("PCA(12)")
    error = np.mean(np.sum((expected - X[:6]) ** 2, axis=1))
    assert display.errors_["DBNTransformer"] == pytest.approx(error, rel=1e-5)


def test_reconstructions_need_inverse_transform(digits):
    X, _, y, _ = digits
    clf = DBNClassifier((6,), pretrain_epochs=1, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="no inverse_transform"):
        ReconstructionsDisplay.from_estimator(clf, X, image_shape=(8, 8))


def test_samples_rows_follow_the_steps(rbm, digits):
    display = SamplesDisplay.from_estimator(
        rbm, image_shape=(8, 8), n_chains=5, steps=(1, 20), random_state=3
    )
    assert display.axes_.shape == (2, 5) and len(display.images_) == 10
    expected = rbm.sample(5, n_gibbs_steps=20, random_state=3)
    for image, row in zip(display.images_[5:], expected):
        np.testing.assert_allclose(_data(image), row.reshape(8, 8))
    assert [a.get_ylabel() for a in display.axes_[:, 0]] == ["1 step", "20 steps"]

    X, _, y, _ = digits
    gen = GenerativeDBNClassifier((16, 32), up_down_epochs=1, random_state=0).fit(X, y)
    display = SamplesDisplay.from_estimator(
        gen, image_shape=(8, 8), n_chains=3, steps=(5,), y=4
    )
    expected, _ = gen.sample(3, y=4, n_gibbs_steps=5, random_state=0)
    np.testing.assert_allclose(_data(display.images_[2]), expected[2].reshape(8, 8))


def test_training_curves_show_every_stage(digits):
    X, _, y, _ = digits
    clf = DBNClassifier(
        (12, 8), pretrain_epochs=3, max_iter=4, early_stopping=True, random_state=0
    ).fit(X, y)
    display = TrainingCurvesDisplay.from_estimator(clf)
    assert len(display.axes_) == 2
    assert display.axes_[0].get_title().startswith("pretraining")
    assert set(display.lines_) == {
        "layer 1",
        "layer 2",
        "head loss (full batch)",
        "training loss",
        "validation score",
    }
    np.testing.assert_allclose(
        display.lines_["layer 2"].get_ydata(), clf.pretraining_curves_[1]
    )
    # The mini-batch means from epoch 1; the head's full-batch loss apart,
    # at epoch 0, not joined to them.
    loss = display.lines_["training loss"]
    np.testing.assert_allclose(loss.get_ydata(), clf.loss_curve_)
    assert list(loss.get_xdata()) == list(range(1, len(clf.loss_curve_) + 1))
    head = display.lines_["head loss (full batch)"]
    assert list(head.get_xdata()) == [0]
    np.testing.assert_allclose(head.get_ydata(), [clf.head_loss_])
    assert head.get_linestyle() == "None"
    _assert_text_inside_and_legends_off_the_curves(display.figure_)
    np.testing.assert_allclose(
        display.lines_["validation score"].get_ydata(), clf.validation_scores_
    )

    gen = GenerativeDBNClassifier((8,), up_down_epochs=3, random_state=0).fit(X, y)
    display = TrainingCurvesDisplay.from_estimator(gen)
    np.testing.assert_allclose(
        display.lines_["up-down reconstruction error"].get_ydata(), gen.up_down_curve_
    )
    rbm = RBM(4, n_iter=3, random_state=0).fit(X)
    display = TrainingCurvesDisplay.from_estimator(rbm)
    assert len(display.axes_) == 1 and list(display.lines_) == ["RBM"]


def test_displays_name_the_extra_without_matplotlib(rbm, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "skdbn\[plot\]"'):
        FiltersDisplay.from_estimator(rbm, image_shape=(8, 8))


def test_square_images_need_no_image_shape():
    # 64 features are an 8x8 image; 60 are no square and need the shape.
    from sklearn.datasets import load_digits

    X = load_digits().data[:100] / 16
    rbm = RBM(8, n_iter=2, random_state=0).fit(X)
    display = FiltersDisplay.from_estimator(rbm)
    assert display.image_shape == (8, 8)
    narrow = RBM(8, n_iter=2, random_state=0).fit(X[:, :60])
    with pytest.raises(ValueError, match="60 features, which make no square"):
        FiltersDisplay.from_estimator(narrow)


def _assert_text_inside_and_legends_off_the_curves(figure):
    """Every label lies inside the figure, and no legend overlaps a panel."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    for ax in figure.axes:
        for text in (ax.xaxis.label, ax.yaxis.label, ax.title):
            if not text.get_text():
                continue
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.x1 <= width + 1, text.get_text()
            assert box.y0 >= -1 and box.y1 <= height + 1, text.get_text()
        legend = ax.get_legend()
        if legend is not None:
            assert not legend.get_window_extent(renderer).overlaps(
                ax.get_window_extent(renderer)
            )


def test_reconstruction_row_labels_stay_inside_the_figure(stack, digits):
    display = ReconstructionsDisplay.from_estimator(stack, digits[1], n_images=4)
    assert any(
        "DBNTransformer" in a.yaxis.label.get_text() for a in display.axes_[:, 0]
    )
    _assert_text_inside_and_legends_off_the_curves(display.figure_)
