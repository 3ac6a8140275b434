# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the one data model, lvs_virtual_services, for the roles."""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import validated_bgp, validated_model, vip_interface

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
                'realserver_vip_addresses': realserver_vip_addresses, 'bgp_director': bgp_director}
