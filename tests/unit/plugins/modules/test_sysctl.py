"""sysctl against a fake /proc/sys tree: one call for several keys, live and persisted, check and diff modes."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _sysctl
from ansible_collections.lvs.cluster.plugins.modules import sysctl

DIRECTOR = {'net.ipv4.vs.expire_nodest_conn': 1, 'net.ipv4.vs.expire_quiescent_template': 1, 'net.ipv4.ip_forward': 1}


@pytest.fixture
def proc(tmp_path, monkeypatch):
    root = tmp_path / 'sys'
    for key in list(DIRECTOR) + ['net.ipv4.tcp_rmem', 'net.ipv4.conf.eth0/100.rp_filter']:
        path = _sysctl.key_path(key, str(root))
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text('0\n')
    monkeypatch.setattr(sysctl, 'PROC_SYS', str(root))
    return root


def live(proc, key):
    return open(_sysctl.key_path(key, str(proc))).read()


def test_several_keys_in_one_call_then_idempotent(proc, tmp_path, run_module):
    args = dict(settings=DIRECTOR, persist_file=str(tmp_path / 'director.conf'))
    checked = run_module(sysctl.main, args, check_mode=True, diff=True)
    assert checked['changed'] and checked['changed_keys'] == list(DIRECTOR)
    assert live(proc, 'net.ipv4.ip_forward') == '0\n' and not (tmp_path / 'director.conf').exists()
    assert checked['diff'][0]['before'].count(' = 0\n') == 3 and checked['diff'][0]['after'].count(' = 1\n') == 3
    applied = run_module(sysctl.main, args)
    assert applied['changed_keys'] == checked['changed_keys'] and applied['persisted_changed']
    assert all(live(proc, key) == '1\n' for key in DIRECTOR)
    assert (tmp_path / 'director.conf').read_text() == (
        '# Managed by lvs.cluster.sysctl\nnet.ipv4.vs.expire_nodest_conn = 1\n'
        'net.ipv4.vs.expire_quiescent_template = 1\nnet.ipv4.ip_forward = 1\n')
    again = run_module(sysctl.main, args, diff=True)
    assert not again['changed'] and again['changed_keys'] == []
    assert again['diff'][0]['before'] == again['diff'][0]['after']
    assert again['live_values'] == dict((key, '1') for key in DIRECTOR)


def test_drift_by_hand_is_repaired_and_only_that_key_changes(proc, tmp_path, run_module):
    args = dict(settings=DIRECTOR, persist_file=str(tmp_path / 'director.conf'))
    run_module(sysctl.main, args)
    with open(_sysctl.key_path('net.ipv4.vs.expire_nodest_conn', str(proc)), 'w') as handle:
        handle.write('0\n')
    repaired = run_module(sysctl.main, args)
    assert repaired['changed'] and repaired['changed_keys'] == ['net.ipv4.vs.expire_nodest_conn']
    assert not repaired['persisted_changed'] and live(proc, 'net.ipv4.vs.expire_nodest_conn') == '1\n'


def test_a_persisted_file_changed_by_hand_is_rewritten(proc, tmp_path, run_module):
    target = tmp_path / 'director.conf'
    args = dict(settings=DIRECTOR, persist_file=str(target))
    run_module(sysctl.main, args)
    target.write_text('net.ipv4.ip_forward = 0\n')
    result = run_module(sysctl.main, args)
    assert result['changed'] and result['persisted_changed'] and result['changed_keys'] == []
    assert 'net.ipv4.ip_forward = 1\n' in target.read_text()


def test_values_compare_as_the_kernel_prints_them(proc, tmp_path, run_module):
    with open(_sysctl.key_path('net.ipv4.tcp_rmem', str(proc)), 'w') as handle:
        handle.write('4096\t131072\t6291456\n')
    result = run_module(sysctl.main, dict(settings={'net.ipv4.tcp_rmem': '4096 131072  6291456'}, persist=False,
                                          persist_file=str(tmp_path / 'x.conf')))
    assert not result['changed'] and result['live_values'] == {'net.ipv4.tcp_rmem': '4096 131072 6291456'}


def test_a_slash_in_a_key_is_a_dot_in_the_name(proc, tmp_path, run_module):
    result = run_module(sysctl.main, dict(settings={'net.ipv4.conf.eth0/100.rp_filter': 2}, persist=False,
                                          persist_file=str(tmp_path / 'x.conf')))
    assert result['changed_keys'] == ['net.ipv4.conf.eth0/100.rp_filter']
    assert (proc / 'net' / 'ipv4' / 'conf' / 'eth0.100' / 'rp_filter').read_text() == '2\n'


@pytest.mark.parametrize('settings, says', [
    ({'net.ipv4.vs.sloppy_tcp': 1}, 'settings: net.ipv4.vs.sloppy_tcp does not exist here'),
    ({'net..ip_forward': 1}, "settings: 'net..ip_forward' is not valid"),
    ({'net.ipv4.conf./../x': 1}, "is not valid; expected a key in sysctl.conf form"),
    ({'ip_forward': 1}, "settings: 'ip_forward' is not valid"),
    ({'net.ipv4.ip_forward': True}, 'settings.net.ipv4.ip_forward: True is not valid'),
    ({'net.ipv4.ip_forward': '1\nnet.ipv4.x = 2'}, 'expected a number or a line of text'),
    ({'net.ipv4.ip_forward': ''}, 'expected a number or a line of text'),
])
def test_bad_input_changes_nothing(proc, tmp_path, run_module, settings, says):
    result = run_module(sysctl.main, dict(settings=dict(DIRECTOR, **settings), persist_file=str(tmp_path / 'x.conf')))
    assert result['failed'] and says in result['msg'] and result['parameter'] == 'settings'
    assert live(proc, 'net.ipv4.ip_forward') == '0\n' and not (tmp_path / 'x.conf').exists()


def test_absent_removes_the_file_and_leaves_the_kernel_alone(proc, tmp_path, run_module):
    target = tmp_path / 'director.conf'
    run_module(sysctl.main, dict(settings=DIRECTOR, persist_file=str(target)))
    checked = run_module(sysctl.main, dict(settings={}, state='absent', persist_file=str(target)), check_mode=True)
    assert checked['changed'] and target.exists()
    removed = run_module(sysctl.main, dict(settings={}, state='absent', persist_file=str(target)))
    assert removed['changed'] and removed['persisted_changed'] and not target.exists()
    assert live(proc, 'net.ipv4.ip_forward') == '1\n'
    assert not run_module(sysctl.main, dict(settings={}, state='absent', persist_file=str(target)))['changed']


def test_without_root_the_write_fails_naming_the_key(proc, tmp_path, run_module, monkeypatch):
    def refusing_open(path, mode='r', *args, **kwargs):
        if 'w' in mode and str(path).startswith(str(proc)):
            raise PermissionError(errno.EACCES, 'Permission denied')
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(_sysctl, 'open', refusing_open, raising=False)
    result = run_module(sysctl.main, dict(settings=DIRECTOR, persist_file=str(tmp_path / 'director.conf')))
    assert result['failed'] and not result['changed']
    assert result['msg'].startswith('setting net.ipv4.vs.expire_nodest_conn to 1 (writing ')
    assert result['msg'].endswith('failed: Permission denied; this needs root on the target: run the task with '
                                  'become: true.')
    assert not (tmp_path / 'director.conf').exists()
