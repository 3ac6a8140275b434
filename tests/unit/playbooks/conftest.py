"""Run a playbook against hosts reached only through a tripwire ssh, and get the run back as one JSON document.

The tripwire stands in for ssh: it records each connection attempt, then fails as an unreachable host does, so a
test sees whether (and which) hosts the run contacted. The results_json callback (beside this file) prints the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

PLAYBOOK = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')]
if not os.path.exists(PLAYBOOK[0]):  # ansible-test runs ansible-core from its source, without the script
    PLAYBOOK = [sys.executable, '-c', 'from ansible.cli.playbook import main; main()']
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')


def run_through_tripwire(directory, playbook, inventory, *args):
    """Run playbook on inventory (a dict, its hosts reached through the tripwire); return (the run, the attempts)."""
    attempts = directory / 'attempts'
    tripwire = directory / 'tripwire-ssh'
    tripwire.write_text('#!/bin/sh\n# Stands in for ssh: records the attempt, then fails as an unreachable host does.\n'
                        'echo "$*" >> "%s"\nexit 255\n' % attempts)
    tripwire.chmod(0o755)
    inventory['all'].setdefault('vars', {}).update({
        'ansible_connection': 'ssh', 'ansible_ssh_executable': str(tripwire),
        'ansible_python_interpreter': '/usr/bin/python3'})
    (directory / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='results_json', ANSIBLE_RETRY_FILES_ENABLED='false',
               ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_HOST_KEY_CHECKING='false')
    done = subprocess.run(PLAYBOOK + ['-i', str(directory / 'inventory.yml'), str(playbook)] + list(args),
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout), attempts.read_text().splitlines() if attempts.exists() else []


@pytest.fixture(scope='session')
def playbook_run():
    """run_through_tripwire(directory, playbook, inventory, *ansible_playbook_args) -> (the run, the attempts)."""
    return run_through_tripwire
