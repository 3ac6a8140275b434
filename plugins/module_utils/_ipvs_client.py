# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one IPVS client every lvs.cluster module goes through: pick a backend, read, plan, apply.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import gc
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import replace

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import (
    ApplyError, IPVSError, ParameterError,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_ipvsadm import IpvsadmBackend
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import SCHEDULERS, rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import NetlinkBackend
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_SERVICE, DELETE_REALSERVER, DELETE_SERVICE, EDIT_REALSERVER, EDIT_SERVICE, Change, apply_to_table, table_diff,
    undo_changes,
)

SYS_MODULE_DIR = '/sys/module'
KERNEL_MODULES_DIR = '/lib/modules'


def disable_cyclic_gc():
    """Switch the cyclic garbage collector off for the rest of this short-lived module process.

    A whole table is about 10^5 objects without reference cycles (reference counting frees them);
    the collector's repeated full passes over them took a third of a no-op ipvs_table run on a
    keepalived-#2318-sized table (benchmarks/profile_table.py). Call it first in main().
    """
    gc.disable()


def load_ip_vs(module):
    """Load the ip_vs kernel module when it is missing, as ipvsadm itself does; a failure is left to the backend.

    The scheduler modules (ip_vs_wrr, ...) need no loading: the kernel loads them when a service names them.
    """
    modprobe = module.get_bin_path('modprobe', opt_dirs=['/sbin', '/usr/sbin'])
    if modprobe and not os.path.isdir(os.path.join(SYS_MODULE_DIR, 'ip_vs')):
        module.run_command([modprobe, '-q', 'ip_vs'])


NEEDS_IPVSADM = 'the ipvsadm command on the target: install the Debian package ipvsadm'


def open_backend(module):
    """Return the backend that module.params['backend'] asks for, or fail the module saying what to install."""
    load_ip_vs(module)
    choice = module.params['backend']
    if choice in ('auto', 'netlink'):
        return NetlinkBackend()
    if module.get_bin_path('ipvsadm') is None:
        module.fail_json(msg='backend=ipvsadm needs %s.' % NEEDS_IPVSADM)
    return IpvsadmBackend(module)


def scheduler_available(name):
    """Tell whether the kernel has, or can load, the ip_vs_<name> scheduler module."""
    if os.path.isdir(os.path.join(SYS_MODULE_DIR, 'ip_vs_' + name)):
        return True
    release_dir = os.path.join(KERNEL_MODULES_DIR, platform.release())
    for listing in ('modules.dep', 'modules.builtin'):
        try:
            with open(os.path.join(release_dir, listing)) as handle:
                if '/ip_vs_%s.ko' % name in handle.read():
                    return True
        except (IOError, OSError):
            continue
    return False


def check_schedulers(changes):
    """Fail before any write when a change needs a scheduler the kernel does not have."""
    available = {}
    for change in changes:
        if change.action not in (ADD_SERVICE, EDIT_SERVICE):
            continue
        if change.service.scheduler not in available:
            available[change.service.scheduler] = scheduler_available(change.service.scheduler)
        if not available[change.service.scheduler]:
            loaded = [name for name in SCHEDULERS if os.path.isdir(os.path.join(SYS_MODULE_DIR, 'ip_vs_' + name))]
            raise ParameterError(
                'scheduler', change.service.scheduler,
                'the kernel module ip_vs_%s is neither loaded nor installed; load it with "modprobe ip_vs_%s" on the '
                'host or choose one of the loaded schedulers: %s' % (change.service.scheduler,
                                                                     change.service.scheduler,
                                                                     ', '.join(loaded) or 'none'))


def check_backend(backend, changes):
    """Fail before any write, in check mode too, when a change needs what the backend cannot write."""
    for change in changes:
        member = change.realserver
        if member is not None and change.action != DELETE_REALSERVER and member.forwarding == 'tun' \
                and member.tunnel_type in backend.unwritable_tunnel_types:
            raise ParameterError('tunnel_type', member.tunnel_type,
                                 'the %s backend cannot write %s tunnels (real server %s of service %s); use backend: '
                                 'netlink' % (backend.name, member.tunnel_type.upper(), member.target()[3:],
                                              change.service.key))


def validated(module, build):
    """Return build(), or fail the module with the ParameterError's message before anything is read or written."""
    try:
        return build()
    except ParameterError as error:
        module.fail_json(msg=str(error), parameter=error.name)


@contextmanager
def connected(module):
    """Yield the chosen backend; turn its errors into failed tasks with readable messages; close it."""
    backend = None
    try:
        backend = open_backend(module)
        yield backend
    except ParameterError as error:
        module.fail_json(msg=str(error), parameter=error.name)
    except IPVSError as error:
        module.fail_json(msg=str(error))
    finally:
        if backend is not None:
            backend.close()


