# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn lvs_virtual_services into keepalived's virtual_server and vrrp_instance settings."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import host_bits
from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import (
    check_keys as _keys, default_ipv4_address, validated_model, vip_interface,
)

CHECKERS = {'http_get': 'HTTP_GET', 'ssl_get': 'SSL_GET', 'tcp_check': 'TCP_CHECK', 'misc_check': 'MISC_CHECK'}
CHECK_KEYS = {
    'http_get': {'path', 'status_code', 'digest', 'virtualhost', 'http_protocol'},
    'ssl_get': {'path', 'status_code', 'digest', 'virtualhost', 'http_protocol', 'enable_sni'},
    'tcp_check': set(),
    'misc_check': {'script', 'dynamic'},
    'none': set(),
}
COMMON_CHECK_KEYS = {'type', 'port', 'interval', 'timeout', 'retry', 'delay_before_retry', 'warmup'}
KEEPALIVED_KEYS = {'quorum', 'hysteresis', 'inhibit_on_failure', 'alpha', 'omega', 'quorum_up', 'quorum_down',
                   'vrrp_instance', 'virtualhost'}
HTTP_PROTOCOLS = ('1.0', '1.0C', '1.1')
INSTANCE_KEYS = {'name', 'virtual_router_id', 'interface', 'master', 'advert_int', 'vrrp_version', 'priority'}


def _fail(where, message):
    """Fail the play: where (a path such as lvs_virtual_services[0].health_check.port) and what is wrong."""
    raise AnsibleFilterError('%s: %s' % (where, message))


def _number(value, where, low, high=None, kind=int):
    """Return value as kind when low <= value <= high, else fail naming where and the range."""
    try:
        number = kind(value)
        valid = not isinstance(value, bool) and number >= low and (high is None or number <= high)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        upper = ' to %s' % high if high is not None else ' up'
        _fail(where, '%r is not a %s from %s%s' % (value, 'number' if kind is float else 'whole number', low, upper))
    return number


def _seconds(value, where):
    """Return a keepalived timer (seconds, fractions allowed) rendered without a useless .0."""
    number = _number(value, where, 0, kind=float)
    return int(number) if number == int(number) else number


def _bool(value, where):
    if not isinstance(value, bool):
        _fail(where, '%r is not a boolean (true or false)' % (value,))
    return value


def _status_codes(value, where):
    """Return keepalived's status_code argument from 200, '200-299' or a list of those."""
    codes = value if isinstance(value, list) else [value]
    for code in codes:
        low, _dash, high = str(code).partition('-')
        _number(low if high else code, where, 100, 599)
        if high:
            _number(high, where, int(low), 599)
    return ' '.join(str(code) for code in codes)


def checker(check, where):
    """Return the checker dict of one real server, or None for type none."""
    check = dict(check or {'type': 'tcp_check'})
    kind = check.get('type', 'tcp_check')
    if kind not in CHECK_KEYS:
        _fail(where + '.type', '%r is not one of %s' % (kind, ', '.join(sorted(CHECK_KEYS))))
    _keys(check, COMMON_CHECK_KEYS | CHECK_KEYS[kind], where)
    if kind == 'none':
        return None
    result = {'type': CHECKERS[kind]}
    for key in ('delay_before_retry', 'warmup'):
        if key in check:
            result[key] = _seconds(check[key], '%s.%s' % (where, key))
    if 'retry' in check:
        result['retry'] = _number(check['retry'], where + '.retry', 0)
    if kind == 'misc_check':
        if not check.get('script'):
            _fail(where + '.script', 'misc_check needs script, the command to run ({address} and {port} are '
                  'replaced by the real server\'s)')
        result['misc_path'] = str(check['script'])
        if 'timeout' in check:
            result['misc_timeout'] = _number(check['timeout'], where + '.timeout', 1)
        result['misc_dynamic'] = _bool(check.get('dynamic', False), where + '.dynamic')
        return result
    if 'port' in check:
        result['connect_port'] = _number(check['port'], where + '.port', 1, 65535)
    if 'timeout' in check:
        result['connect_timeout'] = _seconds(check['timeout'], where + '.timeout')
    if kind in ('http_get', 'ssl_get'):
        path = check.get('path', '/')
        if not isinstance(path, str) or not path.startswith('/') or any(char.isspace() for char in path):
            _fail(where + '.path', '%r is not a URL path (starts with /, no spaces)' % (path,))
        result['path'] = path
        result['status_code'] = _status_codes(check.get('status_code', 200), where + '.status_code')
        for key in ('digest', 'virtualhost'):
            if check.get(key):
                result[key] = str(check[key])
        if 'http_protocol' in check:
            if str(check['http_protocol']) not in HTTP_PROTOCOLS:
                _fail(where + '.http_protocol',
                      '%r is not one of %s' % (check['http_protocol'], ', '.join(HTTP_PROTOCOLS)))
            result['http_protocol'] = str(check['http_protocol'])
        if kind == 'ssl_get' and _bool(check.get('enable_sni', False), where + '.enable_sni'):
            result['enable_sni'] = True
    return result


