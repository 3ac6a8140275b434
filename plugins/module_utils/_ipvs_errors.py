# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the IPVS client, each worded for the person who reads the failed task.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations


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


class ParameterError(IPVSError):
    """A parameter has a value the module cannot accept; nothing was changed."""

    def __init__(self, name, value, accepted):
        self.name, self.value, self.accepted = name, value, accepted
        super().__init__('%s: %r is not valid; %s' % (name, value, accepted))

    def renamed(self, name, value):
        """Return the same error for the parameter name (a path in other data) and its value there."""
        return ParameterError(name, value, self.accepted)
