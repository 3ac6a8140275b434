"""teardown against a fake systemd and files under tmp_path: stop, disable, remove, reload, check mode, bad input."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.modules import teardown


@pytest.fixture
def installed(tmp_path, fake_systemd):
    """A unit file (running, enabled), a package unit (running, enabled, its file elsewhere), a directory, a link."""
    units = tmp_path / 'systemd'
    units.mkdir()
    (units / 'lvs-cluster-ipvs.service').write_text('[Unit]\n')
    state = tmp_path / 'lvs-cluster'
    state.mkdir()
    (state / 'ipvs.rules').write_text('-A -t 10.0.0.1:80 -s rr\n')
    (tmp_path / 'metrics.prom').symlink_to(tmp_path / 'gone')
    fake_systemd.running.update(['lvs-cluster-ipvs.service', 'keepalived.service'])
    fake_systemd.enabled.update(['lvs-cluster-ipvs.service', 'keepalived.service'])
    return dict(units=['lvs-cluster-ipvs.service', 'keepalived.service', 'never-installed.service'],
                paths=[str(units / 'lvs-cluster-ipvs.service'), str(state), str(tmp_path / 'metrics.prom'),
                       str(tmp_path / 'never-there.conf')])


def test_check_mode_reports_everything_and_changes_nothing(installed, tmp_path, fake_systemd, run_module):
    result = run_module(teardown.main, installed, check_mode=True, diff=True)
    assert result['changed'] and result['stopped'] == result['disabled'] == installed['units'][:2]
    assert result['removed'] == installed['paths'][:3]
    assert all((tmp_path / name).exists() or (tmp_path / name).is_symlink()
               for name in ('systemd/lvs-cluster-ipvs.service', 'lvs-cluster/ipvs.rules', 'metrics.prom'))
    assert [command[0] for command in fake_systemd.commands] == ['show']
    assert result['diff']['before'].startswith('lvs-cluster-ipvs.service (running, enabled)\n')
    assert result['diff']['after'] == ''


def test_removes_stops_disables_reloads_then_changes_nothing(installed, tmp_path, fake_systemd, run_module):
    result = run_module(teardown.main, installed)
    assert result['changed'] and result['removed'] == installed['paths'][:3]
    assert not fake_systemd.running and not fake_systemd.enabled
    assert not any(path.name != 'systemd' for path in tmp_path.iterdir() if path.name != 'gone')
    assert ('stop', '--', 'lvs-cluster-ipvs.service', 'keepalived.service') in fake_systemd.commands
    assert fake_systemd.commands[-1] == ('daemon-reload',)
    fake_systemd.commands.clear()
    again = run_module(teardown.main, installed)
    assert not again['changed'] and again['removed'] == again['stopped'] == again['disabled'] == []
    assert fake_systemd.commands == [('show', '--property=ActiveState,UnitFileState', '--') + tuple(installed['units'])]


def test_a_unit_named_without_its_suffix_is_that_service(fake_systemd, run_module):
    fake_systemd.running.add('keepalived.service')
    fake_systemd.enabled.add('keepalived.service')
    result = run_module(teardown.main, dict(units=['keepalived']))
    assert result['stopped'] == result['disabled'] == ['keepalived.service'] and not fake_systemd.running


def test_no_reload_when_no_unit_file_went(tmp_path, fake_systemd, run_module):
    (tmp_path / 'sysctl.conf').write_text('net.ipv4.ip_forward = 1\n')
    result = run_module(teardown.main, dict(paths=[str(tmp_path / 'sysctl.conf')]))
    assert result['removed'] == [str(tmp_path / 'sysctl.conf')] and fake_systemd.commands == []


def test_a_refused_stop_fails_with_one_sentence(installed, fake_systemd, run_module):
    fake_systemd.refuse = ('stop', '--', 'lvs-cluster-ipvs.service', 'keepalived.service')
    result = run_module(teardown.main, installed)
    assert result['failed'] and result['msg'].startswith('systemctl stop lvs-cluster-ipvs.service keepalived.service '
                                                         'failed (rc 1)')


@pytest.mark.parametrize('args, message', [
    (dict(units=['keepalived.timer']), "units[0]: 'keepalived.timer' is not valid; expected a service unit name"),
    (dict(units=['../etc/passwd']), "units[0]: '../etc/passwd' is not valid; expected a service unit name"),
    (dict(paths=['/etc/ok', 'relative/path']), "paths[1]: 'relative/path' is not valid; expected an absolute path"),
    (dict(paths=['/']), "paths[0]: '/' is not valid; expected an absolute path other than /"),
])
def test_bad_input_names_the_option_and_changes_nothing(args, message, fake_systemd, run_module):
    result = run_module(teardown.main, args)
    assert result['failed'] and result['msg'].startswith(message) and fake_systemd.commands == []
