# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning: the changes that turn a live IPVS table into the wanted one, and the table they leave.

Private to the lvs.cluster collection; not a public API.
A plan is a list of Change objects; every backend applies the same list, check mode stops
before applying it, and diff mode renders the table before and after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import RealServer, VirtualService, rules

ADD_SERVICE = 'add-service'
EDIT_SERVICE = 'edit-service'
DELETE_SERVICE = 'delete-service'
ADD_REALSERVER = 'add-realserver'
EDIT_REALSERVER = 'edit-realserver'
DELETE_REALSERVER = 'delete-realserver'

_SWITCHES = {
    ADD_SERVICE: '-A', EDIT_SERVICE: '-E', DELETE_SERVICE: '-D',
    ADD_REALSERVER: '-a', EDIT_REALSERVER: '-e', DELETE_REALSERVER: '-d',
}


@dataclass(frozen=True)
class Change:
    """One write to the IPVS table, as ipvsadm would be told it."""

    action: str
    service: VirtualService
    realserver: Optional[RealServer] = None

    def rule(self):
        """Return the ipvsadm command line (without ``ipvsadm``) for this change."""
        switch = _SWITCHES[self.action]
        if self.action == DELETE_SERVICE:
            return '%s %s' % (switch, self.service.key.switches())
        if self.realserver is None:
            return '%s %s' % (switch, self.service.switches())
        if self.action == DELETE_REALSERVER:
            return '%s %s %s' % (switch, self.service.key.switches(), self.realserver.target())
        return '%s %s %s' % (switch, self.service.key.switches(), self.realserver.switches())


def plan_realservers(live, wanted, purge):
    """Return the changes that make live's real servers match wanted's (a VirtualService each)."""
    changes = []
    for key, realserver in sorted(wanted.realservers.items()):
        current = live.realservers.get(key)
        if current is None:
            changes.append(Change(ADD_REALSERVER, wanted, realserver))
        elif current.settings() != realserver.settings():
            changes.append(Change(EDIT_REALSERVER, wanted, realserver))
    if purge:
        changes.extend(Change(DELETE_REALSERVER, live, realserver)
                       for key, realserver in sorted(live.realservers.items()) if key not in wanted.realservers)
    return changes


def plan_service(live, wanted, manage_realservers=True, purge_realservers=False, absent_realservers=()):
    """Return the changes for one service.

    live and wanted are VirtualService objects or None (None as wanted means the service must go).
    Settings are edited in place, so real servers and connections survive a scheduler change.
    absent_realservers are (address, port) keys to delete even without purge_realservers.
    """
    if wanted is None:
        return [Change(DELETE_SERVICE, live)] if live is not None else []
    if live is None:
        changes = [Change(ADD_SERVICE, wanted)]
        live = wanted.without_realservers()
    elif live.settings() != wanted.settings():
        changes = [Change(EDIT_SERVICE, wanted)]
    else:
        changes = []
    if manage_realservers:
        changes += plan_realservers(live, wanted, purge_realservers)
    changes += [Change(DELETE_REALSERVER, live, live.realservers[key])
                for key in sorted(absent_realservers) if key in live.realservers]
    return changes


def plan_table(live_table, wanted_services, purge=False, absent_services=(), absent_realservers=None):
    """Return the changes that turn live_table (dict key -> VirtualService) into wanted_services.

    absent_services are keys of services to delete; absent_realservers maps a service key to the
    keys of real servers to delete. With purge, whatever is not declared is deleted too.
    """
    absent_realservers = absent_realservers or {}
    wanted_keys = set(service.key for service in wanted_services)
    changes = [Change(DELETE_SERVICE, service) for key, service in sorted(live_table.items())
               if key in absent_services or (purge and key not in wanted_keys)]
    for wanted in sorted(wanted_services, key=lambda service: service.key):
        changes += plan_service(live_table.get(wanted.key), wanted, purge_realservers=purge,
                                absent_realservers=absent_realservers.get(wanted.key, ()))
    return changes


def apply_to_table(table, changes):
    """Return the table (dict key -> VirtualService) that changes leave, as the kernel would; table is not changed.

    Copy on write: the result shares the services and real servers that no change touches with
    table, and has its own copy of every service a change touches. Counters and stats of what
    stays are kept; a new service or real server starts from zero.
    """
    result = dict(table)
    own = set()

    def writable(key):
        """Return result's service under key, copied first unless it already belongs to result."""
        service = result[key]
        if key not in own:
            service = result[key] = replace(service, realservers=dict(service.realservers), stats=dict(service.stats))
            own.add(key)
        return service

    for change in changes:
        key = change.service.key
        action = change.action
        if action == DELETE_SERVICE:
            del result[key]
            own.discard(key)
        elif action == ADD_SERVICE:
            result[key] = change.service.without_realservers()
            own.add(key)
        elif action == EDIT_SERVICE:
            current = result[key]
            result[key] = replace(change.service, realservers=dict(current.realservers), stats=dict(current.stats))
            own.add(key)
        elif action == DELETE_REALSERVER:
            del writable(key).realservers[change.realserver.key]
        else:
            realservers = writable(key).realservers
            rs_key = change.realserver.key
            realservers[rs_key] = change.realserver.with_counters_of(realservers.get(rs_key))
    return result


def table_diff(before, after, keys=None):
    """Return Ansible's diff dict: the services named by keys (all when None) in ipvsadm-save form."""
    def render(table):
        chosen = [service for key, service in table.items() if keys is None or key in keys]
        text = '\n'.join(rules(chosen))
        return text + '\n' if text else ''
    return {'before': render(before), 'after': render(after),
            'before_header': 'ipvsadm-save (live)', 'after_header': 'ipvsadm-save (planned)'}
