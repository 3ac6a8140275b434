# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that make live kernel state survive a reboot, written only when their content changes.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import os
import re
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
    """Remove path if it exists; return whether it did (or, in check mode, would)."""
    if not os.path.lexists(path):
        return False
    if not module.check_mode:
        os.remove(path)
    return True


def file_diff(path, before, after):
    """Return one Ansible diff entry for a file whose content goes from before to after (None = absent)."""
    return {'before_header': path, 'after_header': path, 'before': before or '', 'after': after or ''}


SYSTEMD_UNITS = '/etc/systemd/system'


def valid_unit_name(name):
    """Return whether name is a service unit's file name (no directory), such as lvs-cluster-ipvs.service."""
    return bool(re.match(r'^[\w.@:-]+\.service$', name))


def unit_enabled(module, systemctl, name):
    """Return whether systemd starts the unit at boot (systemctl is-enabled; a missing unit is not enabled)."""
    rc, out, _err = module.run_command([systemctl, 'is-enabled', name], environ_update={'LANG': 'C', 'LC_ALL': 'C'})
    return rc == 0 and out.strip() in ('enabled', 'enabled-runtime', 'static', 'alias')


def install_unit(module, name, content):
    """Write /etc/systemd/system/<name> unless it holds content already, and enable it unless it is enabled.

    Returns (changed, diff entries: the unit file, and its enablement when that changes); in check mode nothing is written or run and changed predicts the
    real run. A unit the user disabled by hand is enabled again (that is drift). The running systemd is told of a
    new or changed file (daemon-reload) only when it is running (not in a chroot or a container without it).
    """
    path = os.path.join(SYSTEMD_UNITS, name)
    systemctl = module.get_bin_path('systemctl', required=True)
    before = read_text(path)
    written = write_if_changed(module, path, content)
    enabled = before is not None and unit_enabled(module, systemctl, name)
    if not module.check_mode:
        if written and os.path.isdir('/run/systemd/system'):
            module.run_command([systemctl, 'daemon-reload'], check_rc=True)
        if not enabled:
            module.run_command([systemctl, 'enable', name], check_rc=True)
    diffs = [file_diff(path, before, content)]
    if not enabled:
        diffs.append({'before_header': name, 'after_header': name, 'before': 'disabled\n', 'after': 'enabled\n'})
    return written or not enabled, diffs
