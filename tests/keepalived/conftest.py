"""Render the keepalived_ha role's template as the role does, and run keepalived's own config test on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import jinja2
import pytest
import yaml

from ansible_collections.lvs.cluster.plugins.filter.keepalived import (
    keepalived_virtual_servers, keepalived_vrrp_instances,
)

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'keepalived_ha')
# keepalived refuses scripts whose path a non-root user could write to, or the script user cannot read
# (enable_script_security), so the scripts of the tests live in a root-owned system directory, not in /tmp.
SCRIPT_DIR = '/usr/local/libexec/lvs-cluster-tests'


def host_interface():
    """Return the name of this host's default-route interface: keepalived -t wants interfaces that exist."""
    with open('/proc/net/route') as handle:
        for line in handle.read().splitlines()[1:]:
            fields = line.split()
            if fields[1] == '00000000':
                return fields[0]
    pytest.fail('this host has no default route: keepalived -t needs an existing interface for the tests')


NIC = host_interface()


def facts(address):
    """Return gathered facts of a director whose NIC holds address in 192.0.2.0/24."""
    return {'ansible_facts': {'interfaces': [NIC], 'default_ipv4': {'interface': NIC, 'address': address},
                              NIC: {'ipv4': {'address': address, 'netmask': '255.255.255.0'}}}}


HOSTVARS = {
    'director1': facts('192.0.2.2'),
    'director2': facts('192.0.2.3'),
    'rs1': {'ansible_default_ipv4': {'address': '192.0.2.11'}},
    'rs2': {'ansible_default_ipv4': {'address': '192.0.2.12'}},
}


def role_variables():
    """Return the role's defaults and vars, as Ansible would load them."""
    variables = {}
    for name in ('defaults', 'vars'):
        with open(os.path.join(ROLE, name, 'main.yml')) as handle:
            variables.update(yaml.safe_load(handle))
    return variables


def script(name, body='exit 0'):
    """Return the path of a root-owned executable script for checks and notifications."""
    os.makedirs(SCRIPT_DIR, mode=0o755, exist_ok=True)
    path = os.path.join(SCRIPT_DIR, name)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n%s\n' % body)
    os.chmod(path, 0o755)
    return path


def render(services, hostname='director1', **overrides):
    """Return keepalived.conf as the role renders it for hostname with these role variables."""
    variables = role_variables()
    variables.update(inventory_hostname=hostname, ansible_managed='Ansible managed', keepalived_ha_router_id=hostname,
                     keepalived_ha_script_user='nobody', keepalived_ha_notify_recorder=script('notify-recorder'))
    variables.update(overrides)
    servers = keepalived_virtual_servers(services, HOSTVARS)
    settings = dict(
        (key, variables['keepalived_ha_' + key]) for key in (
            'instances', 'interface', 'advert_int', 'vrrp_version', 'priority_master', 'priority_backup', 'nopreempt',
            'preempt_delay', 'unicast', 'unicast_peers', 'track_interfaces'))
    settings.update(group=['director1', 'director2'], priority=variables.get('keepalived_ha_priority', 0),
                    auth=bool(variables['keepalived_ha_auth_pass']))
    vrrp = keepalived_vrrp_instances(servers, HOSTVARS, hostname, settings)
    variables.update(keepalived_ha_virtual_servers=servers, keepalived_ha_vrrp=vrrp, keepalived_ha_sync={
        'interface': variables['keepalived_ha_sync_interface'] or vrrp[0]['interface'], 'instance': vrrp[0]['name'],
        'id': vrrp[0]['virtual_router_id']})
    # The template module's defaults: trim_blocks on, trailing newline kept.
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, 'templates')),
                                     trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.get_template('keepalived.conf.j2').render(variables)


CONFIG_TEST = os.path.join(ROLE, 'files', 'keepalived-helper')


def config_test(text, command=(CONFIG_TEST, 'config-test')):
    """Run the role's configuration test (keepalived -t) on text; return (exit code, what it printed)."""
    if not shutil.which('keepalived'):
        pytest.fail('keepalived is not installed: run `make host-deps` (tests/host-packages.txt)')
    os.makedirs(SCRIPT_DIR, mode=0o755, exist_ok=True)
    with tempfile.NamedTemporaryFile('w', suffix='.conf', dir=SCRIPT_DIR) as handle:
        handle.write(text)
        handle.flush()
        completed = subprocess.run(list(command) + [handle.name], capture_output=True, text=True, check=False,
                                   timeout=60)
    return completed.returncode, completed.stdout + completed.stderr
