"""playbooks/site.yml refuses each bad model on the controller, before any host is contacted.

One ansible-playbook run checks every model of BAD_MODELS: each is the lvs_virtual_services of its
own inventory host. The hosts' ssh is a tripwire that records any connection attempt; a second run
with a good model shows that the tripwire does record one (at fact gathering).
"""

from __future__ import annotations

import os

import pytest

SITE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'playbooks', 'site.yml')
PLAY = 'Check lvs_virtual_services on the controller, before any host is contacted'


def web(**changes):
    """Return a valid DR service on 192.0.2.10:80 with two real servers, changes merged in (None removes a key)."""
    service = {'name': 'web', 'vip': '192.0.2.10', 'port': 80, 'scheduler': 'wrr',
               'realservers': [{'address': '198.51.100.11'}, {'host': 'web1', 'weight': 2}]}
    service.update(changes)
    return dict((key, value) for key, value in service.items() if value is not None)


def member(**changes):
    return [dict({'address': '198.51.100.11'}, **changes)]


GOOD = [web(), web(name='dns', protocol='udp', port=53, owner='keepalived', realservers=member()),
        web(name='mark', fwmark=7, port=None, vip='192.0.2.11', forwarding='tun', tunnel_type='gue', tunnel_port=6080)]

# (lvs_virtual_services, the start of the message: path, value and what would be accepted)
BAD_MODELS = {
    'port_range': ([web(port=70000)], "lvs_virtual_services[0].port: 70000 is not valid; expected an integer from 1 "
                                      "to 65535"),
    'port_zero': ([web(port=0)], 'lvs_virtual_services[0].port: 0 is not valid; expected an integer from 1 to 65535'),
    'port_type': ([web(port='http')], "lvs_virtual_services[0].port: 'http' is not valid; expected int"),
    'weight_in_user_index': (GOOD + [web(name='api', port=8080, realservers=member() + member(
        address='198.51.100.12', weight=70000))],
        'lvs_virtual_services[3].realservers[1].weight: 70000 is not valid; expected an integer from 0 to 65535'),
    'weight_negative': ([web(realservers=member(weight=-5))],
                        'lvs_virtual_services[0].realservers[0].weight: -5 is not valid; expected an integer from 0'),
    'weight_of_host': ([web(realservers=[{'host': 'web1', 'weight': 65536}])],
                       'lvs_virtual_services[0].realservers[0].weight: 65536 is not valid'),
    'scheduler_name': ([web(scheduler='nope!')], "lvs_virtual_services[0].scheduler: 'nope!' is not valid; expected "
                                                 "one of rr, wrr"),
    'scheduler_flag_choice': ([web(scheduler='sh', scheduler_flags=['sh-bogus'])],
                              "lvs_virtual_services[0].scheduler_flags: 'sh-bogus' is not valid; expected one of "
                              "sh-fallback"),
    'scheduler_flag_owner': ([web(scheduler_flags=['sh-port'])],
                             "lvs_virtual_services[0].scheduler_flags: 'sh-port' is not valid; flags of the sh "
                             "scheduler need scheduler: sh"),
    'lower_above_upper': ([web(realservers=member(upper_threshold=0, lower_threshold=50))],
                          'lvs_virtual_services[0].realservers[0].lower_threshold: 50 is not valid; expected at most '
                          'upper_threshold (0)'),
    'upper_threshold_range': ([web(realservers=member(upper_threshold=2 ** 31))],
                              'lvs_virtual_services[0].realservers[0].upper_threshold: 2147483648 is not valid; '
                              'expected an integer from 0 to 2147483647'),
    'tunnel_type': ([web(forwarding='tun', tunnel_type='vxlan')],
                    "lvs_virtual_services[0].tunnel_type: 'vxlan' is not valid; expected one of ipip, gue, gre"),
    'gue_without_port': ([web(forwarding='tun', tunnel_type='gue')],
                         'lvs_virtual_services[0].tunnel_port: None is not valid; tunnel_type gue needs a tunnel_port'),
    'gue_port_range': ([web(forwarding='tun', tunnel_type='gue', tunnel_port=0)],
                       'lvs_virtual_services[0].tunnel_port: 0 is not valid; expected an integer from 1 to 65535'),
    'port_of_ipip': ([web(forwarding='tun', tunnel_port=6080)],
                     'lvs_virtual_services[0].tunnel_port: 6080 is not valid; only tunnel_type gue takes a port'),
    'tunnel_without_tun': ([web(tunnel_type='gre')],
                           "lvs_virtual_services[0].tunnel_type: 'gre' is not valid; tunnel options need forwarding: "
                           "tun"),
    'checksum_of_ipip': ([web(forwarding='tun', tunnel_checksum='csum')],
                         "lvs_virtual_services[0].tunnel_checksum: 'csum' is not valid; ipip has no checksum option"),
    'forwarding': ([web(forwarding='gre')],
                   "lvs_virtual_services[0].forwarding: 'gre' is not valid; expected one of dr, nat, tun"),
    'dr_port_change': ([web(realservers=member(port=8080))],
                       'lvs_virtual_services[0].realservers[0].port: 8080 is not valid; forwarding dr delivers packets '
                       'to the service port 80 unchanged'),
    'protocol': ([web(protocol='icmp')],
                 "lvs_virtual_services[0].protocol: 'icmp' is not valid; expected one of tcp, udp, sctp"),
    'fwmark_and_port': ([web(fwmark=7)], 'lvs_virtual_services[0].port: 80 is not valid; a firewall-mark service has '
                                         'no port'),
    'fwmark_range': ([web(fwmark=0, port=None)],
                     'lvs_virtual_services[0].fwmark: 0 is not valid; expected an integer from 1 to 4294967295'),
    'neither_port_nor_fwmark': ([web(port=None)], 'lvs_virtual_services[0].port: None is not valid; a service needs '
                                                  'port (1 to 65535), or fwmark'),
    'fwmark_family_of_vip': ([web(fwmark=7, port=None, family='ipv6')],
                             "lvs_virtual_services[0].vip: '192.0.2.10' is not valid; the firewall-mark service is "
                             "ipv6"),
    'family_mix': ([web(realservers=member(address='2001:db8::11'))],
                   "lvs_virtual_services[0].realservers[0].address: '2001:db8::11' is not valid; the service is ipv4, "
                   "so the real server must be ipv4 too"),
    'family_mix_of_host': ([web(vip='2001:db8::10', realservers=[{'host': 'web1'}])],
                           "lvs_virtual_services[0].realservers[0].host: 'web1' is not valid; the service is ipv6"),
    'vip_syntax': ([web(vip='192.0.2.300')],
                   "lvs_virtual_services[0].vip: '192.0.2.300' is not valid; expected an IPv4 or IPv6 address"),
    'realserver_syntax': ([web(realservers=member(address='198.51.100.11/24'))],
                          "lvs_virtual_services[0].realservers[0].address: '198.51.100.11/24' is not valid; expected "
                          "an IPv4 or IPv6 address"),
    'scoped_vip': ([web(vip='fe80::1%eth0', realservers=[])],
                   "lvs_virtual_services[0].vip: 'fe80::1%eth0' is not valid; expected an address without a %zone"),
    'scoped_realserver': ([web(vip='2001:db8::10', realservers=member(address='fe80::1%eth0'))],
                          "lvs_virtual_services[0].realservers[0].address: 'fe80::1%eth0' is not valid; expected an "
                          "address without a %zone"),
    'multicast_realserver': ([web(realservers=member(address='224.0.0.1'))],
                             "lvs_virtual_services[0].realservers[0].address: '224.0.0.1' is not valid; expected a "
                             "unicast address"),
    'persistence_timeout': ([web(persistence_timeout=99999999)],
                            'lvs_virtual_services[0].persistence_timeout: 99999999 is not valid; expected an integer'),
    'netmask_without_persistence': ([web(persistence_netmask='255.255.255.0')],
                                    "lvs_virtual_services[0].persistence_netmask: '255.255.255.0' is not valid; a "
                                    "persistence netmask needs persistence_timeout above 0"),
    'ipv6_netmask': ([web(vip='2001:db8::10', realservers=[], persistence_timeout=60, persistence_netmask=129)],
                     'lvs_virtual_services[0].persistence_netmask: 129 is not valid; expected an integer from 1 to '
                     '128'),
    'one_packet_type': ([web(one_packet='maybe')], "lvs_virtual_services[0].one_packet: 'maybe' is not valid; "
                                                   "expected bool"),
    'state': ([web(realservers=member(state='gone'))],
              "lvs_virtual_services[0].realservers[0].state: 'gone' is not valid; expected one of present, drained, "
              "absent"),
    'duplicate_service': ([web(), web(name='web-too', owner='keepalived')],
                          "lvs_virtual_services[1]: '-t 192.0.2.10:80' is not valid; each service may appear once "
                          "(lvs_virtual_services[0] is the same service)"),
    'duplicate_realserver': ([web(realservers=member() + member())],
                             "lvs_virtual_services[0].realservers[1].address: '198.51.100.11 port 80' is not valid; "
                             "each real server may appear once in a service"),
    'duplicate_name': ([web(), web(port=443)],
                       "lvs_virtual_services[1].name: 'web' is not valid; each name may be used once"),
    'unknown_service_key': ([web(sheduler='rr')],
                            "lvs_virtual_services[0].sheduler: 'rr' is not valid; not a key here; expected one of"),
    'unknown_realserver_key': ([web(realservers=member(wieght=2))],
                               "lvs_virtual_services[0].realservers[0].wieght: 2 is not valid; not a key here"),
    'missing_host': ([web(realservers=[{'host': 'nosuch'}])],
                     "lvs_virtual_services[0].realservers[0].host: 'nosuch' is not valid; expected a host of the "
                     "inventory"),
    'missing_vip': ([web(vip=None)], 'lvs_virtual_services[0].vip: None is not valid; every service needs vip'),
    'owner': ([web(owner='nobody')],
              "lvs_virtual_services[0].owner: 'nobody' is not valid; expected one of director, keepalived"),
    'vip_prefix': ([web(vip_prefix=33)],
                   'lvs_virtual_services[0].vip_prefix: 33 is not valid; expected a prefix length from 1 to 32'),
    'keepalived_service_port': ([web(owner='keepalived', port=70000)],
                                'lvs_virtual_services[0].port: 70000 is not valid; expected an integer from 1 to 65535'),
    'not_a_list': ({'name': 'web'}, "lvs_virtual_services: {'name': 'web'} is not valid; expected a list of services"),
}
# Models that live on a real server rather than a director (both groups are checked).
ON_REALSERVERS = ('weight_of_host', 'state', 'scoped_realserver')


