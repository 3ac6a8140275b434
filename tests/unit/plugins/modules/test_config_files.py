"""config_files on files under tmp_path: write, link, directory, absent, attributes, check and diff mode, validate,
bad input that changes nothing."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.lvs.cluster.plugins.modules import config_files


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def wanted(tmp_path):
    """A file in a directory that does not exist yet, a link to it, a directory, and a path to remove."""
    (tmp_path / 'stale.conf').write_text('old\n')
    return dict(files=[
        dict(path=str(tmp_path / 'conf.d' / 'app.conf'), content='answer = 42\n', mode='0640'),
        dict(path=str(tmp_path / 'health.html'), state='link', src=str(tmp_path / 'conf.d' / 'app.conf')),
        dict(path=str(tmp_path / 'state'), state='directory', mode='0700'),
        dict(path=str(tmp_path / 'stale.conf'), state='absent'),
    ])


def test_check_mode_predicts_every_change_and_writes_nothing(wanted, tmp_path, run_module):
    result = run_module(config_files.main, wanted, check_mode=True, diff=True)
    assert result['changed'] and result['changed_paths'] == [entry['path'] for entry in wanted['files']]
    assert sorted(path.name for path in tmp_path.iterdir()) == ['stale.conf']
    assert result['diff'][0]['after'] == 'answer = 42\n' and result['diff'][0]['before'] == ''
    assert result['diff'][1]['after'].endswith('link to %s\n' % wanted['files'][0]['path'])
    assert result['diff'][3]['before'].startswith(str(tmp_path / 'stale.conf') + ': file, mode ')


def test_applies_every_entry_then_changes_nothing(wanted, tmp_path, run_module):
    result = run_module(config_files.main, wanted)
    assert result['changed_paths'] == [entry['path'] for entry in wanted['files']]
    assert (tmp_path / 'conf.d' / 'app.conf').read_text() == 'answer = 42\n'
    assert mode_of(tmp_path / 'conf.d' / 'app.conf') == 0o640 and mode_of(tmp_path / 'state') == 0o700
    assert os.readlink(tmp_path / 'health.html') == wanted['files'][0]['path']
    assert not (tmp_path / 'stale.conf').exists()
    assert not [path for path in (tmp_path / 'conf.d').iterdir() if path.name.startswith('.lvs-cluster-')]
    again = run_module(config_files.main, wanted, diff=True)
    assert not again['changed'] and again['changed_paths'] == [] and again['diff'] == []


def test_drift_by_hand_is_repaired_and_only_it_reported(wanted, tmp_path, run_module):
    run_module(config_files.main, wanted)
    os.chmod(tmp_path / 'conf.d' / 'app.conf', 0o666)
    (tmp_path / 'health.html').unlink()
    (tmp_path / 'health.html').write_text('a file where the link was\n')
    result = run_module(config_files.main, wanted, diff=True)
    assert result['changed_paths'] == [wanted['files'][0]['path'], wanted['files'][1]['path']]
    assert result['diff'][0]['before'].endswith('file, mode 0666, owner root, group root\n')
    assert result['diff'][0]['after'].endswith('file, mode 0640, owner root, group root\n')
    assert mode_of(tmp_path / 'conf.d' / 'app.conf') == 0o640 and (tmp_path / 'health.html').is_symlink()


def test_new_content_replaces_the_file_and_shows_both_texts(wanted, tmp_path, run_module):
    run_module(config_files.main, wanted)
    wanted['files'][0]['content'] = 'answer = 43\n'
    result = run_module(config_files.main, wanted, diff=True)
    assert result['changed_paths'] == [wanted['files'][0]['path']]
    assert (result['diff'][0]['before'], result['diff'][0]['after']) == ('answer = 42\n', 'answer = 43\n')


def test_validate_sees_the_new_content_and_a_rejection_keeps_the_file(tmp_path, run_module):
    conf = tmp_path / 'app.conf'
    conf.write_text('good\n')
    accepted = dict(path=str(conf), content='good too\n', validate='grep -q good %s')
    assert run_module(config_files.main, dict(files=[accepted]))['changed']
    rejected = dict(files=[dict(path=str(tmp_path / 'first.conf'), content='x\n'),
                           dict(path=str(conf), content='bad\n', validate='grep -q good %s')])
    result = run_module(config_files.main, rejected)
    assert result['failed'] and result['changed'] and result['changed_paths'] == [str(tmp_path / 'first.conf')]
    assert result['msg'].startswith("files[1]: %s: the new content failed its check 'grep -q good %%s' (rc 1)" % conf)
    assert conf.read_text() == 'good too\n' and not [path for path in tmp_path.iterdir() if path.name.startswith('.')]


def test_a_link_does_not_replace_a_directory(tmp_path, run_module):
    (tmp_path / 'dir').mkdir()
    result = run_module(config_files.main, dict(files=[dict(path=str(tmp_path / 'dir'), state='link', src='/x')]))
    assert result['failed'] and result['msg'] == ('files[0]: %s is a directory; a link does not replace a directory '
                                                  '(remove it with state=absent first)' % (tmp_path / 'dir'))


def test_a_refused_write_names_become(tmp_path, run_module, monkeypatch):
    def refuse(source, destination):
        raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(config_files.os, 'replace', refuse)
    result = run_module(config_files.main, dict(files=[dict(path=str(tmp_path / 'a.conf'), content='a\n')]))
    assert result['failed'] and not result['changed']
    assert result['msg'] == 'files[0]: %s failed: Permission denied; run the task with become: true' % (
        tmp_path / 'a.conf')


@pytest.mark.parametrize('entry, message', [
    (dict(path='relative.conf', content=''), "files[1].path: 'relative.conf' is not valid; expected an absolute path"),
    (dict(path='/etc/x', state='link'), 'files[1].src: missing for /etc/x; state=link needs it'),
    (dict(path='/etc/x'), 'files[1].content: missing for /etc/x; state=file needs it'),
    (dict(path='/etc/x', state='link', src='/y', mode='0644'),
     'files[1].mode: given for state=link (/etc/x); it applies to state=file and state=directory'),
    (dict(path='/etc/x', content='', mode='rw-r--r--'),
     "files[1].mode: 'rw-r--r--' is not valid; expected an octal string such as '0640'"),
    (dict(path='/etc/x', content='', mode='01777777'),
     "files[1].mode: '01777777' is not valid; expected an octal string such as '0640'"),
    (dict(path='/etc/x', content='', owner='no-such-user-here'),
     "files[1].owner: 'no-such-user-here' is not a user on this host; expected an existing user name"),
    (dict(path='/etc/x', content='', validate='keepalived -t'),
     "files[1].validate: 'keepalived -t' has no %s; expected a command with %s where the file to check goes"),
])
def test_bad_input_names_the_entry_and_changes_nothing(entry, message, tmp_path, run_module):
    result = run_module(config_files.main, dict(files=[dict(path=str(tmp_path / 'first.conf'), content='x\n'), entry]))
    assert result['failed'] and result['msg'].startswith(message)
    assert not (tmp_path / 'first.conf').exists()
