# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the IPVS modules, and their translation into the table model.

Private to the lvs.cluster collection; not a public API.
Every check runs before the kernel is touched; a bad value raises ParameterError naming the
parameter (with its path inside lists), the value and what would be accepted.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.common.parameters import DEFAULT_TYPE_VALIDATORS

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    MAX_THRESHOLD, MAX_WEIGHT, SCHEDULERS, SCHEDULERS_WITH_FLAGS, RealServer, ServiceKey, VirtualService,
    address_family, host_bits,
)

MAX_PERSISTENCE_TIMEOUT = 31 * 86400
MAX_FWMARK = 2 ** 32 - 1

BACKEND_OPTIONS = dict(backend=dict(type='str', choices=['auto', 'netlink', 'ipvsadm'], default='auto'))

SERVICE_KEY_OPTIONS = dict(
    protocol=dict(type='str', choices=['tcp', 'udp', 'sctp'], default='tcp'),
    address=dict(type='str'),
    port=dict(type='int'),
    fwmark=dict(type='int'),
    family=dict(type='str', choices=['ipv4', 'ipv6']),
)
SERVICE_KEY_RULES = dict(
    mutually_exclusive=[('address', 'fwmark'), ('port', 'fwmark')],
    required_one_of=[('address', 'fwmark')],
    required_together=[('address', 'port')],
)

REALSERVER_OPTIONS = dict(
    address=dict(type='str', required=True),
    port=dict(type='int'),
    forwarding=dict(type='str', choices=['dr', 'nat', 'tun'], default='dr'),
    weight=dict(type='int', default=1),
    upper_threshold=dict(type='int', default=0),
    lower_threshold=dict(type='int', default=0),
    tunnel_type=dict(type='str', choices=['ipip', 'gue', 'gre']),
    tunnel_port=dict(type='int'),
    tunnel_checksum=dict(type='str', choices=['nocsum', 'csum', 'remcsum']),
)

SERVICE_SETTINGS_OPTIONS = dict(
    scheduler=dict(type='str', default='wlc'),
    scheduler_flags=dict(type='list', elements='str', default=[],
                         choices=['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port']),
    persistence_timeout=dict(type='int', default=0),
    persistence_netmask=dict(type='str'),
    one_packet=dict(type='bool', default=False),
)


def _converted(value, kind, name):
    """Return value converted to kind by the converter AnsibleModule uses for that type."""
    try:
        return DEFAULT_TYPE_VALIDATORS[kind](value)
    except (TypeError, ValueError, OverflowError) as error:  # OverflowError: int of an infinite float
        raise ParameterError(name, value, 'expected %s (%s)' % (kind, error))


def _chosen(value, choices, name):
    for item in value if isinstance(value, list) else [value]:
        if item not in choices:
            raise ParameterError(name, item, 'expected one of %s' % ', '.join(map(str, choices)))


# The types whose values need no conversion when they already have the type; every other type
# (path, whose value is expanded, included) always goes through its converter.
_EXACT_TYPES = {'str': str, 'int': int, 'bool': bool, 'list': list, 'dict': dict}
_COMPILED = {}
_MISSING = object()


def _compiled(options):
    """Return (names, names with a default, fields) of an argument spec, worked out once per spec and kept.

    fields: (name, type, its Python class if no conversion is needed, default, choices, required, suboptions,
    elements) for each option.
    """
    entry = _COMPILED.get(id(options))
    if entry is None or entry[0] is not options:
        fields = tuple((name, spec.get('type', 'str'), _EXACT_TYPES.get(spec.get('type', 'str')), spec.get('default'),
                        spec.get('choices'), spec.get('required', False), spec.get('options'), spec.get('elements'))
                       for name, spec in options.items())
        for field in fields:
            if field[1] not in DEFAULT_TYPE_VALIDATORS or (field[7] or 'str') not in DEFAULT_TYPE_VALIDATORS:
                raise ValueError('option %s: type %s is not one AnsibleModule knows' % (field[0], field[1]))
        defaulted = frozenset(field[0] for field in fields if field[3] is not None)
        entry = _COMPILED[id(options)] = (options, frozenset(options), defaulted, fields)
    return entry[1:]


def _dict_item(value, name):
    """Return value as a dict, converted as AnsibleModule converts list elements of type dict."""
    if value.__class__ is dict:
        return value
    return _converted(value, 'dict', name)


