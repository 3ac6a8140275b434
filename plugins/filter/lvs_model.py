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
  - Checks every key of the model and turns the services a director owns into the O(lvs.cluster.ipvs_table#module:services)
    argument, resolving real servers given as inventory hosts to their addresses.
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

import ipaddress

from ansible.errors import AnsibleFilterError

SERVICE_KEYS = {
    'name', 'vip', 'vip_prefix', 'vip_interface', 'vip_label', 'protocol', 'port', 'fwmark', 'family', 'scheduler',
    'scheduler_flags', 'persistence_timeout', 'persistence_netmask', 'one_packet', 'forwarding', 'tunnel_type',
    'tunnel_port', 'tunnel_checksum', 'owner', 'health_check', 'realservers', 'sorry_server', 'keepalived',
}
REALSERVER_KEYS = {'host', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold', 'state'}
PASSED_TO_IPVS = ('protocol', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags', 'persistence_timeout',
                  'persistence_netmask', 'one_packet')
TUNNEL_KEYS = ('tunnel_type', 'tunnel_port', 'tunnel_checksum')
KEY_FIELDS = ('protocol', 'port', 'fwmark', 'family')


def model_error(path, message):
    """Fail the play: path (for example lvs_virtual_services[0].port) and what is wrong with it."""
    raise AnsibleFilterError('%s: %s' % (path, message))


def check_keys(item, allowed, path):
    """Fail unless item is a dict whose keys are all in allowed."""
    if not isinstance(item, dict):
        model_error(path, 'expected a dict, got %r' % (item,))
    unknown = sorted(set(item) - allowed)
    if unknown:
        model_error(path, 'unknown key %s; accepted keys: %s' % (', '.join(map(repr, unknown)),
                                                                 ', '.join(sorted(allowed))))


def _fail(where, message):
    model_error('lvs_virtual_services' + where, message)


def _check_keys(item, allowed, where):
    check_keys(item, allowed, 'lvs_virtual_services' + where)


def default_ipv4_address(variables):
    """Return a host's default IPv4 address from its gathered facts (hostvars), or None."""
    facts = variables.get('ansible_facts') or {}
    injected = variables.get('ansible_default_ipv4') or {}  # ansible-core before facts stop being injected
    return (facts.get('default_ipv4') or {}).get('address') or injected.get('address')


def realserver_address(entry, hostvars, where):
    """Return the address of a real server entry: its address, or its inventory host's address."""
    if 'address' in entry:
        return entry['address']
    if 'host' not in entry:
        _fail(where, 'a real server needs host (an inventory hostname) or address')
    if entry['host'] not in hostvars:
        _fail(where + '.host', '%r is not a host of the inventory' % entry['host'])
    variables = hostvars[entry['host']]
    address = variables.get('lvs_realserver_address') or default_ipv4_address(variables)
    if not address:
        _fail(where + '.host', 'no address known for %r: set lvs_realserver_address or gather its facts'
              % entry['host'])
    return address


def checked_services(services):
    """Yield (index, service) after checking the keys of every service and real server."""
    if not isinstance(services, list):
        _fail('', 'expected a list of services, got %r' % (services,))
    names = set()
    for index, service in enumerate(services):
        where = '[%d]' % index
        _check_keys(service, SERVICE_KEYS, where)
        for key in ('name', 'vip'):
            if key not in service:
                _fail(where, 'missing key %r' % key)
        if service['name'] in names:
            _fail(where + '.name', '%r is used twice' % service['name'])
        names.add(service['name'])
        if service.get('forwarding', 'dr') not in ('dr', 'nat', 'tun'):
            _fail(where + '.forwarding', '%r is not one of dr, nat, tun' % service['forwarding'])
        if service.get('owner', 'director') not in ('director', 'keepalived'):
            _fail(where + '.owner', '%r is not one of director, keepalived' % service['owner'])
        for rs_index, entry in enumerate(service.get('realservers', [])):
            _check_keys(entry, REALSERVER_KEYS, '%s.realservers[%d]' % (where, rs_index))
        yield index, service


def ipvs_services(services, hostvars, owner='director', keys_only=False):
    """Return the services of owner (or all) as lvs.cluster.ipvs_table's services (or only their keys)."""
    result = []
    for index, service in checked_services(services):
        if owner != 'all' and service.get('owner', 'director') != owner:
            continue
        item = dict((key, service[key]) for key in (KEY_FIELDS if keys_only else PASSED_TO_IPVS) if key in service)
        if 'fwmark' not in service:
            item['address'] = service['vip']
        if keys_only:
            result.append(item)
            continue
        forwarding = service.get('forwarding', 'dr')
        tunnel = dict((key, service[key]) for key in TUNNEL_KEYS if key in service)
        item['realservers'] = []
        for rs_index, entry in enumerate(service.get('realservers', [])):
            where = '[%d].realservers[%d]' % (index, rs_index)
            member = dict((key, entry[key]) for key in ('port', 'weight', 'upper_threshold', 'lower_threshold', 'state')
                          if key in entry)
            member.update(tunnel, address=realserver_address(entry, hostvars, where), forwarding=forwarding)
            item['realservers'].append(member)
        result.append(item)
    return result


def realserver_vips(services, inventory_hostname):
    """Return [{vip, forwarding, service}] for the services whose real servers include inventory_hostname."""
    vips = []
    for _index, service in checked_services(services):
        if any(entry.get('host') == inventory_hostname for entry in service.get('realservers', [])):
            vips.append({'vip': service['vip'], 'forwarding': service.get('forwarding', 'dr'),
                         'service': service['name']})
    return vips


def vip_interface(vip, facts):
    """Return the interface (from gathered facts) whose network holds vip, else the default-route one.

    A labelled address (eth0:8, gathered as eth0_8) counts for its device, eth0.
    """
    address = ipaddress.ip_address(vip)
    for name in sorted(facts.get('interfaces', []), key=lambda item: ':' in item or '_' in item):
        details = facts.get(name.replace('-', '_').replace(':', '_'), {})
        networks = [details.get('ipv4', {})] + details.get('ipv4_secondaries', []) + details.get('ipv6', [])
        for network in networks:
            prefix = network.get('netmask') or network.get('prefix')
            if network.get('address') and prefix and \
                    address in ipaddress.ip_network('%s/%s' % (network['address'], prefix), strict=False):
                return details.get('device', name).split(':')[0]
    return facts.get('default_ipv4', {}).get('interface')


def director_vip_addresses(services, facts):
    """Return lvs.cluster.vip_alias's addresses for the services' VIPs on a director.

    Each VIP goes on its vip_interface, else on the interface whose network holds it (vip_interface),
    with vip_prefix (default /32, /128 for IPv6) and vip_label.
    """
    addresses = []
    for service in services:
        vip = service['vip']
        entry = {'address': '%s/%s' % (vip, service.get('vip_prefix', 128 if ':' in vip else 32)),
                 'interface': service.get('vip_interface') or vip_interface(vip, facts)}
        if service.get('vip_label'):
            entry['label'] = service['vip_label']
        addresses.append(entry)
    return addresses


def realserver_vip_addresses(vips):
    """Return lvs.cluster.vip_alias's addresses for a DR or TUN real server's VIPs (realserver_vips' result).

    Each VIP is hidden once: on lo for DR, on tunl0 for TUN, as a /32 (/128).
    """
    seen, addresses = set(), []
    for vip in vips:
        entry = {'address': vip['vip'], 'interface': 'tunl0' if vip['forwarding'] == 'tun' else 'lo'}
        if (entry['address'], entry['interface']) not in seen:
            seen.add((entry['address'], entry['interface']))
            addresses.append(entry)
    return addresses


class FilterModule:
    """lvs.cluster's data-model filters."""

    def filters(self):
        return {'ipvs_services': ipvs_services, 'realserver_vips': realserver_vips, 'vip_interface': vip_interface,
                'director_vip_addresses': director_vip_addresses, 'realserver_vip_addresses': realserver_vip_addresses}