def drain(backend, changes, timeout, poll=1.0):
    """Set the real servers that changes delete to weight 0, then wait until none has an active connection.

    Returns (the weight-0 edits made, the drained real servers in ipvsadm's words, "-t VIP:PORT -r RIP:PORT",
    seconds waited). Stops waiting after timeout seconds: the deletions then break what is left.
    """
    members = []
    for change in changes:
        if change.action == DELETE_REALSERVER:
            members.append((change.service, change.realserver))
        elif change.action == DELETE_SERVICE:
            members.extend((change.service, realserver) for realserver in change.service.realservers.values())
    edits = [Change(EDIT_REALSERVER, service, replace(realserver, weight=0))
             for service, realserver in members if realserver.weight]
    if edits:
        backend.apply(edits)
    keys = set((service.key, realserver.key) for service, realserver in members)
    started = time.monotonic()
    while keys:
        table = backend.read_table(stats=False)
        active = sum(member.active_connections for service_key, realserver_key in keys
                     for member in [table.get(service_key) and table[service_key].realservers.get(realserver_key)]
                     if member)
        if active == 0 or time.monotonic() - started >= timeout:
            break
        time.sleep(poll)
    drained = ['%s %s' % (service.key.switches(), realserver.target()) for service, realserver in members]
    return edits, drained, round(time.monotonic() - started, 1)


def run(module, plan, describe, stats=True, drain_timeout=0):
    """Run an IPVS module: read the live table, plan, check, apply unless in check mode, report.

    plan(live_table) returns (changes, keys of the services the diff shows; None for all).
    describe(table) returns the module-specific part of the result from the table after the run
    (with changed=True if it changed something besides the table, such as a file).

    The table after the run is the live table with the changes applied, in check mode as after
    a write: the backend applies every change or raises (a refusal fails the task after
    apply_all_or_nothing has undone the rest), so the table is not read back. Counters
    of what the changes left alone are those just read; new services and real servers have none.
    With stats=False, the table is read without traffic stats (less to read and hold), for a
    describe() that does not report them. With drain_timeout, the real servers the changes delete
    are drained first (see drain()), and the result says which and how long it waited.
    """
    with connected(module) as backend:
        live = backend.read_table(stats=stats)
        changes, diff_keys = plan(live)
        check_schedulers(changes)
        check_backend(backend, changes)
        after = apply_to_table(live, changes)
        result = dict(backend=backend.name, commands=[change.rule() for change in changes])
        if changes and not module.check_mode:
            drained = []
            if drain_timeout:
                drained, result['drained'], result['drain_seconds'] = drain(backend, changes, drain_timeout)
            failure = apply_all_or_nothing(backend, live, changes, drained)
            if failure:
                module.fail_json(**failure)
        result.update(describe(after))
        result['changed'] = bool(changes) or result.get('changed', False)
        if module._diff:
            result['diff'] = table_diff(live, after, diff_keys)
        module.exit_json(**result)


def apply_all_or_nothing(backend, live, changes, drained=()):
    """Apply changes to the table read as live; return None, or the failed task's result if one is refused.

    The changes the kernel made before the refusal (or, pipelined, after it) are undone, the last first,
    with drained (the weight-0 edits of a drain made before), and the services the plan names are read
    back: the result says changed=False only if they are as they were, in ipvsadm-save form (or if the
    kernel made none of the changes).
    """
    try:
        backend.apply(changes)
        return None
    except ApplyError as error:
        failure = error
    applied = list(drained) + failure.applied
    undo = undo_changes(live, applied)
    touched = set(change.service.key for change in changes)

    def saved(table):
        return rules(service for key, service in table.items() if key in touched)

    if not applied:
        return dict(msg='%s; nothing was changed.' % failure, changed=False, applied=[], undone=[])
    try:
        backend.apply(undo)
        restored = saved(backend.read_table(stats=False)) == saved(live)
        trouble = '' if restored else 'the table read back differs from the table before the task'
    except IPVSError as error:
        restored, trouble = False, str(error)
    made = '%d change%s the task had made' % (len(applied), '' if len(applied) == 1 else 's')
    if restored:
        outcome = 'the %s %s undone, the last first: the table is as it was' % (
            made, 'was' if len(applied) == 1 else 'were')
    else:
        outcome = 'undoing the %s failed (%s): the table is left changed; lvs.cluster.ipvs_info shows it' % (
            made, trouble)
    return dict(msg='%s; %s.' % (failure, outcome), changed=not restored,
                applied=[change.rule() for change in applied], undone=[change.rule() for change in undo])
