# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that make live kernel state survive a reboot, written only when their content changes.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile


def read_text(path):
    """Return the file's content, or None when it does not exist."""
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_if_changed(module, path, content, mode=0o644):
    """Write content to path atomically unless it is there already; return whether it changed.

    In check mode nothing is written and the return value predicts the real run.
    """
    if read_text(path) == content:
        return False
    if module.check_mode:
        return True
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.lvs-cluster-')
    with os.fdopen(handle, 'w') as stream:
        stream.write(content)
    os.chmod(temporary, mode)
    module.atomic_move(temporary, path)
    return True


def remove_if_present(module, path):
    """Remove path (a file, a link, or a directory with what it holds) if it exists; return whether it did (or, in
    check mode, would)."""
    if not os.path.lexists(path):
        return False
    if not module.check_mode:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return True


def file_diff(path, before, after):
    """Return one Ansible diff entry for a file whose content goes from before to after (None = absent)."""
    return {'before_header': path, 'after_header': path, 'before': before or '', 'after': after or ''}


SYSTEMD_UNITS = '/etc/systemd/system'
SYSTEMD_RUNNING = '/run/systemd/system'
# What systemctl is-enabled prints for a unit that starts at boot.
ENABLED = ('enabled', 'enabled-runtime', 'static', 'alias')
# The ActiveState of a unit that systemctl stop has something to stop in.
RUNNING = ('active', 'activating', 'reloading')


def valid_unit_name(name):
    """Return whether name is a service unit's file name (no directory), such as lvs-cluster-ipvs.service."""
    return bool(re.match(r'^[\w.@:-]+\.service$', name))


def oneshot_unit(written_by, description, exec_start, unit_lines):
    """Return the text of a oneshot service unit that runs exec_start at boot (unit_lines: After=, Before=, ...)."""
    return ('# Written by %s\n[Unit]\nDescription=%s\n%s\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n'
            'ExecStart=%s\n\n[Install]\nWantedBy=multi-user.target\n') % (
                written_by, description, '\n'.join(unit_lines), exec_start)


def systemctl(module, *args):
    """Run systemctl with args in the C locale; return (rc, stdout). The one place the modules talk to systemd."""
    command = [module.get_bin_path('systemctl', required=True)] + list(args)
    rc, out, _err = module.run_command(command, environ_update={'LANG': 'C', 'LC_ALL': 'C'})
    return rc, out


def unit_path(name):
    """Return the path of the unit file of name under /etc/systemd/system."""
    return os.path.join(SYSTEMD_UNITS, name)


def install_unit(module, name, content, changed=False):
    """Write /etc/systemd/system/<name> unless it holds content already, and enable it unless it is enabled.

    Returns (changed, diff entries: the unit file, and its enablement when that changes); in check mode nothing is
    written or changed (systemctl is-enabled only reads) and changed predicts the real run. A unit disabled by hand
    is enabled again (that is drift). The running systemd is told of a new or changed file (daemon-reload) only when
    systemd runs (not in a chroot). A file that cannot be read or written fails the task with one sentence (changed:
    what the caller changed before).
    """
    path = unit_path(name)
    try:
        before = read_text(path)
        written = write_if_changed(module, path, content)
    except OSError as error:
        module.fail_json(msg='installing %s failed: %s; run the task with become: true (it writes under /etc)' % (
            name, error.strerror or error), changed=changed)
    enabled = before is not None and systemctl(module, 'is-enabled', name)[1].strip() in ENABLED
    if not module.check_mode:
        for args in ([('daemon-reload',)] if written and os.path.isdir(SYSTEMD_RUNNING) else []) + \
                ([('enable', name)] if not enabled else []):
            rc, out = systemctl(module, *args)
            if rc != 0:
                module.fail_json(msg='systemctl %s failed (rc %d): %s' % (' '.join(args), rc, out.strip()),
                                 changed=True)
    diffs = [file_diff(path, before, content)]
    if not enabled:
        diffs.append({'before_header': name, 'after_header': name, 'before': 'disabled\n', 'after': 'enabled\n'})
    return written or not enabled, diffs


def unit_states(module, names):
    """Return {name: (running, enabled)} of each unit, read with one systemctl show; an unknown unit is neither."""
    rc, out = systemctl(module, 'show', '--property=ActiveState,UnitFileState', '--', *names)
    if rc != 0:
        module.fail_json(msg='systemctl show %s failed (rc %d): %s' % (' '.join(names), rc, out.strip()))
    blocks = [dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
              for block in out.strip('\n').split('\n\n')]
    blocks += [{}] * (len(names) - len(blocks))
    return {name: (block.get('ActiveState') in RUNNING, block.get('UnitFileState') == 'enabled')
            for name, block in zip(names, blocks)}


def remove_units_and_paths(module, units, paths):
    """Stop and disable units, remove paths (files, links, directory trees), and reload systemd when a unit file
    under /etc/systemd/system went.

    Returns (stopped, disabled, removed): the units stopped, the units disabled, the paths removed. In check mode
    nothing changes and the lists predict the real run. A unit or path that is not there is already gone.
    """
    states = unit_states(module, units) if units else {}
    stopped = [name for name in units if states[name][0]]
    disabled = [name for name in units if states[name][1]]
    for verb, names in (('stop', stopped), ('disable', disabled)):
        if names and not module.check_mode:
            rc, out = systemctl(module, verb, '--', *names)
            if rc != 0:
                module.fail_json(msg='systemctl %s %s failed (rc %d): %s' % (verb, ' '.join(names), rc, out.strip()),
                                 changed=verb == 'disable' and bool(stopped))
    removed = []
    for path in paths:
        try:
            if remove_if_present(module, path):
                removed.append(path)
        except OSError as error:
            module.fail_json(msg='removing %s failed: %s%s' % (
                path, error.strerror or error,
                '; run the task with become: true' if error.errno in (errno.EACCES, errno.EPERM) else ''),
                changed=bool(stopped or disabled or removed), removed=removed)
    unit_dir = SYSTEMD_UNITS.rstrip('/') + '/'
    if not module.check_mode and os.path.isdir(SYSTEMD_RUNNING) and \
            any(path.startswith(unit_dir) for path in removed):
        rc, out = systemctl(module, 'daemon-reload')
        if rc != 0:
            module.fail_json(msg='systemctl daemon-reload failed (rc %d): %s' % (rc, out.strip()), changed=True)
    return stopped, disabled, removed
