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

_VERBS = {
    ADD_SERVICE: 'adding', EDIT_SERVICE: 'changing', DELETE_SERVICE: 'removing',
    ADD_REALSERVER: 'adding', EDIT_REALSERVER: 'changing', DELETE_REALSERVER: 'removing',
}
_PREPOSITIONS = {ADD_REALSERVER: 'to', EDIT_REALSERVER: 'of', DELETE_REALSERVER: 'from'}


def service_name(key):
    """Return a service's name for messages: ``tcp 192.0.2.1:80``, ``fwmark 7``, ``fwmark 7 (IPv6)``."""
    if key.fwmark:
        return 'fwmark %d%s' % (key.fwmark, ' (IPv6)' if key.family == 'ipv6' else '')
    endpoint = key.switches().split(' ', 1)[1]
    return '%s %s' % (key.protocol, endpoint)


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

    def step(self):
        """Return what this change does, in words, for messages: ``adding real server 10.0.0.21:80 to ...``."""
        service = service_name(self.service.key)
        verb = _VERBS[self.action]
        if self.realserver is None:
            what = '%s service %s' % (verb, service)
        else:
            endpoint = self.realserver.target()[len('-r '):]
            what = '%s real server %s %s %s' % (verb, endpoint, _PREPOSITIONS[self.action], service)
        return what if self.action in (DELETE_SERVICE, DELETE_REALSERVER) else '%s (%s)' % (what, self.rule())


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


def plan_table(live_table, wanted_services, purge_services=False, purge_realservers=False, absent_services=(),
               absent_realservers=None):
    """Return the changes that turn live_table (dict key -> VirtualService) into wanted_services.

    absent_services are keys of services to delete; absent_realservers maps a service key to the
    keys of real servers to delete. With purge_services, the services wanted_services does not list
    are deleted too; with purge_realservers, the real servers a wanted service does not list.
    """
    absent_realservers = absent_realservers or {}
    wanted_keys = set(service.key for service in wanted_services)
    changes = [Change(DELETE_SERVICE, service) for key, service in sorted(live_table.items())
               if key in absent_services or (purge_services and key not in wanted_keys)]
    for wanted in sorted(wanted_services, key=lambda service: service.key):
        changes += plan_service(live_table.get(wanted.key), wanted, purge_realservers=purge_realservers,
                                absent_realservers=absent_realservers.get(wanted.key, ()))
    return changes


class _TableReplay:
    """A table that changes are applied to one at a time, as the kernel would; the original is not changed.

    Copy on write: the table shares the services and real servers that no change touches with the
    original, and has its own copy of every service a change touches. Counters and stats of what
    stays are kept; a new service or real server starts from zero.
    """

    def __init__(self, table):
        self.table = dict(table)
        self._own = set()

    def _writable(self, key):
        """Return the service under key, copied first unless it already belongs to this table."""
        service = self.table[key]
        if key not in self._own:
            service = self.table[key] = replace(service, realservers=dict(service.realservers),
                                                stats=dict(service.stats))
            self._own.add(key)
        return service

    def apply(self, change):
        key = change.service.key
        action = change.action
        if action == DELETE_SERVICE:
            del self.table[key]
            self._own.discard(key)
        elif action == ADD_SERVICE:
            self.table[key] = change.service.without_realservers()
            self._own.add(key)
        elif action == EDIT_SERVICE:
            current = self.table[key]
            self.table[key] = replace(change.service, realservers=dict(current.realservers),
                                      stats=dict(current.stats))
            self._own.add(key)
        elif action == DELETE_REALSERVER:
            del self._writable(key).realservers[change.realserver.key]
        else:
            realservers = self._writable(key).realservers
            rs_key = change.realserver.key
            realservers[rs_key] = change.realserver.with_counters_of(realservers.get(rs_key))


def apply_to_table(table, changes):
    """Return the table (dict key -> VirtualService) that changes leave, as the kernel would; table is not changed."""
    replay = _TableReplay(table)
    for change in changes:
        replay.apply(change)
    return replay.table


def _inverse(change, before):
    """Return the changes that undo change, given the service it applied to as it was before (None if new)."""
    action = change.action
    if action == ADD_SERVICE:
        return [Change(DELETE_SERVICE, change.service)]
    if action == EDIT_SERVICE:
        return [Change(EDIT_SERVICE, before)]
    if action == DELETE_SERVICE:
        return [Change(ADD_SERVICE, before)] + [Change(ADD_REALSERVER, before, realserver)
                                                for _key, realserver in sorted(before.realservers.items())]
    if action == ADD_REALSERVER:
        return [Change(DELETE_REALSERVER, before, change.realserver)]
    previous = before.realservers[change.realserver.key]
    return [Change(EDIT_REALSERVER if action == EDIT_REALSERVER else ADD_REALSERVER, before, previous)]


def undo_changes(table, applied):
    """Return the changes that take the table back to table after applied (changes made to it in order).

    Each applied change's inverse, the last one's first; a deleted service comes back with its real servers.
    """
    replay = _TableReplay(table)
    inverses = []
    for change in applied:
        inverses.append(_inverse(change, replay.table.get(change.service.key)))
        replay.apply(change)
    return [undo for group in reversed(inverses) for undo in group]


def took_effect(change, table):
    """Tell whether table (read after change was sent) shows change made."""
    service = table.get(change.service.key)
    if change.action == DELETE_SERVICE:
        return service is None
    if service is None:
        return False
    if change.realserver is None:
        return service.settings() == change.service.settings()
    member = service.realservers.get(change.realserver.key)
    if change.action == DELETE_REALSERVER:
        return member is None
    return member is not None and member.settings() == change.realserver.settings()


def split_by_effect(changes, table):
    """Return (the changes that table, read after they were sent, shows made; the first it does not, or None)."""
    made, refused = [], None
    for change in changes:
        if took_effect(change, table):
            made.append(change)
        elif refused is None:
            refused = change
    return made, refused


def table_diff(before, after, keys=None):
    """Return Ansible's diff dict: the services named by keys (all when None) in ipvsadm-save form."""
    def render(table):
        chosen = [service for key, service in table.items() if keys is None or key in keys]
        text = '\n'.join(rules(chosen))
        return text + '\n' if text else ''
    return {'before': render(before), 'after': render(after),
            'before_header': 'ipvsadm-save (live)', 'after_header': 'ipvsadm-save (planned)'}
