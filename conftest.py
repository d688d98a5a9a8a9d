"""Every test and doctest runs with its own empty tuning cache, never the user's."""
import pytest


@pytest.fixture(autouse=True)
def _isolated_tuning_cache(tmp_path, monkeypatch):
    from onebyone import core, tuning_cache

    monkeypatch.setenv("ONEBYONE_CACHE", str(tmp_path / "tuning.json"))
    monkeypatch.delenv("ONEBYONE_TUNE", raising=False)
    tuning_cache.reset()
    core.forget_plans()
    yield
    tuning_cache.reset()
    core.forget_plans()
