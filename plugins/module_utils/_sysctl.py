# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel parameters (sysctl keys) set live under /proc/sys and persisted in one file under /etc/sysctl.d.

The modules arp_sysctl and sysctl check their own options, then hand the wanted keys to converge(), which reads
the live values, plans what differs, writes only that (not in check mode), then writes or removes the file.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager

from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    file_diff, read_text, remove_if_present, write_if_changed,
)

PROC_SYS = '/proc/sys'
ADVICE = {
    errno.EACCES: 'this needs root on the target: run the task with become: true',
    errno.EPERM: 'this needs root on the target: run the task with become: true',
    errno.EROFS: 'the file system is read-only here (inside a container, the container must be privileged)',
}


@contextmanager
def step(module, what, **result):
    """Run the block; turn an OSError in it into a failed task naming what was being done (and result)."""
    try:
        yield
    except OSError as error:
        advice = ADVICE.get(error.errno)
        module.fail_json(msg='%s failed: %s%s.' % (what, error.strerror or error, '; ' + advice if advice else ''),
                         **result)


def key_path(key, root=None):
    """Return the /proc/sys file of a sysctl.conf key: dots separate, a slash stands for a dot in a name."""
    parts = [part.replace('/', '.') for part in key.split('.')]
    return os.path.join(root or PROC_SYS, *parts)


def normal(value):
    """Return a value as the kernel prints it, whitespace collapsed (so '4096  8192' equals '4096\\t8192')."""
    return ' '.join(str(value).split())


def read_live(key, root=None):
    """Return the key's live value (normalised), or None when the key does not exist here."""
    try:
        with open(key_path(key, root)) as handle:
            return normal(handle.read())
    except FileNotFoundError:
        return None


def render(values, header):
    """Return the sysctl.conf text of values ({key: value}) under a header comment."""
    return '# Managed by %s\n' % header + ''.join('%s = %s\n' % (key, value) for key, value in values.items())


def converge(module, wanted, persist_file, persist=True, absent=False, header='lvs.cluster', root=None):
    """Bring the live keys and persist_file to wanted ({key: value}); return the result the modules report.

    Keys whose live value is None (missing here) are left alone live; the caller decides beforehand whether a
    missing key is an error. With absent, persist_file is removed (the live values are still set to wanted).
    The result holds changed, changed_keys, live_values (after the task), persisted_changed, and diff (live,
    then the file) when the task runs in diff mode.
    """
    wanted = dict((key, normal(value)) for key, value in wanted.items())
    with step(module, 'reading %s' % (root or PROC_SYS)):
        live = dict((key, read_live(key, root)) for key in wanted)
    changes = [key for key, value in wanted.items() if live[key] is not None and live[key] != value]
    if not module.check_mode:
        for index, key in enumerate(changes):
            target = key_path(key, root)
            with step(module, 'setting %s to %s (writing %s)' % (key, wanted[key], target),
                      changed=index > 0, changed_keys=changes[:index]):
                with open(target, 'w') as handle:
                    handle.write('%s\n' % wanted[key])

    keys_changed = dict(changed=bool(changes), changed_keys=list(changes))
    with step(module, 'reading %s' % persist_file, **keys_changed):
        before_file = after_file = read_text(persist_file)
    persisted = False
    if absent:
        after_file = None
        with step(module, 'removing %s' % persist_file, **keys_changed):
            persisted = remove_if_present(module, persist_file)
    elif persist:
        after_file = render(wanted, header)
        with step(module, 'writing %s' % persist_file, **keys_changed):
            persisted = write_if_changed(module, persist_file, after_file)

    after = dict(live)
    after.update((key, wanted[key]) for key in changes)
    result = dict(changed=bool(changes) or persisted, changed_keys=list(changes), live_values=after,
                  persisted_changed=persisted)
    if module._diff:
        shown = dict((key, value) for key, value in live.items() if value is not None)
        result['diff'] = [
            {'before_header': 'live', 'after_header': 'live',
             'before': ''.join('%s = %s\n' % item for item in shown.items()),
             'after': ''.join('%s = %s\n' % item for item in after.items() if item[1] is not None)},
            file_diff(persist_file, before_file, after_file)]
    return result
