"""default_route against a fake `ip route` and a fake systemd: replace when needed, the restore unit, absent."""

from __future__ import annotations

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.cluster.plugins.module_utils import _persist
from ansible_collections.lvs.cluster.plugins.modules import default_route


@pytest.fixture
def routes(monkeypatch):
    """The routing table as `ip route show default` prints it (per family); records every ip command."""
    table = {'-4': ['default via 10.89.1.1 dev eth0 ']}
    calls = []

    def ip_route(module, family, *args):
        calls.append((family,) + args)
        if args[:2] == ('route', 'show'):
            return 0, ''.join(line + '\n' for line in table.get(family, [])), ''
        if table.get('refuse'):
            return 2, '', 'RTNETLINK answers: Operation not permitted\n'
        table[family] = ['default ' + ' '.join(args[3:])]
        return 0, '', ''
    monkeypatch.setattr(default_route, 'ip_route', ip_route)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, **kwargs: '/usr/sbin/' + name)
    return table, calls


def test_replaces_the_route_installs_the_unit_then_changes_nothing(routes, tmp_path, fake_systemd, run_module):
    table, calls = routes
    args = dict(gateway='10.89.1.10', restore_unit='lvs-cluster-nat-route.service')
    checked = run_module(default_route.main, args, check_mode=True, diff=True)
    assert checked['changed'] and checked['route_changed'] and checked['restore_unit_changed']
    assert checked['gateway_before'] == '10.89.1.1' and len(calls) == 1
    assert not (tmp_path / 'systemd').exists()
    assert checked['diff'][0] == {'before_header': 'default route', 'after_header': 'default route',
                                  'before': 'default via 10.89.1.1 dev eth0\n', 'after': 'default via 10.89.1.10\n'}
    applied = run_module(default_route.main, args)
    assert applied['changed'] and table['-4'] == ['default via 10.89.1.10']
    unit = (tmp_path / 'systemd' / 'lvs-cluster-nat-route.service').read_text()
    assert 'ExecStart=/usr/sbin/ip -4 route replace default via 10.89.1.10\n' in unit
    assert 'After=network-online.target' in unit and 'lvs-cluster-nat-route.service' in fake_systemd.enabled
    again = run_module(default_route.main, args)
    assert not again['changed'] and again['gateway_before'] == '10.89.1.10'


def test_a_route_replaced_by_hand_is_repaired(routes, run_module):
    table, _calls = routes
    table['-4'] = ['default via 10.89.1.10 dev eth0 metric 100', 'default via 10.89.1.1 dev eth0']
    assert not run_module(default_route.main, dict(gateway='10.89.1.10'))['changed']
    table['-4'] = ['default via 10.89.1.1 dev eth0']
    assert run_module(default_route.main, dict(gateway='10.89.1.10'))['route_changed']


def test_ipv6_goes_through_ip_6_with_the_interface(routes, run_module):
    table, calls = routes
    result = run_module(default_route.main, dict(gateway='fe80::1', interface='eth1'))
    assert result['route_changed'] and table['-6'] == ['default via fe80::1 dev eth1']
    assert calls[-1] == ('-6', 'route', 'replace', 'default', 'via', 'fe80::1', 'dev', 'eth1')


def test_without_privilege_one_sentence(routes, run_module):
    table, _calls = routes
    table['refuse'] = True
    result = run_module(default_route.main, dict(gateway='10.89.1.10'))
    assert result['failed'] and result['msg'] == (
        'ip -4 route replace default via 10.89.1.10 failed (rc 2): RTNETLINK answers: Operation not permitted; '
        'run the task with become: true')


def test_absent_removes_the_unit_and_keeps_the_route(routes, tmp_path, fake_systemd, run_module):
    table, calls = routes
    args = dict(gateway='10.89.1.10', restore_unit='lvs-cluster-nat-route.service')
    run_module(default_route.main, args)
    fake_systemd.running.add('lvs-cluster-nat-route.service')
    absent = dict(state='absent', restore_unit='lvs-cluster-nat-route.service')
    assert run_module(default_route.main, absent, check_mode=True)['changed']
    assert (tmp_path / 'systemd' / 'lvs-cluster-nat-route.service').exists()
    removed = run_module(default_route.main, absent)
    assert removed['changed'] and not (tmp_path / 'systemd' / 'lvs-cluster-nat-route.service').exists()
    assert not fake_systemd.enabled and table['-4'] == ['default via 10.89.1.10']
    assert not run_module(default_route.main, absent)['changed']


@pytest.mark.parametrize('args, message', [
    (dict(gateway='10.89.1.300'), "gateway: '10.89.1.300' is not valid; expected an IPv4 or IPv6 address"),
    (dict(gateway='fe80::1'), 'interface: a link-local gateway (fe80::1) needs the interface towards it'),
    (dict(gateway='10.0.0.1', interface='eth 0'), "interface: 'eth 0' is not valid; expected an interface name"),
    (dict(gateway='10.0.0.1', restore_unit='nat-route'), "restore_unit: 'nat-route' is not valid; expected a unit"),
    (dict(state='absent'), 'state is absent but all of the following are missing: restore_unit'),
])
def test_bad_input_names_the_option_and_changes_nothing(routes, args, message, fake_systemd, run_module):
    _table, calls = routes
    result = run_module(default_route.main, args)
    assert result['failed'] and result['msg'].startswith(message)
    assert not [call for call in calls if 'replace' in call] and fake_systemd.commands == []


def test_a_unit_that_cannot_be_written_fails_with_one_sentence(routes, tmp_path, monkeypatch, run_module):
    (tmp_path / 'not-a-directory').write_text('')
    monkeypatch.setattr(_persist, 'SYSTEMD_UNITS', str(tmp_path / 'not-a-directory' / 'system'))
    result = run_module(default_route.main, dict(gateway='10.89.1.10', restore_unit='lvs-cluster-nat-route.service'))
    assert result['failed'] and result['changed']  # the live route was replaced before
    assert result['msg'].startswith('installing lvs-cluster-nat-route.service failed: ')
    assert result['msg'].endswith('; run the task with become: true (it writes under /etc)')
