"""arp_sysctl against a fake /proc/sys/net/ipv4/conf tree."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _persist, _sysctl
from ansible_collections.lvs.cluster.plugins.modules import arp_sysctl


@pytest.fixture
def proc(tmp_path, monkeypatch):
    root = tmp_path / 'sys' / 'net' / 'ipv4' / 'conf'
    for interface in ('all', 'default', 'lo', 'eth0'):
        for name in ('arp_ignore', 'arp_announce', 'rp_filter'):
            (root / interface).mkdir(parents=True, exist_ok=True)
            (root / interface / name).write_text('0\n')
    monkeypatch.setattr(arp_sysctl, 'PROC_SYS', str(tmp_path / 'sys'))
    return root


def test_sets_live_and_persists_then_is_idempotent(proc, tmp_path, run_module):
    args = dict(interfaces=['all', 'eth0'], persist_file=str(tmp_path / 'arp.conf'))
    checked = run_module(arp_sysctl.main, args, check_mode=True)
    assert checked['changed'] and (proc / 'all' / 'arp_ignore').read_text() == '0\n'
    assert not (tmp_path / 'arp.conf').exists()
    applied = run_module(arp_sysctl.main, args)
    assert applied['changed_keys'] == checked['changed_keys'] == [
        'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce',
        'net.ipv4.conf.eth0.arp_ignore', 'net.ipv4.conf.eth0.arp_announce']
    assert (proc / 'eth0' / 'arp_announce').read_text() == '2\n'
    assert 'net.ipv4.conf.eth0.arp_ignore = 1' in (tmp_path / 'arp.conf').read_text()
    again = run_module(arp_sysctl.main, args)
    assert not again['changed'] and again['changed_keys'] == []


def test_only_differing_keys_change(proc, tmp_path, run_module):
    (proc / 'all' / 'arp_ignore').write_text('1\n')
    result = run_module(arp_sysctl.main, dict(interfaces=['all'], persist=False))
    assert result['changed_keys'] == ['net.ipv4.conf.all.arp_announce']


@pytest.mark.parametrize('args, says', [
    (dict(arp_ignore=4), 'arp_ignore: 4 is not valid; expected one of 0, 1, 2, 3, 8'),
    (dict(arp_announce=-1), 'arp_announce: -1 is not valid'),
    (dict(rp_filter=3), 'rp_filter: 3 is not valid'),
    (dict(interfaces=['all', 'tunl0']), "interfaces: 'tunl0' is not valid; no such interface here"),
])
def test_bad_input_changes_nothing(proc, tmp_path, run_module, args, says):
    result = run_module(arp_sysctl.main, dict(args, persist_file=str(tmp_path / 'arp.conf')))
    assert result['failed'] and says in result['msg']
    assert (proc / 'all' / 'arp_ignore').read_text() == '0\n' and not (tmp_path / 'arp.conf').exists()


def test_missing_interface_is_persisted_when_allowed(proc, tmp_path, run_module):
    result = run_module(arp_sysctl.main, dict(interfaces=['all', 'tunl0'], rp_filter=2, ignore_missing_interfaces=True,
                                              persist_file=str(tmp_path / 'arp.conf')))
    assert result['live_values']['net.ipv4.conf.tunl0.rp_filter'] is None
    assert 'net.ipv4.conf.tunl0.rp_filter = 2' in (tmp_path / 'arp.conf').read_text()


def test_vlan_interface_key_uses_a_slash():
    assert arp_sysctl.sysctl_key('eth0.100', 'arp_ignore') == 'net.ipv4.conf.eth0/100.arp_ignore'


def refuse_writes(monkeypatch, under, error):
    """Make open() for writing under the path under raise error, as the kernel does for a user without root."""
    def refusing_open(path, mode='r', *args, **kwargs):
        if 'w' in mode and str(path).startswith(str(under)):
            raise error
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(_sysctl, 'open', refusing_open, raising=False)


def test_without_root_the_live_write_fails_naming_the_key_and_what_is_needed(proc, tmp_path, run_module, monkeypatch):
    refuse_writes(monkeypatch, proc, PermissionError(errno.EACCES, 'Permission denied'))
    result = run_module(arp_sysctl.main, dict(interfaces=['all'], persist_file=str(tmp_path / 'arp.conf')))
    assert result['failed'] and not result['changed']
    assert result['msg'] == (
        'setting net.ipv4.conf.all.arp_ignore to 1 (writing %s) failed: Permission denied; this needs root on the '
        'target: run the task with become: true.' % (proc / 'all' / 'arp_ignore'))
    assert not (tmp_path / 'arp.conf').exists()


def test_a_read_only_proc_says_so(proc, tmp_path, run_module, monkeypatch):
    refuse_writes(monkeypatch, proc / 'all' / 'arp_announce', OSError(errno.EROFS, 'Read-only file system'))
    result = run_module(arp_sysctl.main, dict(interfaces=['all'], persist=False))
    assert result['failed'] and result['changed'] and result['changed_keys'] == ['net.ipv4.conf.all.arp_ignore']
    assert result['msg'].endswith('failed: Read-only file system; the file system is read-only here (inside a '
                                  'container, the container must be privileged).')


def test_without_root_the_persist_file_fails_naming_the_file(proc, tmp_path, run_module, monkeypatch):
    def refusing_mkstemp(**_options):
        raise PermissionError(errno.EACCES, 'Permission denied')
    monkeypatch.setattr(_persist.tempfile, 'mkstemp', refusing_mkstemp)
    target = tmp_path / 'sysctl.d' / 'arp.conf'
    result = run_module(arp_sysctl.main, dict(interfaces=['all'], persist_file=str(target)))
    assert result['failed'] and result['changed']
    assert result['msg'] == ('writing %s failed: Permission denied; this needs root on the target: run the task '
                             'with become: true.' % target)


def test_without_root_removing_the_persist_file_fails_naming_the_file(proc, tmp_path, run_module, monkeypatch):
    target = tmp_path / 'arp.conf'
    target.write_text('net.ipv4.conf.all.arp_ignore = 1\n')

    def refusing_remove(path):
        raise PermissionError(errno.EPERM, 'Operation not permitted')
    monkeypatch.setattr(_persist.os, 'remove', refusing_remove)
    result = run_module(arp_sysctl.main, dict(interfaces=['all'], state='absent', persist_file=str(target)))
    assert result['failed'] and not result['changed']
    assert result['msg'].startswith('removing %s failed: Operation not permitted; this needs root' % target)
