"""The JSON rendering: the facts tree as it is, under a versioned schema name.

The schema ("onebyone.explain/1") is documented field by field in docs/explain.md; a field is
only ever added within a version, never renamed or removed.
"""
import json


def to_json(e, indent=2):
    """The explanation `e` as a JSON string: tuples become lists, None becomes null.

    >>> import onebyone
    >>> doc = json.loads(to_json(onebyone.explain("4x4x3", filters=2)))
    >>> doc["schema"], doc["weights"]["pytorch_shape"], doc["example"]
    ('onebyone.explain/1', [2, 3, 1, 1], None)
    """
    return json.dumps(e.as_dict(), indent=indent)
