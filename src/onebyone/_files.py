"""Output files are written whole or not at all, and their place is checked before any work."""
import os
import tempfile
from pathlib import Path

from .errors import OneByOneError


def check_writable(path, what="output file"):
    """The path as a Path if a file can be created there; else one OneByOneError, before work.

    >>> check_writable("/nonexistent-dir/x.html", "--html")
    Traceback (most recent call last):
    onebyone.errors.OneByOneError: expected --html in an existing, writable directory; got '/nonexistent-dir/x.html'
    """
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    if p.is_dir():  # '/tmp' is an existing, writable directory: say what is wrong with it
        raise OneByOneError(f"expected {what} to name a file, not a directory; got {str(path)!r}")
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        raise OneByOneError(f"expected {what} in an existing, writable directory; got {str(path)!r}")
    return p


def write_atomic(path, write, mode="w"):
    """Call write(file) on a temporary file beside ``path``, then move it into place whole.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> write_atomic(target, lambda f: f.write("whole"))
    >>> open(target).read()
    'whole'
    >>> mask = os.umask(0); _ = os.umask(mask)   # what this process gives new files
    >>> os.stat(target).st_mode & 0o777 == 0o666 & ~mask
    True
    """
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".onebyone-",
                               suffix=os.path.splitext(path)[1])
    try:
        # mkstemp makes the file 0600; a written output gets the mode any new file gets here.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, **({"newline": ""} if "b" not in mode else {})) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
