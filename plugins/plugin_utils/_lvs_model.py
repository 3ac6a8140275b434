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
}
REALSERVER_KEYS = {'host', 'address', 'port', 'weight', 'upper_threshold', 'lower_threshold', 'state'}
PASSED_TO_IPVS = ('protocol', 'port', 'fwmark', 'family', 'scheduler', 'scheduler_flags', 'persistence_timeout',
                  'persistence_netmask', 'one_packet')
FORWARDING_KEYS = ('forwarding', 'tunnel_type', 'tunnel_port', 'tunnel_checksum')
FORWARDING_OPTIONS = dict((key, REALSERVER_OPTIONS[key]) for key in FORWARDING_KEYS)
PASSED_FROM_REALSERVER = ('port', 'weight', 'upper_threshold', 'lower_threshold', 'state')
OWNERS = ('director', 'keepalived')
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
    return settings, prefix


def _ipvs_item(index, service, settings, hostvars, unknown):
    """Return the ipvs_table item of one service: the VIP as address, forwarding on each real server."""
    path = '%s[%d]' % (MODEL, index)
    item = dict((key, service[key]) for key in PASSED_TO_IPVS if key in service)
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
