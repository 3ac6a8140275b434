# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the IPVS client, each worded for the person who reads the failed task.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import errno

NEEDS_PRIVILEGE = 'IPVS needs root or CAP_NET_ADMIN on the target: run the task with become: true'


class IPVSError(Exception):
    """The kernel or ipvsadm refused a request; the message says which and why."""


class IPVSUnavailable(IPVSError):
    """The running kernel has no IP Virtual Server."""

    def __init__(self, detail=''):
        super().__init__(
            'this kernel has no IP Virtual Server (IPVS): the ip_vs module is not loaded%s. '
            'Load it on this host with "modprobe ip_vs" (list ip_vs in /etc/modules-load.d/ to load it at boot); '
            'a container cannot load kernel modules, so for a container the container host must load ip_vs.'
            % (' (%s)' % detail if detail else ''))


class IPVSPermissionError(IPVSError):
    """The kernel refused a request for want of privilege."""

    def __init__(self, step):
        super().__init__('%s was refused: %s.' % (step, NEEDS_PRIVILEGE))


class ParameterError(IPVSError):
    """A parameter has a value the module cannot accept; nothing was changed."""

    def __init__(self, name, value, accepted):
        self.name, self.value, self.accepted = name, value, accepted
        super().__init__('%s: %r is not valid; %s' % (name, value, accepted))

    def renamed(self, name, value):
        """Return the same error for the parameter name (a path in other data) and its value there."""
        return ParameterError(name, value, self.accepted)


class ApplyError(IPVSError):
    """The kernel refused one change of a plan.

    change is the refused Change, applied the changes of the plan the kernel made, in order
    (with a pipelined backend, some may come after the refused one), for the caller to undo.
    """

    def __init__(self, change, reason, applied):
        self.change = change
        self.applied = applied
        super().__init__('%s failed: %s' % (change.step(), reason))


REASONS = {
    errno.EPERM: 'permission denied',
    errno.EACCES: 'permission denied',
    errno.ENOENT: 'no such entry',
    errno.EEXIST: 'it exists already',
    errno.ESRCH: 'no such service',
    errno.EINVAL: 'the kernel rejected a value',
    errno.ERANGE: 'the kernel rejected a value as out of range',
    errno.ENOMEM: 'the kernel is out of memory',
}
# Refusals of entries that the plan, made from the table just read, expected to find or not to find.
RACES = (errno.ENOENT, errno.EEXIST, errno.ESRCH)
PRIVILEGE_ERRNOS = (errno.EPERM, errno.EACCES)
# What the kernel's ip_vs_ctl.c refuses a real server (or a service) with, in terms of parameters.
REALSERVER_CAUSES = {
    errno.EINVAL: 'check address (the kernel takes only a unicast or local address of this host, not a broadcast '
                  'or multicast one), forwarding and tunnel_port',
    errno.ERANGE: 'check weight, upper_threshold and lower_threshold (lower at most upper)',
}
SERVICE_CAUSES = {
    errno.EINVAL: 'check persistence_timeout, persistence_netmask and scheduler_flags',
    errno.ENOENT: 'check scheduler: the kernel has no such ip_vs_ scheduler module',
}


def kernel_reason(code, cause=None):
    """Return the kernel's refusal with errno code in words, with what to check (cause) if known."""
    reason = REASONS.get(code, 'refused')
    if code in PRIVILEGE_ERRNOS:
        cause = NEEDS_PRIVILEGE
    if cause:
        reason += '; ' + cause
    elif code in RACES:
        reason += '; another process changed the IPVS table meanwhile'
    return '%s (errno %d, %s)' % (reason, code, errno.errorcode.get(code, '?'))


def cause(change, code):
    """Return which parameters of change (a Change) to check after the kernel refused it with errno code, or None."""
    if code in PRIVILEGE_ERRNOS:
        return NEEDS_PRIVILEGE
    return (SERVICE_CAUSES if change.realserver is None else REALSERVER_CAUSES).get(code)


def refusal(change, code):
    """Return why the kernel refused change (a Change) with errno code, naming the parameters to check."""
    return kernel_reason(code, cause(change, code))


class TableChanged(IPVSError):
    """The table changed between the requests of one read (another process, such as keepalived, wrote it)."""


READ_ATTEMPTS = 3


def read_consistently(read, stats):
    """Return read(stats), read again up to READ_ATTEMPTS times in all while it raises TableChanged."""
    for _attempt in range(READ_ATTEMPTS - 1):
        try:
            return read(stats)
        except TableChanged:
            continue
    try:
        return read(stats)
    except TableChanged as error:
        raise IPVSError('reading the IPVS table failed: it changed during each of %d reads (%s); another process, '
                        'such as keepalived, keeps changing it: try again' % (READ_ATTEMPTS, error))
