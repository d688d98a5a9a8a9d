"""The one way a big count (MACs, parameters, bytes) is shortened for a reader: 4816896 -> 4.82 M."""

SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
IEC = ((2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki"))  # bytes: powers of 1024


def human(n, prefixes=SI, spec=".3g", sep=" ", unit=""):
    """``n`` in the largest of ``prefixes`` it reaches (formatted with ``spec``), then ``unit``.

    >>> human(4816896), human(512), human(140_512_000, spec=".1f", sep="")
    ('4.82 M', '512', '140.5M')
    >>> human(3 * 1024, IEC, unit="B"), human(12, IEC, unit="B")
    ('3 KiB', '12 B')
    >>> human(1032192, IEC, unit="B"), human(999_600)  # never '1.01e+03 KiB' or '1e+03 k'
    ('0.984 MiB', '1 M')
    """
    for i, (size, prefix) in enumerate(prefixes):
        if abs(n) >= size:
            text = f"{n / size:{spec}}"
            if "e+" in text and i:  # ".3g" writes 1008 as 1.01e+03: one prefix up reads 0.984
                size, prefix = prefixes[i - 1]
                text = f"{n / size:{spec}}"
            return f"{text}{sep}{prefix}{unit}"
    return f"{n}{sep}{unit}" if unit else f"{n}"
