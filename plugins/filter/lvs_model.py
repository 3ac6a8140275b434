# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the one data model, lvs_virtual_services, for the roles."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import (
    MODEL, validated_bgp, validated_model, vip_interface,
)

KEY_FIELDS = ('protocol', 'port', 'fwmark', 'family')
VIP_KEYS = ('vip', 'vip_interface', 'vip_label')


def _owned(services, hostvars, owner, resolve=True):
    """Return the ModelServices of owner ('all' for every one), after checking the whole model."""
    return [checked for checked in validated_model(services, hostvars, resolve)
            if owner == 'all' or checked.service.get('owner', 'director') == owner]


def ipvs_services(services, hostvars, owner='director', keys_only=False):
    """Return the services of owner (or all) as lvs.cluster.ipvs_table's config items (or only their keys)."""
    result = []
    for checked in _owned(services, hostvars, owner):
        if keys_only:
            result.append(dict((key, checked.item[key]) for key in KEY_FIELDS + ('address',) if key in checked.item))
        else:
            result.append(checked.item)
    return result


def service_vips(services, hostvars, owner='director'):
    """Return the VIPs of owner's services: vip, vip_prefix (the default filled in), vip_interface, vip_label.

    An announced VIP (announce: bgp) goes on lo unless vip_interface says otherwise: BGP routes it to the director.
    """
    vips = []
    for checked in _owned(services, hostvars, owner, resolve=False):
        vip = dict(((key, checked.service[key]) for key in VIP_KEYS if key in checked.service),
                   vip_prefix=checked.vip_prefix)
        if 'announce' in checked.service:
            vip.setdefault('vip_interface', 'lo')
        vips.append(vip)
    return vips


def bgp_director(services, hostvars, inventory_hostname, bgp):
    """Return the BGP settings of director inventory_hostname for the services it announces (see validated_bgp)."""
    return validated_bgp(validated_model(services, hostvars), bgp, inventory_hostname,
                         hostvars[inventory_hostname])


def realserver_vips(services, hostvars, inventory_hostname):
    """Return [{vip, forwarding, service}] for the services whose real servers include inventory_hostname."""
    return [{'vip': checked.service['vip'], 'forwarding': checked.forwarding[0], 'service': checked.service['name']}
            for checked in _owned(services, hostvars, 'all', resolve=False)
            if any(entry.get('host') == inventory_hostname for entry in checked.service.get('realservers', []))]


def _entries(checked, inventory_hostname, state=None):
    """The service as ipvs_table's service with only inventory_hostname's entries (not those marked absent)."""
    members = [dict(member, state=state) if state else member
               for entry, member in zip(checked.service.get('realservers', []), checked.item['realservers'])
               if entry.get('host') == inventory_hostname and member.get('state', 'present') != 'absent']
    return dict(checked.item, realservers=members) if members else None


def realserver_maintenance(services, hostvars, inventory_hostname):
    """Return what a rolling maintenance of one real server needs (see its DOCUMENTATION).

    Fails, naming the path, for a service keepalived owns that names the host without inhibit_on_failure: keepalived
    would remove the real server when its check fails, and the connections in flight would break.
    """
    plan = {'director': [], 'drained': [], 'entries': [], 'health_paths': []}
    for checked in _owned(services, hostvars, 'all'):
        service = _entries(checked, inventory_hostname)
        if service is None:
            continue
        plan['entries'].append(service)
        if checked.service.get('owner', 'director') == 'director':
            plan['director'].append(service)
            plan['drained'].append(_entries(checked, inventory_hostname, 'drained'))
            continue
        inhibit = (checked.service.get('keepalived') or {}).get('inhibit_on_failure', False)
        if inhibit is not True:
            raise AnsibleFilterError(
                '%s[%d].keepalived.inhibit_on_failure: %r cannot drain %s; expected true (without it keepalived '
                'removes a failed real server and its connections break)' % (MODEL, checked.index, inhibit,
                                                                             inventory_hostname))
        check = checked.service.get('health_check') or {}
        kind = check.get('type', 'tcp_check')
        if kind not in ('http_get', 'ssl_get'):
            raise AnsibleFilterError(
                '%s[%d].health_check.type: %r cannot drain %s; expected http_get or ssl_get (the maintenance moves the '
                'health page aside so that the check fails)' % (MODEL, checked.index, kind, inventory_hostname))
        path = check.get('path', '/')
        if path not in plan['health_paths']:
            plan['health_paths'].append(path)
    return plan


def realserver_live(tables, entries):
    """Return one row per director table and real server entry: how the live table has it.

    tables is a list of lvs.cluster.ipvs_info's services, one per director; entries is realserver_maintenance's
    entries. A row has service, address, port, expected_weight (0 when drained), and present, weight,
    active_connections and as_model as that table has them.
    """
    rows = []
    for table in tables:
        live = dict(((service.get('protocol'), service.get('address'), service.get('port'), service.get('fwmark')),
                     dict(((member['address'], member['port']), member) for member in service.get('realservers', [])))
                    for service in table)
        for service in entries:
            key = (service.get('protocol', 'tcp'), service.get('address'), service.get('port'), service.get('fwmark'))
            for entry in service['realservers']:
                port = entry.get('port') or service.get('port')
                member = live.get(key, {}).get((entry['address'], port))
                expected = 0 if entry.get('state') == 'drained' else entry.get('weight', 1)
                rows.append({'service': '%s %s:%s' % (key[0], key[1], key[2]) if not key[3] else 'fwmark %s' % key[3],
                             'address': entry['address'], 'port': port, 'expected_weight': expected,
                             'present': member is not None, 'weight': member['weight'] if member else None,
                             'active_connections': member.get('active_connections', 0) if member else 0,
                             'as_model': member is not None and member['weight'] == expected})
    return rows


def director_vip_addresses(vips, facts):
    """Return lvs.cluster.vip_alias's addresses for a director's VIPs (service_vips' result).

    Each VIP goes on its vip_interface, else on the interface whose network holds it (vip_interface),
    with its vip_prefix and vip_label.
    """
    addresses = []
    for service in vips:
        vip = service['vip']
        entry = {'address': '%s/%s' % (vip, service['vip_prefix']),
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
        return {'ipvs_services': ipvs_services, 'service_vips': service_vips, 'realserver_vips': realserver_vips,
                'vip_interface': vip_interface, 'director_vip_addresses': director_vip_addresses,
                'realserver_vip_addresses': realserver_vip_addresses, 'realserver_maintenance': realserver_maintenance,
                'realserver_live': realserver_live, 'bgp_director': bgp_director}
