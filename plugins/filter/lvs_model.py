# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the one data model, lvs_virtual_services, for the roles."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ipvs_services
short_description: The lvs_virtual_services model as the services argument of lvs.cluster.ipvs_table
version_added: 0.1.0
description:
  - Checks every value of every service of the model with the IPVS modules' own checks (the same as the action
    C(lvs.cluster.validate_model)) and turns the services a director owns into the
    O(lvs.cluster.ipvs_table#module:services) argument, resolving real servers given as inventory hosts to their
    addresses.
  - "A bad value fails with its path in the model, for example
    C(lvs_virtual_services[3].realservers[1].weight: 70000 is not valid; expected an integer from 0 to 65535)."
  - The companion filter C(lvs.cluster.realserver_vips) returns the VIPs one real server must carry.
author:
  - lvs.cluster developers (@lvs-cluster)
positional: hostvars
options:
  _input:
    description: The C(lvs_virtual_services) list.
    type: list
    elements: dict
    required: true
  hostvars:
    description: C(hostvars), to resolve C(host) entries of real servers.
    type: dict
    required: true
  owner:
    description: Keep only the services with this C(owner) (V(director) or V(keepalived)); V(all) keeps every one.
    type: str
    default: director
  keys_only:
    description:
      - Return only what names each service (protocol, address and port, or fwmark and family), as
        O(lvs.cluster.ipvs_table#module:exclude) takes it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Program the whole table
  lvs.cluster.ipvs_table:
    services: "{{ lvs_virtual_services | lvs.cluster.ipvs_services(hostvars) }}"
    purge: true
"""

RETURN = r"""
_value:
  description: The services, in the form of O(lvs.cluster.ipvs_table#module:services).
  type: list
  elements: dict
"""

from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import validated_model, vip_interface

KEY_FIELDS = ('protocol', 'port', 'fwmark', 'family')
VIP_KEYS = ('vip', 'vip_interface', 'vip_label')


def _owned(services, hostvars, owner, resolve=True):
    """Return the ModelServices of owner ('all' for every one), after checking the whole model."""
    return [checked for checked in validated_model(services, hostvars, resolve)
            if owner == 'all' or checked.service.get('owner', 'director') == owner]


def ipvs_services(services, hostvars, owner='director', keys_only=False):
    """Return the services of owner (or all) as lvs.cluster.ipvs_table's services (or only their keys)."""
    result = []
    for checked in _owned(services, hostvars, owner):
        if keys_only:
            result.append(dict((key, checked.item[key]) for key in KEY_FIELDS + ('address',) if key in checked.item))
        else:
            result.append(checked.item)
    return result


def service_vips(services, hostvars, owner='director'):
    """Return the VIPs of owner's services: vip, vip_prefix (the default filled in), vip_interface, vip_label."""
    return [dict(((key, checked.service[key]) for key in VIP_KEYS if key in checked.service),
                 vip_prefix=checked.vip_prefix) for checked in _owned(services, hostvars, owner, resolve=False)]


def realserver_vips(services, hostvars, inventory_hostname):
    """Return [{vip, forwarding, service}] for the services whose real servers include inventory_hostname."""
    return [{'vip': checked.service['vip'], 'forwarding': checked.forwarding[0], 'service': checked.service['name']}
            for checked in _owned(services, hostvars, 'all', resolve=False)
            if any(entry.get('host') == inventory_hostname for entry in checked.service.get('realservers', []))]


IDENTITY_KEYS = ('protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags',
                 'persistence_timeout', 'persistence_netmask', 'one_packet')


def _identity(service):
    return (service.get('fwmark'), service.get('family') if service.get('fwmark') else None,
            service.get('protocol', 'tcp') if not service.get('fwmark') else None, service.get('address'),
            service.get('port'))


def drain_departed(wanted, live, exclude=()):
    """Return wanted (ipvs_table services) plus, drained, the live real servers and services it no longer has.

    live is lvs.cluster.ipvs_info's services; services named in exclude (owned by another program) are
    left alone. Returns wanted unchanged when nothing departed.
    """
    result = [dict(service, realservers=list(service.get('realservers', []))) for service in wanted]
    by_identity = dict((_identity(service), service) for service in result)
    excluded = set(_identity(service) for service in exclude)
    changed = False
    for service in live:
        if _identity(service) in excluded:
            continue
        target = by_identity.get(_identity(service))
        if target is None:
            target = dict((key, service[key]) for key in IDENTITY_KEYS if service.get(key) is not None)
            target['realservers'] = []
            result.append(target)
        declared = set((member['address'], member.get('port', service.get('port') or 0))
                       for member in target['realservers'])
        for member in service['realservers']:
            if (member['address'], member['port']) not in declared:
                changed = True
                target['realservers'].append(dict(
                    (key, member[key]) for key in ('address', 'port', 'forwarding', 'upper_threshold', 'lower_threshold',
                                                   'tunnel_type', 'tunnel_port', 'tunnel_checksum') if key in member))
                target['realservers'][-1]['state'] = 'drained'
    return result if changed else wanted


def draining_connections(live, wanted):
    """Return the active connections left on the real servers that wanted (ipvs_table services) drains.

    live is lvs.cluster.ipvs_info's services; other weight-0 real servers (keepalived's, say) do not count.
    """
    drained = set((_identity(service), member['address'], member.get('port', service.get('port') or 0))
                  for service in wanted for member in service.get('realservers', []) if member.get('state') == 'drained')
    return sum(member['active_connections'] for service in live for member in service['realservers']
               if (_identity(service), member['address'], member['port']) in drained)


class FilterModule:
    """lvs.cluster's data-model filters."""

    def filters(self):
        return {'ipvs_services': ipvs_services, 'service_vips': service_vips, 'realserver_vips': realserver_vips,
                'drain_departed': drain_departed,
                'draining_connections': draining_connections, 'vip_interface': vip_interface}