def checked_options(params, options, where='', rules=None):
    """Return params checked against an argument spec (options, and rules of its dict) with defaults filled in.

    The same checks and conversions AnsibleModule runs for suboptions (unknown keys, required, type,
    choices, elements, mutually_exclusive, required_one_of, required_together), with its converters,
    done directly: validating 37,000 nested dicts with AnsibleModule costs a second of CPU, this a
    tenth of it. A key given as None counts as given, as for AnsibleModule: it is converted when the
    option is required or has a default, and checked against the choices. where prefixes the names
    in errors; the first error found is raised (AnsibleModule lists them all).
    tests/unit/plugins/module_utils/test_checked_options_parity.py proves both agree.
    """
    params = _dict_item(params, where.rstrip('.') or 'item')
    names, defaulted, fields = _compiled(options)
    if not names.issuperset(params):
        unknown = sorted(set(params) - names)[0]
        raise ParameterError(where + unknown, params[unknown],
                             'not an option here; expected one of %s' % ', '.join(sorted(options)))
    if rules:
        _check_rules(params, defaulted, rules, where)
    result = {}
    for name, kind, exact_type, default, choices, required, suboptions, elements in fields:
        value = params.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise ParameterError(where + name, None, 'this option is required')
            result[name] = list(default) if default.__class__ is list else default
            continue
        if value is None and not required and default is None:
            if choices is not None:
                raise ParameterError(where + name, None, 'expected one of %s' % ', '.join(map(str, choices)))
            result[name] = None
            continue
        if value.__class__ is not exact_type:
            value = _converted(value, kind, where + name)
        if suboptions is not None:
            value = [checked_options(item, suboptions, '%s%s[%d].' % (where, name, index))
                     for index, item in enumerate(value if kind == 'list' else [value])]
            value = value if kind == 'list' else value[0]
        elif elements is not None:
            value = [_converted(item, elements, where + name) for item in value]
        if choices is not None:
            _chosen(value, choices, where + name)
        result[name] = value
    return result


def _check_rules(params, defaulted, rules, where):
    """Check mutually_exclusive, required_one_of and required_together of a dict's rules.

    As for AnsibleModule, a key counts when it is given (even as None); for required_one_of and
    required_together an option with a default counts too.
    """
    given = set(params)
    for group in rules.get('mutually_exclusive', ()):
        if len(given.intersection(group)) > 1:
            raise ParameterError(where.rstrip('.') or 'item', params, 'only one of %s may be set' % ', '.join(group))
    given |= defaulted
    for group in rules.get('required_one_of', ()):
        if not given.intersection(group):
            raise ParameterError(where.rstrip('.') or 'item', params, 'one of %s is required' % ', '.join(group))
    for group in rules.get('required_together', ()):
        if 0 < len(given.intersection(group)) < len(group):
            raise ParameterError(where.rstrip('.') or 'item', params, '%s must be set together' % ', '.join(group))


def realservers_option(states):
    """Return the spec of a ``realservers`` list whose items may take the given states."""
    options = dict(REALSERVER_OPTIONS, state=dict(type='str', choices=list(states), default='present'))
    return dict(type='list', elements='dict', options=options)


def _in_range(name, value, low, high):
    if not low <= value <= high:
        raise ParameterError(name, value, 'expected an integer from %d to %d' % (low, high))
    return value


def address_checked(name, value):
    """Return (canonical address, family) of value, or raise the ParameterError for name.

    A scoped IPv6 address (fe80::1%eth0) is refused: IPVS addresses carry no zone, and the
    netlink message has no room for one.
    """
    try:
        address, family = address_family(value)
    except (TypeError, ValueError):
        raise ParameterError(name, value, 'expected an IPv4 or IPv6 address without prefix or port')
    if '%' in address:
        raise ParameterError(name, value, 'expected an address without a %zone: IPVS addresses have no scope')
    return address, family


# The kernel's own checks of user input, mirrored so that a refusal names its parameter before
# anything is written (net/netfilter/ipvs/ip_vs_ctl.c of Linux 6.1, Debian 12's kernel):
# - ip_vs_add_dest() and ip_vs_edit_dest(): "server weight less than zero" (-ERANGE) -> weight 0 to
#   MAX_WEIGHT; "lower threshold is higher than upper threshold" (-ERANGE, also when the upper one
#   is 0) -> lower_threshold <= upper_threshold; "tunnel port is zero" for GUE (-EINVAL) ->
#   tunnel_port 1 to 65535; u_threshold above INT_MAX (-EINVAL, later kernels) -> MAX_THRESHOLD.
# - ip_vs_new_dest(): an IPv6 destination that is not unicast or is link-local (-EINVAL), an IPv4 one
#   inet_addr_type() does not call local or unicast: 0.0.0.0/8, 255.255.255.255 (RTN_BROADCAST) and
#   multicast (-EINVAL) -> _realserver_address().
# - ip_vs_genl_set_cmd(): a destination of another family than its service unless it is tunnelled
#   (-EINVAL) -> realserver().
# - ip_vs_add_service() and ip_vs_edit_service(): an IPv6 persistence netmask (prefix) outside 1-128
#   (-EINVAL) -> _persistence_prefix().
# - ip_vs_genl_parse_service(): neither fwmark nor protocol, address and port (-EINVAL) -> SERVICE_KEY_RULES.
# What depends on the host's state (a scheduler module missing, -ENOENT; mixed families while a sync
# daemon runs, -EINVAL) is checked on the host: _ipvs_client.check_schedulers().
_UNUSABLE_REALSERVER_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    '0.0.0.0/8', '255.255.255.255/32', '224.0.0.0/4', '::/128', 'ff00::/8', 'fe80::/10'))


