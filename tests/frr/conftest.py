"""Run FRR's own dry run on the frr.conf the bgp_director role renders (tests/unit/roles/bgp_render.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'unit', 'roles'))

from bgp_render import role_defaults  # noqa: E402


def dry_run(text):
    """Run the role's configuration test (vtysh --dryrun --inputfile) on text; return (exit code, output)."""
    if not shutil.which('vtysh'):
        pytest.fail('FRR is not installed: run `make host-deps` (tests/host-packages.txt)')
    command = role_defaults()['bgp_director_config_test'].split()
    with tempfile.NamedTemporaryFile('w', suffix='.conf') as handle:
        handle.write(text)
        handle.flush()
        completed = subprocess.run(command + [handle.name], capture_output=True, text=True, check=False, timeout=60)
    return completed.returncode, completed.stdout + completed.stderr
