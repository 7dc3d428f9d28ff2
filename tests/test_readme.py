"""README's code runs as printed.

Each snippet trains README's models on the digits and checks the scores it
prints: the full tier (``SKDBN_FULL_TESTS=1``) runs them.
"""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow


def test_quick_start_runs(tmp_path, monkeypatch, capsys):
    text = README.read_text()
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # it writes dbn.joblib
    exec(compile(code, "README quick start", "exec"), {})
    best_params, score = capsys.readouterr().out.rsplit("}", 1)
    assert "hidden_layer_sizes" in best_params
    assert float(score) > 0.95
    assert (tmp_path / "dbn.joblib").exists()


def test_generative_snippet_runs(capsys):
    text = README.read_text()
    setup = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    setup = setup.split("# Unsupervised features")[0]  # imports and the split
    code = re.search(r"dreams:.*?```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(setup + code, "README generative DBN", "exec"), namespace)
    assert abs(float(capsys.readouterr().out) - 0.98) < 0.015
    assert namespace["images"].shape == (10, 64)
    assert namespace["labels"].tolist() == [7] * 10
    assert 0 <= namespace["images"].min() and namespace["images"].max() <= 1


def test_gpu_snippet_runs(monkeypatch):
    # The README's lines for a CUDA fit; on a machine without CUDA (CI) they
    # run on torch's CPU build instead, which exercises the same code.
    torch = pytest.importorskip("torch")
    import sklearn

    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    text = README.read_text()
    setup = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    setup = setup.split("# Unsupervised features")[0]  # imports and the split
    code = re.search(r"On a GPU:.*?```python\n(.*?)```", text, re.S).group(1)
    lines = [line for line in code.splitlines() if line and "import" not in line]
    assert len(lines) == 3  # README's promise: three lines after the import
    device = "cuda" if torch.cuda.is_available() else "cpu"
    code = code.replace('device="cuda"', f'device="{device}"')
    namespace = {}
    with sklearn.config_context():  # the snippet's set_config ends here
        exec(compile(setup + code, "README GPU lines", "exec"), namespace)
        gpu = namespace["gpu"]
        X_test = torch.asarray(
            namespace["X_test"] / 16, dtype=torch.float32, device=device
        )
        predicted = gpu.predict(X_test)
    assert isinstance(gpu.coefs_[0], torch.Tensor)
    assert gpu.coefs_[0].device.type == device
    assert predicted.device.type == device
    accuracy = (predicted.cpu().numpy() == namespace["y_test"]).mean()
    assert accuracy > 0.95
