"""The JSON rendering: the facts tree as it is, under a versioned schema name.

The schema ("onebyone.explain/1") is documented field by field in docs/explain.md; a field is
only ever added within a version, never renamed or removed.
"""
import json


def to_json(e, indent=2):
    """The explanation `e` as a JSON string: tuples become lists, None becomes null.

    Objects are indented; a list of numbers (a shape, a matrix row) stays on one line.

    >>> import onebyone
    >>> doc = json.loads(to_json(onebyone.explain("4x4x3", filters=2)))
    >>> doc["schema"], doc["weights"]["pytorch_shape"], doc["example"]
    ('onebyone.explain/1', [2, 3, 1, 1], None)
    >>> print(to_json(onebyone.explain("4x4x3", filters=2)).splitlines()[7])
        "input_size": [4, 4],
    """
    return _dump(e.as_dict(), indent, 0)


def _dump(value, indent, level):
    if isinstance(value, dict):
        inner = " " * indent * (level + 1)
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent * level + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value):
        inner = " " * indent * (level + 1)
        items = [inner + _dump(v, indent, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent * level + "]"
    return json.dumps(value)  # numbers, strings, and lists of them (nested too) on one line