def _realserver_address(name, value):
    """Return (address, family) of a real server, refusing the addresses ip_vs_new_dest() refuses."""
    address, family = address_checked(name, value)
    parsed = ipaddress.ip_address(address)
    for network in _UNUSABLE_REALSERVER_NETWORKS:
        if parsed in network:
            raise ParameterError(name, value, 'expected a unicast address; the kernel refuses a real server in %s'
                                 % network)
    return address, family


def service_key(params, where=''):
    """Return the ServiceKey that params (protocol, address, port | fwmark, family) name."""
    if params.get('fwmark') is not None:
        fwmark = _in_range(where + 'fwmark', params['fwmark'], 1, MAX_FWMARK)
        return ServiceKey(family=params.get('family') or 'ipv4', protocol='tcp', fwmark=fwmark)
    address, family = address_checked(where + 'address', params['address'])
    if params.get('family') not in (None, family):
        raise ParameterError(where + 'family', params['family'],
                             'address %s is %s; omit family or set it to %s' % (address, family, family))
    port = _in_range(where + 'port', params['port'], 1, 65535)
    return ServiceKey(family=family, protocol=params['protocol'], address=address, port=port)


def _persistence_prefix(params, family, where):
    netmask = params.get('persistence_netmask')
    if netmask is None:
        return host_bits(family)
    name = where + 'persistence_netmask'
    if not params['persistence_timeout']:
        raise ParameterError(name, netmask, 'a persistence netmask needs persistence_timeout above 0')
    if family == 'ipv4' and not str(netmask).isdigit():
        try:
            prefix = ipaddress.IPv4Network('0.0.0.0/%s' % netmask).prefixlen
        except ValueError:
            prefix = 0
        if not prefix:
            raise ParameterError(name, netmask, 'expected a netmask such as 255.255.255.0 or a prefix length 1-32')
        return prefix
    if not str(netmask).isdigit():
        raise ParameterError(name, netmask, 'expected a prefix length from 1 to 128 for an IPv6 service')
    return _in_range(name, int(netmask), 1, host_bits(family))


def _scheduler(params, where):
    scheduler = params['scheduler']
    if not re.match(r'^[a-z0-9_]{1,15}$', scheduler):
        raise ParameterError(where + 'scheduler', scheduler, 'expected one of %s' % ', '.join(SCHEDULERS))
    for flag in params['scheduler_flags']:
        if flag.split('-')[0] != scheduler:
            raise ParameterError(where + 'scheduler_flags', flag,
                                 'flags of the %s scheduler need scheduler: %s (flags exist for %s only)'
                                 % (flag.split('-')[0], flag.split('-')[0], ' and '.join(SCHEDULERS_WITH_FLAGS)))
    return scheduler


def virtual_service(params, where=''):
    """Return the VirtualService (without real servers) that params describe."""
    key = service_key(params, where)
    timeout = _in_range(where + 'persistence_timeout', params['persistence_timeout'], 0, MAX_PERSISTENCE_TIMEOUT)
    return VirtualService(
        key=key, scheduler=_scheduler(params, where), scheduler_flags=tuple(params['scheduler_flags']),
        persistence_timeout=timeout, persistence_prefix=_persistence_prefix(params, key.family, where),
        one_packet=params['one_packet'],
    )


