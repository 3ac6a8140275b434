# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the one data model, lvs_virtual_services, for the roles."""

from __future__ import annotations

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


class FilterModule:
    """lvs.cluster's data-model filters."""

    def filters(self):
        return {'ipvs_services': ipvs_services, 'realserver_vips': realserver_vips, 'drain_departed': drain_departed,
                'draining_connections': draining_connections, 'vip_interface': vip_interface}
