"""The health gate against a real bgpd (FRR 8.4, in a network namespace of its own): announce, keep, withdraw.

IPVS is stood in for (the gate's ipvsadm answer); vtysh, bgpd, zebra and ip are real. Needs root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'unit', 'roles'))

from bgp_render import load_gate, render  # noqa: E402

NAMESPACE = 'lvs-frr-test'
gate = load_gate()
WEB = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'announce': 'bgp', 'realservers': [{'address': '192.0.2.11'}]}
BGP = {'asn': 65010, 'routers': [{'address': '192.0.2.1', 'asn': 65000}]}
LIVE = 'TCP  203.0.113.10:80 mh (mh-fallback,mh-port)\n  -> 192.0.2.11:80                Route   1      0          0\n'


def in_namespace(*command):
    return subprocess.run(['ip', 'netns', 'exec', NAMESPACE] + list(command), capture_output=True, text=True,
                          check=True, timeout=30).stdout


@pytest.fixture(scope='module')
def bgpd():
    """Start zebra and bgpd in their namespace with the role's frr.conf loaded; stop and remove them after."""
    if not shutil.which('vtysh'):
        pytest.fail('FRR is not installed: run `make host-deps` (tests/host-packages.txt)')
    config_dir, run_dir = '/etc/frr/' + NAMESPACE, '/var/run/frr/' + NAMESPACE
    subprocess.run(['ip', 'netns', 'add', NAMESPACE], check=True)
    try:
        for path in (config_dir, run_dir):
            os.makedirs(path, exist_ok=True)
            shutil.chown(path, 'frr', 'frr')
        with open(config_dir + '/frr.conf', 'w') as handle:
            handle.write(render([WEB], BGP))
        in_namespace('ip', 'link', 'set', 'lo', 'up')
        in_namespace('ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'lo')
        in_namespace('ip', 'addr', 'add', '203.0.113.10/32', 'dev', 'lo')
        for daemon in ('zebra', 'bgpd'):
            in_namespace('/usr/lib/frr/' + daemon, '-N', NAMESPACE, '-d', '-A', '127.0.0.1')
        for _attempt in range(50):
            if subprocess.run(['ip', 'netns', 'exec', NAMESPACE, 'vtysh', '-N', NAMESPACE, '-d', 'bgpd', '-c',
                               'show version'], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.2)
        in_namespace('vtysh', '-N', NAMESPACE, '-f', config_dir + '/frr.conf')
        yield
    finally:
        for daemon in ('bgpd', 'zebra'):
            try:
                with open('%s/%s.pid' % (run_dir, daemon)) as handle:
                    os.kill(int(handle.read()), 15)
            except (OSError, ValueError):
                pass
        time.sleep(0.5)
        subprocess.run(['ip', 'netns', 'del', NAMESPACE], check=False)
        shutil.rmtree(config_dir, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)


def runner_with(table):
    """Return a gate runner: ipvsadm answers table[0]; everything else runs in the namespace."""
    def runner(command, timeout=10):
        if command[0] == 'ipvsadm':
            return 0, table[0]
        if command[0] == 'vtysh':
            command = ['vtysh', '-N', NAMESPACE] + command[1:]
        return gate.run(['ip', 'netns', 'exec', NAMESPACE] + command, timeout)
    return runner


def bgp_networks():
    output = in_namespace('vtysh', '-N', NAMESPACE, '-c', 'show running-config')
    return gate.announced_networks(output, BGP['asn'])


def test_the_gate_announces_keeps_and_withdraws_through_the_real_bgpd(bgpd):
    table = [LIVE]
    config = json.loads(render([WEB], BGP, 'lvs-cluster-bgp-gate.json.j2'))  # as the role writes it
    runner = runner_with(table)
    assert gate.one_round(config, runner) == ({('ipv4', '203.0.113.10/32')}, set())
    assert bgp_networks() == {('ipv4', '203.0.113.10/32')}
    assert '203.0.113.10/32' in in_namespace('vtysh', '-N', NAMESPACE, '-c', 'show bgp ipv4 unicast')
    assert gate.one_round(config, runner) == (set(), set())
    table[0] = LIVE.replace('Route   1', 'Route   0')
    assert gate.one_round(config, runner) == (set(), {('ipv4', '203.0.113.10/32')})
    assert bgp_networks() == set()
    table[0] = LIVE
    assert gate.one_round(dict(config, check='exit 1'), runner) == (set(), set())
    assert gate.one_round(config, runner) == ({('ipv4', '203.0.113.10/32')}, set())
    in_namespace('ip', 'addr', 'del', '203.0.113.10/32', 'dev', 'lo')
    assert gate.one_round(config, runner) == (set(), {('ipv4', '203.0.113.10/32')})