def tunnel_settings(params, where):
    """Return (type, port, checksum) after checking the tunnel options fit the forwarding method."""
    tunnel_type, port, checksum = params.get('tunnel_type'), params.get('tunnel_port'), params.get('tunnel_checksum')
    if params['forwarding'] != 'tun':
        for name, value in (('tunnel_type', tunnel_type), ('tunnel_port', port), ('tunnel_checksum', checksum)):
            if value is not None:
                raise ParameterError(where + name, value,
                                     'tunnel options need forwarding: tun (forwarding is %s)' % params['forwarding'])
        return 'ipip', 0, 'nocsum'
    tunnel_type = tunnel_type or 'ipip'
    if tunnel_type == 'gue':
        if port is None:
            raise ParameterError(where + 'tunnel_port', port, 'tunnel_type gue needs a tunnel_port from 1 to 65535')
        _in_range(where + 'tunnel_port', port, 1, 65535)
    elif port is not None:
        raise ParameterError(where + 'tunnel_port', port, 'only tunnel_type gue takes a port (type is %s)' % tunnel_type)
    if tunnel_type == 'ipip' and checksum is not None:
        raise ParameterError(where + 'tunnel_checksum', checksum, 'ipip has no checksum option; use gue or gre')
    return tunnel_type, port or 0, checksum or 'nocsum'


def realserver(params, key, where=''):
    """Return the RealServer that params describe, checked against the service key it belongs to."""
    address, family = _realserver_address(where + 'address', params['address'])
    forwarding = params['forwarding']
    if family != key.family and forwarding != 'tun':
        raise ParameterError(where + 'address', address,
                             'the service is %s, so the real server must be %s too (mixed families need '
                             'forwarding: tun)' % (key.family, key.family))
    port = params.get('port')
    if key.fwmark:
        port = _in_range(where + 'port', port or 0, 0, 65535)
    elif port is None:
        port = key.port
    elif forwarding in ('dr', 'tun') and port != key.port and params.get('state') != 'absent':
        raise ParameterError(where + 'port', port, 'forwarding %s delivers packets to the service port %d unchanged; '
                                                   'omit port, set it to %d, or use forwarding: nat'
                             % (forwarding, key.port, key.port))
    else:
        _in_range(where + 'port', port, 1, 65535)
    upper = _in_range(where + 'upper_threshold', params['upper_threshold'], 0, MAX_THRESHOLD)
    lower = _in_range(where + 'lower_threshold', params['lower_threshold'], 0, MAX_THRESHOLD)
    if lower > upper:
        raise ParameterError(where + 'lower_threshold', lower,
                             'expected at most upper_threshold (%d): the kernel refuses a lower threshold above the '
                             'upper one, also when upper_threshold is 0 (no limit)' % upper)
    tunnel_type, tunnel_port, tunnel_checksum = tunnel_settings(params, where)
    weight = _in_range(where + 'weight', params['weight'], 0, MAX_WEIGHT)
    if params.get('state') == 'drained':
        weight = 0
    return RealServer(address=address, port=port, forwarding=forwarding, weight=weight,
                      upper_threshold=upper, lower_threshold=lower, tunnel_type=tunnel_type,
                      tunnel_port=tunnel_port, tunnel_checksum=tunnel_checksum)


def service_with_realservers(params, where=''):
    """Return (VirtualService with its present/drained real servers, keys of real servers to remove)."""
    service = virtual_service(params, where)
    absent = []
    for index, item in enumerate(params.get('realservers') or []):
        item_where = '%srealservers[%d].' % (where, index)
        member = realserver(item, service.key, item_where)
        member_key = member.key
        if member_key in service.realservers or member_key in absent:
            raise ParameterError(item_where + 'address', '%s port %d' % member_key,
                                 'each real server may appear once in a service')
        if item['state'] == 'absent':
            absent.append(member_key)
        else:
            service.realservers[member_key] = member
    return service, absent


# The options of one item of ipvs_table's services (and of one service of the lvs_virtual_services model).
TABLE_SERVICE_OPTIONS = dict(SERVICE_KEY_OPTIONS, **SERVICE_SETTINGS_OPTIONS,
                             realservers=dict(realservers_option(['present', 'drained', 'absent']), default=[]),
                             state=dict(type='str', choices=['present', 'absent'], default='present'))


def wanted_table(services, excluded=(), where='services'):
    """Return (services to keep, keys of services to delete, real servers to delete per service key).

    services are checked TABLE_SERVICE_OPTIONS items; where names their list in errors.
    """
    keep, delete, absent_realservers, seen = [], [], {}, {}
    for index, params in enumerate(services):
        item_where = '%s[%d]' % (where, index)
        service, absent = service_with_realservers(params, item_where + '.')
        if service.key in seen:
            raise ParameterError(item_where, service.key.switches(),
                                 'each service may appear once (%s[%d] is the same service)' % (where, seen[service.key]))
        if service.key in excluded:
            raise ParameterError(item_where, service.key.switches(),
                                 'a service listed in exclude, which this task must leave alone')
        seen[service.key] = index
        if params['state'] == 'absent':
            delete.append(service.key)
        else:
            keep.append(service)
            absent_realservers[service.key] = absent
    return keep, delete, absent_realservers
