"""Random option values never make a module raise: every input ends in exit_json or fail_json.

For every module, hypothesis builds arguments from the module's own argument spec (valid values,
edge cases such as scoped IPv6 or boundary integers, and junk of every type) and runs main()
through validation and planning against fakes of the host: the fake IPVS backend, a fake
/proc/sys tree, a fake netlink route socket, a fake /sys/module and modprobe. Files the modules would write go to a temporary
directory (unit files too: tests/unit/conftest.py fakes systemd), arp_sysctl and vip_alias run in check mode (their
writes are not faked), and sysctl in both modes (its /proc/sys is the fake tree).
Infinite floats are left out: AnsibleModule itself raises OverflowError for one given to an int
option (ansible-core's check_type_int), before any code of the collection runs.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.module_utils import basic

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import RealServer, ServiceKey, VirtualService
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import SERVICE_KEY_OPTIONS, TABLE_SERVICE_OPTIONS
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Address, Link
from ansible_collections.lvs.cluster.plugins.modules import (
    arp_sysctl, ipvs_info, ipvs_realserver, ipvs_service, ipvs_table, kernel_modules, sysctl, vip_alias,
)

from ansible_collections.lvs.cluster.tests.unit.strategies import valid_leaning

SETTINGS = settings(max_examples=150)  # the rest from tests/unit/conftest.py's profile
# Options whose value is where a file is written: pinned to the test's directory (see the docstring).
FILE_OPTIONS = ('save_to', 'persist_file', 'persist_dir')


class SpecSeen(Exception):
    """Raised by the recording AnsibleModule once it has the module's argument spec."""


def argument_spec(main, monkeypatch):
    """Return the argument spec main() gives AnsibleModule (items of ipvs_table's services with their options)."""
    def record(self, argument_spec, **_kwargs):
        raise SpecSeen(argument_spec)
    with monkeypatch.context() as patch:
        patch.setattr(basic.AnsibleModule, '__init__', record)
        with pytest.raises(SpecSeen) as seen:
            main()
    spec = dict(seen.value.args[0])
    if main is ipvs_table.main:
        spec['config'] = dict(spec['config'], options=TABLE_SERVICE_OPTIONS)
    if main is ipvs_realserver.main:
        spec['service'] = dict(spec['service'], options=SERVICE_KEY_OPTIONS)
    return spec


def live_table():
    """Return a table with a service the random real servers and services may name."""
    web = VirtualService(ServiceKey(address='192.0.2.10', port=80), scheduler='wrr')
    web.realservers[('198.51.100.11', 80)] = RealServer('198.51.100.11', 80)
    mark = VirtualService(ServiceKey(fwmark=7), scheduler='sh', scheduler_flags=('sh-port',))
    return {web.key: web, mark.key: mark}


def pinned(args, tmp_path):
    return dict(args, **dict((name, str(tmp_path / name)) for name in FILE_OPTIONS if args.get(name) is not None))


def run_to_the_end(run_module, main, args, check_mode):
    """Run main() and return its result; any exception other than exit_json/fail_json's fails the test."""
    result = run_module(main, args, check_mode=check_mode, diff=True)
    assert isinstance(result.get('msg', ''), str)
    assert 'Traceback' not in result.get('msg', '')
    return result


@pytest.mark.parametrize('main', [ipvs_service.main, ipvs_realserver.main, ipvs_table.main, ipvs_info.main],
                         ids=['ipvs_service', 'ipvs_realserver', 'ipvs_table', 'ipvs_info'])
def test_ipvs_modules_fail_or_exit_on_any_input(main, fake_backend, run_module, monkeypatch, tmp_path):
    spec = argument_spec(main, monkeypatch)

    @SETTINGS
    @given(valid_leaning(spec, infinity=False), st.booleans(), st.sampled_from([(), ('gre',)]))
    def check(args, check_mode, unwritable):
        fake_backend.table, fake_backend.applied = live_table(), []
        fake_backend.unwritable_tunnel_types = unwritable
        run_to_the_end(run_module, main, pinned(args, tmp_path), check_mode)
    check()


@pytest.fixture
def proc(tmp_path, monkeypatch):
    root = tmp_path / 'sys' / 'net' / 'ipv4' / 'conf'
    for interface in ('all', 'default', 'lo', 'eth0'):
        (root / interface).mkdir(parents=True)
        for name in ('arp_ignore', 'arp_announce', 'rp_filter'):
            (root / interface / name).write_text('0\n')
    monkeypatch.setattr(arp_sysctl, 'PROC_SYS', str(tmp_path / 'sys'))
    monkeypatch.setattr(sysctl, 'PROC_SYS', str(tmp_path / 'sys'))


def test_arp_sysctl_fails_or_exits_on_any_input(proc, run_module, monkeypatch, tmp_path):
    spec = argument_spec(arp_sysctl.main, monkeypatch)

    @SETTINGS
    @given(valid_leaning(spec, infinity=False))
    def check(args):
        run_to_the_end(run_module, arp_sysctl.main, pinned(args, tmp_path), check_mode=True)
    check()


def test_sysctl_fails_or_exits_on_any_input(proc, run_module, monkeypatch, tmp_path):
    spec = argument_spec(sysctl.main, monkeypatch)

    @SETTINGS
    @given(valid_leaning(spec, infinity=False), st.booleans())
    def check(args, check_mode):
        run_to_the_end(run_module, sysctl.main, pinned(args, tmp_path), check_mode=check_mode)
    check()


def test_kernel_modules_fails_or_exits_on_any_input(run_module, monkeypatch, tmp_path):
    spec = argument_spec(kernel_modules.main, monkeypatch)
    monkeypatch.setattr(kernel_modules, 'SYS_MODULE', str(tmp_path / 'module'))
    monkeypatch.setattr(kernel_modules, 'modprobe', lambda module, name: (1, 'not found'))

    @SETTINGS
    @given(valid_leaning(spec, infinity=False), st.booleans())
    def check(args, check_mode):
        run_to_the_end(run_module, kernel_modules.main, pinned(args, tmp_path), check_mode=check_mode)
    check()


class FakeRouteSocket:
    """The netlink route socket as vip_alias uses it: eth0 (index 2, up) with 192.0.2.2/24, lo (index 1, up)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def link(self, name):
        return {link.name: link for link in self.links()}.get(name)

    def links(self):
        return [Link(1, 'lo', True), Link(2, 'eth0', True)]

    def addresses(self, index):
        return [Address(ipaddress.ip_interface('192.0.2.2/24'), 'eth0', 0)] if index == 2 else []


def test_vip_alias_fails_or_exits_on_any_input(run_module, monkeypatch, tmp_path):
    spec = argument_spec(vip_alias.main, monkeypatch)
    monkeypatch.setattr(vip_alias.RouteSocket, 'open', FakeRouteSocket)

    @SETTINGS
    @given(valid_leaning(spec, infinity=False))
    def check(args):
        run_to_the_end(run_module, vip_alias.main, pinned(args, tmp_path), check_mode=True)
    check()
