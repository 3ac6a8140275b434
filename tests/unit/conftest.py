"""Shared fixtures: run a module's main() with arguments, a fake IPVS backend, and a fake systemd for every test."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, settings

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_client, _persist
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ApplyError, refusal
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import SCHEDULERS
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import apply_to_table


# The property tests' settings: the same examples on every run, no example database, and no check of the time a draw
# takes. CI runs the unit tests at nice 19 beside the emulated lab, where one draw took 37 s (a CI run of the Debian 13 lab:
# HealthCheck.too_slow failed ipvs_realserver's random-input test); the examples themselves stay the same.
settings.register_profile('lvs_cluster', deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile('lvs_cluster')


class ModuleExit(Exception):
    """main() called exit_json or fail_json; result holds what it returned (failed=True for fail_json)."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


class FakeBackend:
    """An in-memory IPVS table behind the backend interface; records what it was told to apply.

    refuse(change) returns the errno with which the kernel would refuse change, or None: apply makes
    the changes up to the first refused one and raises ApplyError, as a backend does.
    """

    name = 'fake'
    unwritable_tunnel_types = ()

    def __init__(self, table=None):
        self.table = table or {}
        self.applied = []
        self.refuse = lambda change: None

    def read_table(self, stats=True):
        table = copy.deepcopy(self.table)
        if not stats:
            for service in table.values():
                service.stats = {}
                for realserver in service.realservers.values():
                    realserver.stats = {}
        return table

    def apply(self, changes):
        for index, change in enumerate(changes):
            code = self.refuse(change)
            if code:
                self.table = apply_to_table(self.table, changes[:index])
                raise ApplyError(change, refusal(change, code), changes[:index])
            self.applied.append(change.rule())
        self.table = apply_to_table(self.table, changes)

    def read_timeouts(self):
        return {'tcp': 900, 'tcp_fin': 120, 'udp': 300}

    def read_daemons(self):
        return []

    def close(self):
        pass


class FakeSystemd:
    """systemctl as _persist.systemctl runs it: which units are enabled and running; records every command."""

    def __init__(self):
        self.enabled = set()
        self.running = set()
        self.commands = []
        self.refuse = None  # a command (tuple) that fails

    def __call__(self, module, *args):
        self.commands.append(args)
        if args == self.refuse:
            return 1, 'Failed to %s\n' % ' '.join(args)
        names = args[args.index('--') + 1:] if '--' in args else args[1:]
        if args[0] == 'is-enabled':
            return (0, 'enabled\n') if args[1] in self.enabled else (1, 'disabled\n')
        if args[0] == 'enable':
            self.enabled.add(args[1])
        if args[0] == 'show':
            return 0, '\n'.join('ActiveState=%s\nUnitFileState=%s\n' % (
                'active' if name in self.running else 'inactive', 'enabled' if name in self.enabled else 'disabled')
                for name in names)
        if args[0] in ('stop', 'disable'):
            (self.running if args[0] == 'stop' else self.enabled).difference_update(names)
        return 0, ''


@pytest.fixture(autouse=True)
def fake_systemd(monkeypatch, tmp_path):
    """Every test: unit files under tmp_path/systemd, a running systemd faked (no test runs systemctl)."""
    systemd = FakeSystemd()
    monkeypatch.setattr(_persist, 'systemctl', systemd)
    monkeypatch.setattr(_persist, 'SYSTEMD_UNITS', str(tmp_path / 'systemd'))
    monkeypatch.setattr(_persist, 'SYSTEMD_RUNNING', str(tmp_path))
    return systemd


@pytest.fixture
def fake_backend(monkeypatch):
    backend = FakeBackend()
    monkeypatch.setattr(_ipvs_client, 'open_backend', lambda module: backend)
    monkeypatch.setattr(_ipvs_client, 'scheduler_available', lambda name: name in SCHEDULERS and name != 'twos')
    return backend


@pytest.fixture
def run_module(monkeypatch):
    """Return a function that runs a module's main() with args and returns its result."""
    def exit_json(self, **result):
        raise ModuleExit(dict(result, failed=False))

    def fail_json(self, msg, **result):
        raise ModuleExit(dict(result, msg=msg, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(main, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        try:
            if patch_module_args is not None:
                with patch_module_args(args):
                    main()
            else:
                monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
                main()
        except ModuleExit as done:
            return done.result
        raise AssertionError('main() returned without exit_json or fail_json')
    return run
