"""The digits net is trained once for every test here that judges it (~20-60 s on the shared
machine): test_digits.py checks the task itself, test_int8_digits.py int8 on it."""
import pytest


@pytest.fixture(scope="session")
def digits_trained():
    """(model, Split) of onebyone.bench.digits.train(seed=0). Nothing may change them:
    optimize and accuracy run copies or only read."""
    from onebyone.bench import digits

    return digits.train(seed=0)
