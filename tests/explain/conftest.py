"""Set-up for the explain tests: Debian's chromium, installed with apt when it is missing."""
import os
import shutil
import subprocess

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """Path of a headless-capable chromium; installs Debian's package if we can, else skips."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.skip("chromium is missing and apt-get (as root) is not available to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in ([apt, "update"], [apt, "install", "-y", "chromium"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    assert os.path.exists(CHROMIUM), "apt-get installed chromium but /usr/bin/chromium is absent"
    return CHROMIUM
