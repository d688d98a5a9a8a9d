"""The on-disk cache of tuned winners: JSON, keyed by torch version and CPU model.

A missing file is an empty cache; a corrupt or unreadable one is ignored with a warning (and
replaced on the next store), never a crash. An entry naming a method that is no longer a
candidate (an older version's name) is ignored by the dispatcher. Writes go to a temporary file
that replaces the cache in one step, so a reader never sees half a file.
"""
import functools
import json
import os
import platform
import warnings
from pathlib import Path

from ._files import write_atomic

_memory = None  # {machine: {key: winner}}, loaded once per process


def path() -> Path:
    default = Path.home() / ".cache" / "onebyone" / "tuning.json"
    return Path(os.environ.get("ONEBYONE_CACHE", default))


@functools.cache
def machine() -> str:
    """Winners hold for one torch build on one CPU model."""
    import torch

    return f"torch {torch.__version__} | {_cpu_model()}"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load():
    global _memory
    if _memory is not None:
        return _memory
    _memory = {}
    p = path()
    if p.exists():
        try:
            data = json.loads(p.read_text())
            if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                raise ValueError("expected an object of objects")
            _memory = data
        except (OSError, ValueError, UnicodeDecodeError) as e:
            warnings.warn(f"onebyone: ignoring unreadable tuning cache {p}: {e}", stacklevel=3)
    return _memory


def lookup(key):
    return _load().get(machine(), {}).get(key)


def store(key, winner):
    entries = _load().setdefault(machine(), {})
    entries[key] = winner
    p = path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(p, lambda f: json.dump(_memory, f, indent=1, sort_keys=True))
    except OSError as e:  # a read-only home still tunes, it just does not remember
        warnings.warn(f"onebyone: could not write tuning cache {p}: {e}", stacklevel=3)


def reset():
    """Forget what was loaded, so the next lookup reads the file again (for tests)."""
    global _memory
    _memory = None
