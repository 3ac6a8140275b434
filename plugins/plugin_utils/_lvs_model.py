# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one validator of the lvs_virtual_services model, shared by the filters and the validate_model action.

Private to the lvs.cluster collection; not a public API.
Every service is turned into the item lvs.cluster.ipvs_table takes and checked by the modules' own
code (checked_options, then wanted_table), whoever owns it (the director role or keepalived); only
the model's own keys are checked here. Errors name the path in the user's list, for example
``lvs_virtual_services[3].realservers[1].weight: 70000 is not valid; expected ...``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import namedtuple

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import host_bits
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    REALSERVER_OPTIONS, SERVICE_KEY_RULES, TABLE_SERVICE_OPTIONS, address_checked, checked_options, tunnel_settings,
    wanted_table,
)

MODEL = 'lvs_virtual_services'
SERVICE_KEYS = {
    'name', 'vip', 'vip_prefix', 'vip_interface', 'vip_label', 'protocol', 'port', 'fwmark', 'family', 'scheduler',
    'scheduler_flags', 'persistence_timeout', 'persistence_netmask', 'one_packet', 'forwarding', 'tunnel_type',
    'tunnel_port', 'tunnel_checksum', 'owner', 'health_check', 'realservers', 'sorry_server', 'keepalived',
    'announce',
}
REALSERVER_KEYS = {'host', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold', 'state'}
PASSED_TO_IPVS = ('protocol', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags', 'persistence_timeout',
                  'persistence_netmask', 'one_packet')
FORWARDING_KEYS = ('forwarding', 'tunnel_type', 'tunnel_port', 'tunnel_checksum')
FORWARDING_OPTIONS = dict((key, REALSERVER_OPTIONS[key]) for key in FORWARDING_KEYS)
PASSED_FROM_REALSERVER = ('port', 'weight', 'upper_threshold', 'lower_threshold', 'state')
OWNERS = ('director', 'keepalived')
# announce: bgp - every director announces the VIP over BGP and serves it at once (ECMP upstream), so they must all
# pick the same real server for a flow: a consistent hash, whose flags default to hashing the ports too and to
# the next real server when the hashed one has weight 0 or is overloaded.
ANNOUNCERS = ('bgp',)
CONSISTENT_HASH_FLAGS = {'mh': ['mh-port', 'mh-fallback'], 'sh': ['sh-port', 'sh-fallback']}
BGP_KEYS = {'asn', 'routers'}
ROUTER_KEYS = {'address', 'asn', 'password', 'bfd'}
MAX_ASN = 4294967295
MAX_TCP_MD5_KEY = 80
# Addresses that stand in for real servers named by host before their facts are gathered: the
# default IPv4 address a host will have is unicast IPv4, like these (198.18.0.0/15, RFC 2544).
_UNKNOWN_ADDRESS_BASE = ipaddress.IPv4Address('198.18.0.1')
_REALSERVER_PATH = re.compile(r'^(%s\[(\d+)\]\.realservers\[(\d+)\])\.address$' % MODEL)

# One checked service of the model: its index in the user's list, the service as written, the
# ipvs_table item made of it, the VirtualService the modules would write (real servers included),
# the forwarding settings (forwarding, tunnel type, port, checksum) and the VIP's prefix length.
ModelService = namedtuple('ModelService', 'index service item virtual forwarding vip_prefix')


def model_error(path, value, accepted):
    """Fail the play with one sentence: path, value and what would be accepted."""
    raise AnsibleFilterError(str(ParameterError(path, value, accepted)))


def check_keys(item, allowed, path):
    """Fail unless item is a dict whose keys are all in allowed."""
    if not isinstance(item, dict):
        model_error(path, item, 'expected a dict')
    unknown = sorted(set(item) - set(allowed), key=str)
    if unknown:
        model_error('%s.%s' % (path, unknown[0]), item[unknown[0]],
                    'not a key here; expected one of %s' % ', '.join(sorted(allowed)))


def default_ipv4_address(variables):
    """Return a host's default IPv4 address from its gathered facts (hostvars), or None."""
    facts = variables.get('ansible_facts') or {}
    injected = variables.get('ansible_default_ipv4') or {}  # ansible-core before facts stop being injected
    return (facts.get('default_ipv4') or {}).get('address') or injected.get('address')


def realserver_address(entry, hostvars, path, unknown=None):
    """Return the address of a real server entry: its address, or its inventory host's address.

    unknown (a dict host -> stand-in address) is filled and used for hosts whose address is not
    known yet (facts not gathered); without it such a host fails.
    """
    if 'address' in entry:
        return entry['address']
    if 'host' not in entry:
        model_error(path, entry, 'a real server needs host (an inventory hostname) or address')
    host = entry['host']
    if not isinstance(host, str) or host not in hostvars:
        model_error(path + '.host', host, 'expected a host of the inventory')
    variables = hostvars[host]
    address = variables.get('lvs_realserver_address') or default_ipv4_address(variables)
    if address:
        return address
    if unknown is None:
        model_error(path + '.host', host, 'no address is known for it: set lvs_realserver_address or gather its facts')
    return unknown.setdefault(host, str(_UNKNOWN_ADDRESS_BASE + len(unknown)))


def _checked_service(index, service, names):
    """Check the model's own keys of one service; return (forwarding settings, VIP prefix length)."""
    path = '%s[%d]' % (MODEL, index)
    check_keys(service, SERVICE_KEYS, path)
    for key in ('name', 'vip'):
        if key not in service:
            model_error('%s.%s' % (path, key), None, 'every service needs %s' % key)
    if 'fwmark' in service and 'port' in service:
        model_error(path + '.port', service['port'], 'a firewall-mark service has no port: remove port or fwmark')
    if 'fwmark' not in service and 'port' not in service:
        model_error(path + '.port', None, 'a service needs port (1 to 65535), or fwmark instead of a protocol and port')
    if not isinstance(service['name'], str) or not service['name']:
        model_error(path + '.name', service['name'], 'expected a non-empty string')
    if service['name'] in names:
        model_error(path + '.name', service['name'], 'each name may be used once (%s[%d] has it)'
                    % (MODEL, names[service['name']]))
    names[service['name']] = index
    if service.get('owner', 'director') not in OWNERS:
        model_error(path + '.owner', service['owner'], 'expected one of %s' % ', '.join(OWNERS))
    try:
        _vip, family = address_checked(path + '.vip', service['vip'])
        if 'fwmark' in service and family != (service.get('family') or 'ipv4'):
            raise ParameterError(path + '.vip', service['vip'], 'the firewall-mark service is %s (family), so its VIP '
                                 'must be %s too' % (service.get('family') or 'ipv4', service.get('family') or 'ipv4'))
        forwarding = checked_options(dict((key, service[key]) for key in FORWARDING_KEYS if key in service),
                                     FORWARDING_OPTIONS, path + '.')
        settings = (forwarding['forwarding'],) + tunnel_settings(forwarding, path + '.')
    except ParameterError as error:
        raise AnsibleFilterError(str(error))
    prefix = service.get('vip_prefix', host_bits(family))
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 1 <= prefix <= host_bits(family):
        model_error(path + '.vip_prefix', prefix, 'expected a prefix length from 1 to %d' % host_bits(family))
    for key in ('vip_interface', 'vip_label'):
        if key in service and not (isinstance(service[key], str) and 0 < len(service[key]) <= 15):
            model_error(path + '.' + key, service[key], 'expected an interface name (1 to 15 characters)')
    if 'announce' in service:
        _check_announced(service, path, prefix, family)
    return settings, prefix


def _check_announced(service, path, prefix, family):
    """Check what an announced (active-active) service needs: director-owned, a host route, a consistent hash."""
    if service['announce'] not in ANNOUNCERS:
        model_error(path + '.announce', service['announce'], 'expected one of %s' % ', '.join(ANNOUNCERS))
    if service.get('owner', 'director') != 'director':
        model_error(path + '.owner', service['owner'], 'an announced service is owned by the director role on every '
                    'director at once: remove owner or announce')
    if prefix != host_bits(family):
        model_error(path + '.vip_prefix', prefix, 'an announced VIP is a host route: expected %d or no vip_prefix'
                    % host_bits(family))
    if service.get('scheduler', 'mh') not in CONSISTENT_HASH_FLAGS:
        model_error(path + '.scheduler', service['scheduler'], 'the directors of an announced service must pick the '
                    'same real server for a flow: expected mh (Maglev hashing, the default) or sh')


def _ipvs_item(index, service, settings, hostvars, unknown):
    """Return the ipvs_table item of one service: the VIP as address, forwarding on each real server."""
    path = '%s[%d]' % (MODEL, index)
    item = dict((key, service[key]) for key in PASSED_TO_IPVS if key in service)
    if 'announce' in service:
        item.setdefault('scheduler', 'mh')
        item.setdefault('scheduler_flags', list(CONSISTENT_HASH_FLAGS[item['scheduler']]))
    if 'fwmark' not in service:
        item['address'] = service['vip']
    realservers = service.get('realservers', [])
    if not isinstance(realservers, list):
        model_error(path + '.realservers', realservers, 'expected a list of real servers')
    forwarding = dict((key, service[key]) for key in FORWARDING_KEYS if key in service)
    forwarding['forwarding'] = settings[0]
    item['realservers'] = []
    for rs_index, entry in enumerate(realservers):
        rs_path = '%s.realservers[%d]' % (path, rs_index)
        check_keys(entry, REALSERVER_KEYS, rs_path)
        member = dict((key, entry[key]) for key in PASSED_FROM_REALSERVER if key in entry)
        member.update(forwarding, address=realserver_address(entry, hostvars, rs_path, unknown))
        item['realservers'].append(member)
    return item


def _in_model_terms(error, model, unknown):
    """Return the ParameterError of a module check renamed to the model's path and value."""
    match = _REALSERVER_PATH.match(error.name)
    if match:
        entry = model[int(match.group(2))]['realservers'][int(match.group(3))]
        if 'address' not in entry:
            if entry['host'] in unknown:
                return error.renamed(match.group(1) + '.host', entry['host'])
            return ParameterError(match.group(1) + '.host', entry['host'],
                                  'its address %s: %s' % (error.value, error.accepted))
    if re.match(r'^%s\[\d+\]\.address$' % MODEL, error.name):
        return error.renamed(error.name[:-len('address')] + 'vip', error.value)
    match = re.match(r'^%s\[(\d+)\]$' % MODEL, error.name)
    if match and isinstance(error.value, dict):  # a rule of the item (mutually_exclusive, ...): show the service
        return error.renamed(error.name, model[int(match.group(1))])
    return error


def validated_model(services, hostvars, resolve=True):
    """Return a ModelService for each service of the model, in order, or fail on the first bad value.

    With resolve=False, real servers named by a host whose address is not known yet (before facts
    are gathered) are checked with a stand-in IPv4 address.
    """
    if not isinstance(services, list):
        model_error(MODEL, services, 'expected a list of services')
    names, unknown, checked = {}, None if resolve else {}, []
    for index, service in enumerate(services):
        settings, prefix = _checked_service(index, service, names)
        checked.append((service, settings, prefix, _ipvs_item(index, service, settings, hostvars, unknown)))
    try:
        items = [checked_options(item, TABLE_SERVICE_OPTIONS, '%s[%d].' % (MODEL, index), SERVICE_KEY_RULES)
                 for index, (_service, _settings, _prefix, item) in enumerate(checked)]
        keep = wanted_table(items, where=MODEL)[0]
    except ParameterError as error:
        raise AnsibleFilterError(str(_in_model_terms(error, services, unknown or {})))
    return [ModelService(index, service, item, virtual, settings, prefix)
            for index, ((service, settings, prefix, item), virtual) in enumerate(zip(checked, keep))]


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


def _asn(path, value):
    """Return value if it is an AS number (1 to 4294967295), else fail naming path."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ASN:
        model_error(path, value, 'expected an AS number from 1 to %d' % MAX_ASN)
    return value


def _checked_router(index, router):
    """Return one upstream router of lvs_bgp.routers with its family and defaults filled in."""
    path = 'lvs_bgp.routers[%d]' % index
    check_keys(router, ROUTER_KEYS, path)
    for key in ('address', 'asn'):
        if key not in router:
            model_error('%s.%s' % (path, key), None, 'every router needs address and asn')
    try:
        address, family = address_checked(path + '.address', router['address'])
    except ParameterError as error:
        raise AnsibleFilterError(str(error))
    checked = {'address': address, 'family': family, 'asn': _asn(path + '.asn', router['asn']),
               'bfd': router.get('bfd', False)}
    if not isinstance(checked['bfd'], bool):
        model_error(path + '.bfd', router['bfd'], 'expected true or false')
    if 'password' in router:
        password = router['password']
        if not isinstance(password, str) or not 0 < len(password) <= MAX_TCP_MD5_KEY or \
                any(character.isspace() for character in password):
            model_error(path + '.password', '(hidden)', 'expected a TCP MD5 key of 1 to %d characters without spaces'
                        % MAX_TCP_MD5_KEY)
        checked['password'] = password
    return checked


def _ipvsadm_key(key):
    """Return how ipvsadm -Ln names a service: 'TCP 192.0.2.10:80', 'TCP [2001:db8::10]:80' or 'FWM 7'."""
    if key.fwmark:
        return 'FWM %d' % key.fwmark
    address = '[%s]' % key.address if ':' in key.address else key.address
    return '%s %s:%d' % (key.protocol.upper(), address, key.port)


def validated_bgp(checked, bgp, hostname, variables, resolve=True):
    """Return a director's BGP settings for the announced services of checked (validated_model's result), or None.

    bgp is lvs_bgp (the upstream routers, the directors' ASN); variables are the director's host vars, which may
    set lvs_bgp_asn and lvs_bgp_router_id (default: the default IPv4 address from its facts, needed when resolve).
    """
    announced = [item for item in checked if 'announce' in item.service]
    if bgp is None and not announced:
        return None
    if not isinstance(bgp, dict):
        where = ' (%s[%d] announces its VIP)' % (MODEL, announced[0].index) if announced else ''
        model_error('lvs_bgp', bgp, 'expected a dict with routers and asn%s' % where)
    check_keys(bgp, BGP_KEYS, 'lvs_bgp')
    routers = bgp.get('routers')
    if not isinstance(routers, list) or not routers:
        model_error('lvs_bgp.routers', routers, 'expected a list of one or more upstream routers')
    routers = [_checked_router(index, router) for index, router in enumerate(routers)]
    seen = {}
    for index, router in enumerate(routers):
        if router['address'] in seen:
            model_error('lvs_bgp.routers[%d].address' % index, router['address'],
                        'each router may appear once (lvs_bgp.routers[%d] has it)' % seen[router['address']])
        seen[router['address']] = index
    host_path = "hostvars['%s']." % hostname
    if 'lvs_bgp_asn' in variables:
        asn = _asn(host_path + 'lvs_bgp_asn', variables['lvs_bgp_asn'])
    elif 'asn' in bgp:
        asn = _asn('lvs_bgp.asn', bgp['asn'])
    else:
        model_error('lvs_bgp.asn', None, 'the directors need an AS number: set lvs_bgp.asn or lvs_bgp_asn for each')
    router_id = variables.get('lvs_bgp_router_id') or default_ipv4_address(variables)
    if router_id is not None:
        try:
            router_id, family = address_checked(host_path + 'lvs_bgp_router_id', router_id)
        except ParameterError as error:
            raise AnsibleFilterError(str(error))
        if family != 'ipv4':
            model_error(host_path + 'lvs_bgp_router_id', router_id, 'a BGP router ID is an IPv4 address')
    elif resolve:
        model_error(host_path + 'lvs_bgp_router_id', None, 'set it (an IPv4 address) or gather the facts of the host')
    vips = {}
    for item in announced:
        family = item.virtual.key.family
        if not any(router['family'] == family for router in routers):
            model_error('%s[%d].vip' % (MODEL, item.index), item.service['vip'], 'an announced %s VIP needs an %s '
                        'router in lvs_bgp.routers' % (family.replace('ipv', 'IPv'), family.replace('ipv', 'IPv')))
        address = str(ipaddress.ip_address(item.service['vip']))
        vip = vips.setdefault(address, {'vip': address, 'prefix': item.vip_prefix, 'family': family, 'services': []})
        vip['services'].append(_ipvsadm_key(item.virtual.key))
    return {'asn': asn, 'router_id': router_id, 'routers': routers, 'vips': list(vips.values()),
            'bfd': any(router['bfd'] for router in routers)}