def lvs_method(checked):
    """Return keepalived's lvs_method argument: DR, NAT or TUN with its tunnel type (settings already checked)."""
    forwarding, tunnel, port, _checksum = checked.forwarding
    if forwarding != 'tun':
        return forwarding.upper()
    method = 'TUN type %s' % tunnel + (' port %d' % port if tunnel == 'gue' else '')
    if checked.service.get('tunnel_checksum'):
        method += ' %s' % checked.service['tunnel_checksum']
    return method


def _options(checked, where):
    """Return the virtual_server options from a service's keepalived and sorry_server keys and its checked settings."""
    service, virtual = checked.service, checked.virtual
    settings = service.get('keepalived') or {}
    _keys(settings, KEEPALIVED_KEYS, where + '.keepalived')
    options = {}
    for key in ('quorum', 'hysteresis'):
        if key in settings:
            options[key] = _number(settings[key], '%s.keepalived.%s' % (where, key), 0)
    for key in ('inhibit_on_failure', 'alpha', 'omega'):
        options[key] = _bool(settings.get(key, False), '%s.keepalived.%s' % (where, key))
    for key in ('quorum_up', 'quorum_down', 'virtualhost'):
        if settings.get(key):
            options[key] = str(settings[key])
    options['flags'] = list(virtual.scheduler_flags)
    options['ops'] = virtual.one_packet
    if virtual.persistence_timeout:
        options['persistence_timeout'] = virtual.persistence_timeout
        if virtual.persistence_prefix != host_bits(virtual.key.family):
            options['persistence_granularity'] = virtual.netmask_text()
    if service.get('sorry_server'):
        sorry = service['sorry_server']
        _keys(sorry, {'address', 'port'}, where + '.sorry_server')
        if 'address' not in sorry:
            _fail(where + '.sorry_server', 'needs address (and port, default the service port)')
        port = _number(sorry.get('port', virtual.key.port), where + '.sorry_server.port', 0, 65535)
        if checked.forwarding[0] != 'nat' and port != virtual.key.port:
            _fail(where + '.sorry_server.port', '%r: DR and TUN cannot change the port; the sorry server must listen '
                  'on the service port %s' % (port, virtual.key.port))
        options['sorry_server'] = '%s %d' % (sorry['address'], port)
    return options


def keepalived_virtual_servers(services, hostvars):
    """Return the services keepalived owns as keepalived.conf virtual_server dicts."""
    result = []
    for checked in validated_model(services, hostvars):
        service, key = checked.service, checked.virtual.key
        if service.get('owner', 'director') != 'keepalived':
            continue
        where = 'lvs_virtual_services[%d]' % checked.index
        server = dict(_options(checked, where), name=service['name'],
                      head='fwmark %d' % key.fwmark if key.fwmark else '%s %d' % (key.address, key.port),
                      protocol=None if key.fwmark else key.protocol.upper(),
                      lvs_sched=checked.virtual.scheduler, lvs_method=lvs_method(checked))
        check = service.get('health_check')
        if key.fwmark and (check or {}).get('type', 'tcp_check') not in ('misc_check', 'none') \
                and 'port' not in (check or {}):
            _fail(where + '.health_check.port', 'a firewall-mark service has no port: say which port the checker '
                  'connects to')
        server['delay_loop'] = _seconds((check or {}).get('interval', 6), where + '.health_check.interval')
        server['real_servers'] = []
        for member in checked.virtual.realservers.values():
            port = None if key.fwmark else member.port
            real_server = {'address': member.address, 'port': port, 'weight': member.weight,
                           'checker': checker(check, where + '.health_check')}
            for name, option in (('upper_threshold', 'uthreshold'), ('lower_threshold', 'lthreshold')):
                if getattr(member, name):
                    real_server[option] = getattr(member, name)
            if real_server['checker'] and 'misc_path' in real_server['checker']:
                real_server['checker'] = dict(real_server['checker'], misc_path=real_server['checker']['misc_path']
                                              .format(address=member.address, port=port))
            server['real_servers'].append(real_server)
        server['vrrp_instance'] = (service.get('keepalived') or {}).get('vrrp_instance')
        server['vip'] = service['vip']
        server['vip_prefix'] = checked.vip_prefix
        server['vip_interface'] = service.get('vip_interface')
        server['vip_label'] = service.get('vip_label')
        result.append(server)
    return result


def _unicast(settings, hostvars, hostname, group):
    """Return (source address, peers) of unicast adverts, or (None, []) for multicast."""
    def address(host):
        variables = hostvars[host]
        found = variables.get('keepalived_ha_address') or default_ipv4_address(variables)
        if not found:
            _fail('keepalived_ha_unicast', 'no address known for %r: set keepalived_ha_address or gather its facts'
                  % host)
        return found
    if settings.get('unicast_peers'):
        return address(hostname), list(settings['unicast_peers'])
    if _bool(settings.get('unicast', False), 'keepalived_ha_unicast'):
        return address(hostname), [address(host) for host in group if host != hostname]
    return None, []


