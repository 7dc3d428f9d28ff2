import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split with a stratified 25% holdout."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float64)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="session", autouse=True)
def single_blas_thread():
    """Run BLAS on one thread during tests.

    numpy and scipy each bundle an OpenBLAS with its own spinning thread
    pool; on a 2-core machine that is also running other work (or a
    GridSearchCV with n_jobs=2) the pools oversubscribe the cores and small
    solves such as LogisticRegression's slow down a hundredfold. Tests check
    behaviour, not speed, so one thread is both faster and steadier.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
