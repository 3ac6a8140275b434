"""kernel_modules against a fake /sys/module and a fake modprobe: load what is missing, persist, check mode."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.modules import kernel_modules


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """/sys/module with ip_vs loaded; modprobe NAME adds /sys/module/NAME (refused for names in kernel.refuse)."""
    root = tmp_path / 'module'
    (root / 'ip_vs').mkdir(parents=True)
    calls, refuse = [], set()

    def modprobe(module, name):
        calls.append(name)
        if name in refuse:
            return 1, 'modprobe: FATAL: Module %s not found in directory /lib/modules/6.1.0\n' % name
        (root / name.replace('-', '_')).mkdir()
        return 0, ''
    monkeypatch.setattr(kernel_modules, 'SYS_MODULE', str(root))
    monkeypatch.setattr(kernel_modules, 'modprobe', modprobe)
    return root, calls, refuse


def test_loads_what_is_missing_persists_all_then_is_idempotent(kernel, tmp_path, run_module):
    root, calls, _refuse = kernel
    args = dict(names=['ipip', 'ip_vs'], persist_file=str(tmp_path / 'lvs.conf'))
    checked = run_module(kernel_modules.main, args, check_mode=True, diff=True)
    assert checked['changed'] and checked['loaded'] == ['ipip'] and checked['persisted_changed']
    assert not calls and not (tmp_path / 'lvs.conf').exists()
    assert checked['diff'][0] == {'before_header': 'loaded', 'after_header': 'loaded', 'before': 'ip_vs\n',
                                  'after': 'ipip\nip_vs\n'}
    applied = run_module(kernel_modules.main, args)
    assert applied['loaded'] == ['ipip'] and calls == ['ipip'] and (root / 'ipip').is_dir()
    assert (tmp_path / 'lvs.conf').read_text() == '# Managed by lvs.cluster.kernel_modules\nipip\nip_vs\n'
    again = run_module(kernel_modules.main, args)
    assert not again['changed'] and again['loaded'] == [] and calls == ['ipip']


def test_a_file_changed_by_hand_is_rewritten(kernel, tmp_path, run_module):
    target = tmp_path / 'lvs.conf'
    run_module(kernel_modules.main, dict(names=['ip_vs'], persist_file=str(target)))
    target.write_text('')
    result = run_module(kernel_modules.main, dict(names=['ip_vs'], persist_file=str(target)))
    assert result['changed'] and result['persisted_changed'] and result['loaded'] == []


def test_a_refused_load_fails_naming_the_module_and_writes_no_file(kernel, tmp_path, run_module):
    _root, _calls, refuse = kernel
    refuse.add('nosuch')
    result = run_module(kernel_modules.main, dict(names=['ipip', 'nosuch'], persist_file=str(tmp_path / 'x.conf')))
    assert result['failed'] and result['changed'] and result['loaded'] == ['ipip']
    assert result['msg'].startswith('modprobe nosuch failed (rc 1): modprobe: FATAL: Module nosuch not found')
    assert not (tmp_path / 'x.conf').exists()


@pytest.mark.parametrize('name', ['../ipip', 'ipip ip_vs', ''])
def test_bad_names_change_nothing(kernel, tmp_path, run_module, name):
    _root, calls, _refuse = kernel
    result = run_module(kernel_modules.main, dict(names=['ipip', name], persist_file=str(tmp_path / 'x.conf')))
    assert result['failed'] and result['parameter'] == 'names[1]' and not calls
    assert not (tmp_path / 'x.conf').exists()


def test_absent_removes_the_file_and_unloads_nothing(kernel, tmp_path, run_module):
    _root, calls, _refuse = kernel
    target = tmp_path / 'lvs.conf'
    run_module(kernel_modules.main, dict(names=['ipip'], persist_file=str(target)))
    removed = run_module(kernel_modules.main, dict(names=['ipip'], state='absent', persist_file=str(target)))
    assert removed['changed'] and removed['persisted_changed'] and not target.exists() and calls == ['ipip']
    assert not run_module(kernel_modules.main, dict(names=['ipip'], state='absent', persist_file=str(target)))['changed']