def inventory(models):
    """Return an inventory of one host per model (in TEST-NET-1, reached only through the tripwire) plus web1."""
    hosts = dict((name, {'ansible_host': '192.0.2.%d' % (index + 20), 'lvs_virtual_services': model})
                 for index, (name, (model, _says)) in enumerate(sorted(models.items())))
    return {'all': {
        'children': {
            'directors': {'hosts': dict(item for item in hosts.items() if item[0] not in ON_REALSERVERS)},
            'realservers': {'hosts': dict([item for item in hosts.items() if item[0] in ON_REALSERVERS]
                                          + [('web1', {'ansible_host': '192.0.2.5', 'lvs_virtual_services': GOOD})])},
        }}}


@pytest.fixture(scope='module')
def bad_run(tmp_path_factory, playbook_run):
    return playbook_run(tmp_path_factory.mktemp('bad'), SITE, inventory(BAD_MODELS))


def test_the_table_covers_enough_rules():
    assert len(BAD_MODELS) >= 25


def test_no_host_is_contacted_and_no_later_play_runs(bad_run):
    result, attempts = bad_run
    assert attempts == []
    assert [play['play']['name'] for play in result['plays']] == [PLAY]
    assert set(result['stats']) == set(BAD_MODELS) | {'web1'}
    assert all(stats['ok'] == 0 and stats['failures'] == 1 for host, stats in result['stats'].items() if host != 'web1')


@pytest.mark.parametrize('name', sorted(BAD_MODELS))
def test_each_bad_model_fails_with_its_path_and_value(bad_run, name):
    result, _attempts = bad_run
    outcome = result['plays'][0]['tasks'][0]['hosts'][name]
    assert outcome['failed'] is True
    assert outcome['msg'].startswith(BAD_MODELS[name][1]), outcome['msg']
    assert 'Traceback' not in outcome['msg']


def test_a_good_model_passes_and_the_tripwire_records_the_next_play(tmp_path, playbook_run):
    result, attempts = playbook_run(tmp_path, SITE, inventory(BAD_MODELS), '--limit', 'web1')
    check = result['plays'][0]['tasks'][0]['hosts']['web1']
    assert not check.get('failed') and check['msg'] == '3 services and 5 real servers are valid'
    assert result['stats']['web1']['unreachable'] == 1
    assert attempts and '192.0.2.5' in attempts[0]
