#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: config_files
short_description: Several files, symbolic links and directories in one task, each changed only where it differs
version_added: 0.1.0
description:
  - Brings each entry of O(files) to its state, in list order, the way one M(ansible.builtin.copy) or
    M(ansible.builtin.file) task would, but in one task and one module run whatever their number. Where a module
    run costs seconds (a slow link, an emulated host), this is the difference, since the copy and template actions run
    two modules per file even when nothing changes (the checksum, then the file's attributes).
  - A file gets the whole of O(files[].content), written to a temporary file beside it, checked with
    O(files[].validate) when given, and renamed over it; its mode, owner and group are set when they differ. Render
    a template on the controller with the P(ansible.builtin.template#lookup) lookup and pass the text.
  - Missing parent directories are created (mode 0755, owned by the task's user).
  - Every entry is checked before anything changes. When an entry fails while being applied (its check rejects the
    new content, or a write is refused), the entries before it stay applied and RV(changed_paths) lists them, as a
    task per file would have left them.
  - The roles of this collection install their configuration with it, and use RV(changed_paths) to reload or
    restart only what a changed file concerns.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
options:
  files:
    description: The files, links and directories, applied in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The absolute path of the file, link or directory.
        type: path
        required: true
      state:
        description:
          - V(file) is a regular file holding O(files[].content); a link or another file type there is replaced.
          - V(link) is a symbolic link to O(files[].src); a file or link there is replaced, a directory is not.
          - V(directory) is a directory (and its missing parents).
          - V(absent) is nothing there; a directory goes with everything in it.
        type: str
        choices: [file, link, directory, absent]
        default: file
      content:
        description: The whole text of the file; required for O(files[].state=file), and only for it.
        type: str
      src:
        description: The target of the link, as the link will hold it; required for O(files[].state=link), and only
          for it.
        type: path
      mode:
        description:
          - The permissions of a file or directory, as an octal string such as V('0640') (quote it, as for
            M(ansible.builtin.file)).
          - Defaults to V('0644') for a file and V('0755') for a directory. Not for a link or V(absent).
        type: raw
      owner:
        description: The user that owns a file or directory; when not given, an existing one keeps its owner and a new
          one belongs to the task's user.
        type: str
      group:
        description: The group of a file or directory, as for O(files[].owner).
        type: str
      validate:
        description:
          - A command that checks new content before it replaces the file, with V(%s) where the path of the
            temporary file goes (it has the mode, owner and group of the file to be). The file is left as it was
            when the command exits non-zero.
          - Runs only when the content changes, and not in check mode, as for M(ansible.builtin.copy).
        type: str
notes:
  - "Needs the privilege to write the paths (for anything under C(/etc): C(become: true))."
  - Text only; for binary or large files, use M(ansible.builtin.copy).
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
  - module: lvs.cluster.teardown
"""

EXAMPLES = r"""
- name: keepalived's configuration, checked before it replaces the live file, and a systemd drop-in, in one call
  lvs.cluster.config_files:
    files:
      - path: /etc/keepalived/keepalived.conf
        content: "{{ lookup('ansible.builtin.template', 'keepalived.conf.j2') }}"
        mode: "0640"
        validate: keepalived -t -f %s
      - path: /etc/systemd/system/keepalived.service.d/override.conf
        content: |
          [Service]
          Restart=on-failure
  register: keepalived_files

- name: Reload keepalived only when its configuration changed, and systemd only when the drop-in did
  ansible.builtin.systemd_service:
    name: keepalived
    state: "{{ 'reloaded' if '/etc/keepalived/keepalived.conf' in keepalived_files.changed_paths else 'started' }}"
    daemon_reload: "{{ keepalived_files.changed_paths | select('search', '[.]service[.]d/') | list | length > 0 }}"

- name: A web page and a second URL for it
  lvs.cluster.config_files:
    files:
      - path: /var/www/html/index.html
        content: "{{ inventory_hostname }}\n"
      - path: /var/www/html/health.html
        state: link
        src: /var/www/html/index.html
"""

RETURN = r"""
changed_paths:
  description: The paths that changed (or, in check mode, would), in the order of O(files).
  returned: always
  type: list
  elements: str
  sample: [/etc/keepalived/keepalived.conf]
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._persist import file_diff, read_text, remove_if_present

DEFAULT_MODES = {'file': 0o644, 'directory': 0o755}
# What each state takes beyond path and state; the other options are refused for it.
TAKES = {'file': ('content', 'mode', 'owner', 'group', 'validate'), 'link': ('src',),
         'directory': ('mode', 'owner', 'group'), 'absent': ()}
REQUIRES = {'file': 'content', 'link': 'src'}


class BadEntry(Exception):
    """An entry of files that cannot be applied: the message names the option, the value and what is accepted."""


def parse_mode(value):
    """Return the permission bits of an octal string (or of an int, as YAML reads an unquoted 0640), or raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    bits = value if isinstance(value, int) else int(str(value), 8)
    if not 0 <= bits <= 0o7777:
        raise ValueError(value)
    return bits


def checked_entry(index, entry):
    """Return the entry with its mode as bits and its owner and group as ids (None: keep), or raise BadEntry."""
    where = 'files[%d]' % index
    state, path = entry['state'], entry['path']
    if not os.path.isabs(path) or path.rstrip('/') == '':
        raise BadEntry('%s.path: %r is not valid; expected an absolute path other than /' % (where, path))
    for option in ('content', 'src', 'mode', 'owner', 'group', 'validate'):
        if entry[option] is not None and option not in TAKES[state]:
            raise BadEntry('%s.%s: given for state=%s (%s); it applies to %s' % (
                where, option, state, path, ' and '.join('state=%s' % name for name in TAKES if option in TAKES[name])))
    if state in REQUIRES and entry[REQUIRES[state]] is None:
        raise BadEntry('%s.%s: missing for %s; state=%s needs it' % (where, REQUIRES[state], path, state))
    if entry['validate'] is not None and '%s' not in entry['validate']:
        raise BadEntry('%s.validate: %r has no %%s; expected a command with %%s where the file to check goes' % (
            where, entry['validate']))
    checked = dict(entry, mode=None, uid=None, gid=None)
    if state in DEFAULT_MODES:
        try:
            checked['mode'] = DEFAULT_MODES[state] if entry['mode'] is None else parse_mode(entry['mode'])
        except ValueError:
            raise BadEntry("%s.mode: %r is not valid; expected an octal string such as '0640'" % (where, entry['mode']))
    for option, lookup, key, kind in (('owner', pwd.getpwnam, 'uid', 'user'), ('group', grp.getgrnam, 'gid', 'group')):
        if entry[option] is not None:
            try:
                checked[key] = lookup(entry[option])[2]
            except KeyError:
                raise BadEntry('%s.%s: %r is not a %s on this host; expected an existing %s name' % (
                    where, option, entry[option], kind, kind))
    return checked


def describe(path):
    """Return one line saying what is at path: its type, and for a file or directory its mode, owner and group."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return '%s: absent\n' % path
    if stat.S_ISLNK(info.st_mode):
        return '%s: link to %s\n' % (path, os.readlink(path))
    kind = 'directory' if stat.S_ISDIR(info.st_mode) else 'file' if stat.S_ISREG(info.st_mode) else 'other'
    return attribute_line(path, kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


def attribute_line(path, kind, mode, uid, gid):
    """Return the line of a file or directory with its mode, owner and group, as the diff shows it."""
    return '%s: %s, mode %04o, owner %s, group %s\n' % (path, kind, mode, name_of(pwd.getpwuid, uid),
                                                        name_of(grp.getgrgid, gid))


def name_of(lookup, number):
    """Return the name of a user or group id, or the id when it has none."""
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def attributes_differ(path, entry):
    """Return whether the existing file or directory at path has another mode, owner or group than the entry's."""
    info = os.lstat(path)
    return (stat.S_IMODE(info.st_mode) != entry['mode'] or entry['uid'] not in (None, info.st_uid)
            or entry['gid'] not in (None, info.st_gid))


def set_attributes(path, entry):
    """Give path the entry's mode, owner and group (owner and group only where given)."""
    os.chown(path, -1 if entry['uid'] is None else entry['uid'], -1 if entry['gid'] is None else entry['gid'])
    os.chmod(path, entry['mode'])


def replace_with(path, make):
    """Make a new entry beside path with make(temporary path), then rename it over path (atomic on one file system)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.lvs-cluster-')
    os.close(handle)
    try:
        make(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.remove(temporary)


def owner_after(path, entry):
    """Return the (uid, gid) that path has once the entry is applied: the entry's, else the existing path's, else the
    task user's."""
    try:
        info = os.lstat(path)
        uid, gid = info.st_uid, info.st_gid
    except FileNotFoundError:
        uid, gid = os.geteuid(), os.getegid()
    return (uid if entry['uid'] is None else entry['uid'], gid if entry['gid'] is None else entry['gid'])


def planned(path, kind, entry):
    """Return the line describe() will print for path once the entry is applied."""
    return attribute_line(path, kind, entry['mode'], *owner_after(path, entry))


class ValidateFailed(Exception):
    """The entry's validate command rejected the new content."""


def apply_file(module, entry):
    """Write the file's content and attributes where they differ; return (changed, diff entries)."""
    path, content = entry['path'], entry['content']
    regular = os.path.isfile(path) and not os.path.islink(path)
    before = read_text(path) if regular else None
    if regular and before == content:
        if not attributes_differ(path, entry):
            return False, []
        diff = {'before_header': path, 'after_header': path, 'before': describe(path),
                'after': planned(path, 'file', entry)}
        if not module.check_mode:
            set_attributes(path, entry)
        return True, [diff]
    diff = file_diff(path, before if regular else None, content)
    if not regular and os.path.lexists(path):
        diff['before'] = describe(path)
    if not module.check_mode:
        # Like copy: a file replaced keeps its owner and group unless the entry names them.
        uid, gid = owner_after(path, entry) if regular else (entry['uid'], entry['gid'])
        owned = dict(entry, uid=uid, gid=gid)

        def write(temporary):
            with open(temporary, 'w') as stream:
                stream.write(content)
            set_attributes(temporary, owned)
            if entry['validate']:
                rc, out, err = module.run_command(entry['validate'] % temporary)
                if rc != 0:
                    raise ValidateFailed('%s: the new content failed its check %r (rc %d): %s; the file was left as '
                                         'it was' % (path, entry['validate'], rc, (err or out).strip()))
        replace_with(path, write)
    return True, [diff]


def apply_link(module, entry):
    """Point the link at src, replacing a file or link there; return (changed, diff entries)."""
    path, target = entry['path'], entry['src']
    if os.path.islink(path) and os.readlink(path) == target:
        return False, []
    if os.path.isdir(path) and not os.path.islink(path):
        raise BadEntry('%s is a directory; a link does not replace a directory (remove it with state=absent first)' % path)
    diff = {'before_header': path, 'after_header': path, 'before': describe(path),
            'after': '%s: link to %s\n' % (path, target)}
    if not module.check_mode:
        def link(temporary):
            os.remove(temporary)
            os.symlink(target, temporary)
        replace_with(path, link)
    return True, [diff]


def apply_directory(module, entry):
    """Create the directory or set its attributes where they differ; return (changed, diff entries)."""
    path = entry['path']
    exists = os.path.lexists(path)
    if exists and (os.path.islink(path) or not os.path.isdir(path)):
        raise BadEntry('%s is not a directory; remove it with state=absent first' % path)
    if exists and not attributes_differ(path, entry):
        return False, []
    line = describe(path)
    if not module.check_mode:
        os.makedirs(path, exist_ok=True)
        set_attributes(path, entry)
    return True, [{'before_header': path, 'after_header': path, 'before': line,
                   'after': planned(path, 'directory', entry)}]


def apply_absent(module, entry):
    """Remove what is at path; return (changed, diff entries)."""
    line = describe(entry['path'])
    if not remove_if_present(module, entry['path']):
        return False, []
    return True, [{'before_header': entry['path'], 'after_header': entry['path'], 'before': line, 'after': ''}]


APPLY = {'file': apply_file, 'link': apply_link, 'directory': apply_directory, 'absent': apply_absent}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                state=dict(type='str', choices=list(APPLY), default='file'),
                content=dict(type='str'),
                src=dict(type='path'),
                mode=dict(type='raw'),
                owner=dict(type='str'),
                group=dict(type='str'),
                validate=dict(type='str'),
            )),
        ),
        supports_check_mode=True,
    )
    try:
        entries = [checked_entry(index, entry) for index, entry in enumerate(module.params['files'])]
    except BadEntry as error:
        module.fail_json(msg=str(error))
    changed_paths, diffs = [], []
    for index, entry in enumerate(entries):
        try:
            changed, entry_diffs = APPLY[entry['state']](module, entry)
        except (BadEntry, ValidateFailed) as error:
            module.fail_json(msg='files[%d]: %s' % (index, error), changed=bool(changed_paths),
                             changed_paths=changed_paths)
        except OSError as error:
            module.fail_json(msg='files[%d]: %s failed: %s%s' % (
                index, entry['path'], error.strerror or error,
                '; run the task with become: true' if isinstance(error, PermissionError) else ''),
                changed=bool(changed_paths), changed_paths=changed_paths)
        if changed:
            changed_paths.append(entry['path'])
            diffs.extend(entry_diffs)
    result = dict(changed=bool(changed_paths), changed_paths=changed_paths)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
