"""The public API: about ten names, each one importable and documented with an example."""
import onebyone


def test_every_public_name_resolves_and_has_an_example():
    assert 8 <= len(onebyone.__all__) <= 12
    for name in onebyone.__all__:
        value = getattr(onebyone, name)
        assert value.__doc__ and ">>>" in value.__doc__, f"{name} has no runnable example"