def keepalived_vrrp_instances(virtual_servers, hostvars, hostname, settings):
    """Return this host's VRRP instances: name, router id, interface, priority, state, peers and VIPs.

    virtual_servers is the output of keepalived_virtual_servers; settings holds the role's variables
    without their keepalived_ha_ prefix: instances, group (its first host is the default master),
    interface, advert_int, vrrp_version, priority (this host's override, or None), priority_master,
    priority_backup, nopreempt, preempt_delay, auth (whether PASS authentication is set), unicast,
    unicast_peers, track_interfaces.
    """
    instances, group = settings['instances'], list(settings['group'])
    if not instances:
        _fail('keepalived_ha_instances', 'at least one VRRP instance is needed')
    if hostname not in group:
        _fail('keepalived_ha_group', '%r is not a member of the group that shares the VIPs (%s)'
              % (hostname, ', '.join(group)))
    names = [instance.get('name') for instance in instances]
    unknown = [server['name'] for server in virtual_servers if server['vrrp_instance'] not in names + [None]]
    if unknown:
        _fail('lvs_virtual_services', 'services %s name a keepalived.vrrp_instance that keepalived_ha_instances does '
              'not have (%s)' % (', '.join(unknown), ', '.join(map(str, names))))
    source, peers = _unicast(settings, hostvars, hostname, group)
    preempting = not settings['nopreempt'] and not settings['preempt_delay']
    result = []
    for index, instance in enumerate(instances):
        where = 'keepalived_ha_instances[%d]' % index
        _keys(instance, INSTANCE_KEYS, where)
        for key in ('name', 'virtual_router_id'):
            if key not in instance:
                _fail(where, 'missing key %r' % key)
        if names.count(instance['name']) > 1:
            _fail(where + '.name', '%r is used twice' % instance['name'])
        master = instance.get('master', group[0])
        if master not in group:
            _fail(where + '.master', '%r is not one of %s' % (master, ', '.join(group)))
        version = _number(instance.get('vrrp_version', settings['vrrp_version']), where + '.vrrp_version', 2, 3)
        advert = _seconds(instance.get('advert_int', settings['advert_int']), where + '.advert_int')
        if advert <= 0 or (version == 2 and advert != int(advert)):
            _fail(where + '.advert_int', '%r: VRRPv2 advertises every 1 to 255 whole seconds; VRRPv3 (vrrp_version '
                  '3) takes fractions down to 0.01' % (advert,))
        if settings.get('auth') and version != 2:
            _fail('keepalived_ha_auth_pass', 'PASS authentication exists in VRRPv2 only (instance %r uses version '
                  '%d)' % (instance['name'], version))
        if 'priority' in instance:
            priority = _number(instance['priority'], where + '.priority', 1, 254)
        elif settings.get('priority'):
            priority = _number(settings['priority'], 'keepalived_ha_priority', 1, 254)
        elif hostname == master:
            priority = _number(settings['priority_master'], 'keepalived_ha_priority_master', 2, 254)
        else:
            priority = max(1, _number(settings['priority_backup'], 'keepalived_ha_priority_backup', 1, 254)
                           - group.index(hostname))
        vips = [server for server in virtual_servers
                if (server['vrrp_instance'] or instances[0]['name']) == instance['name']]
        vips = sorted(dict((server['vip'], server) for server in vips).values(), key=lambda item: item['vip'])
        interface = instance.get('interface') or settings.get('interface') or (
            vip_interface(vips[0]['vip'], hostvars[hostname].get('ansible_facts', {})) if vips else None)
        if not interface:
            _fail(where + '.interface', 'no interface known for instance %r: set interface, keepalived_ha_interface '
                  'or gather facts' % instance['name'])
        for tracked in settings.get('track_interfaces', []):
            if (tracked.get('name') if isinstance(tracked, dict) else tracked) == interface:
                _fail('keepalived_ha_track_interfaces', '%r is the interface of instance %r, which keepalived always '
                      'tracks; list other interfaces' % (interface, instance['name']))
        result.append({
            'name': instance['name'], 'interface': interface,
            'virtual_router_id': _number(instance['virtual_router_id'], where + '.virtual_router_id', 1, 255),
            'state': 'MASTER' if hostname == master and preempting else 'BACKUP',
            'priority': priority, 'advert_int': advert, 'vrrp_version': version,
            'unicast_src_ip': source, 'unicast_peers': peers,
            'vips': [dict((key, server[key]) for key in ('vip', 'vip_prefix', 'vip_interface', 'vip_label'))
                     for server in vips],
        })
    return result


class FilterModule:
    """lvs.cluster's keepalived filters."""

    def filters(self):
        return {'keepalived_virtual_servers': keepalived_virtual_servers,
                'keepalived_vrrp_instances': keepalived_vrrp_instances}
