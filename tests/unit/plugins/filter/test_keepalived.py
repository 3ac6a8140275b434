"""The keepalived filters refuse a bad model with the path, the value and what is accepted."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.keepalived import (
    keepalived_virtual_servers, keepalived_vrrp_instances,
)

HOSTVARS = {'d1': {'ansible_default_ipv4': {'address': '10.0.0.2'}}, 'd2': {'ansible_default_ipv4': {'address': '10.0.0.3'}},
            'rs1': {'ansible_default_ipv4': {'address': '10.0.0.11'}}}
SETTINGS = {'instances': [{'name': 'VI_1', 'virtual_router_id': 51}], 'group': ['d1', 'd2'], 'interface': 'eth0',
            'advert_int': 1, 'vrrp_version': 2, 'priority': 0, 'priority_master': 150, 'priority_backup': 100,
            'nopreempt': False, 'preempt_delay': 0, 'auth': False, 'unicast': False, 'unicast_peers': [],
            'track_interfaces': []}


def service(**changes):
    item = {'name': 'web', 'vip': '10.0.0.100', 'port': 80, 'owner': 'keepalived', 'realservers': [{'host': 'rs1'}]}
    item.update(changes)
    return dict((key, value) for key, value in item.items() if value is not None)


def test_only_keepalived_services_are_rendered_and_hosts_resolve():
    servers = keepalived_virtual_servers([service(), service(name='other', port=443, owner='director')], HOSTVARS)
    assert [server['name'] for server in servers] == ['web']
    assert servers[0]['real_servers'] == [{'address': '10.0.0.11', 'port': 80, 'weight': 1,
                                           'checker': {'type': 'TCP_CHECK'}}]


@pytest.mark.parametrize('changes, says', [
    ({'health_check': {'type': 'http'}},
     "lvs_virtual_services[0].health_check.type: 'http' is not one of http_get, misc_check, none, ssl_get, tcp_check"),
    ({'health_check': {'type': 'tcp_check', 'path': '/'}},
     "lvs_virtual_services[0].health_check.path: '/' is not valid; not a key here"),
    ({'health_check': {'type': 'http_get', 'status_code': 700}},
     'lvs_virtual_services[0].health_check.status_code: 700 is not a whole number from 100 to 599'),
    ({'health_check': {'type': 'http_get', 'path': 'health'}},
     "lvs_virtual_services[0].health_check.path: 'health' is not a URL path"),
    ({'health_check': {'type': 'misc_check'}}, 'lvs_virtual_services[0].health_check.script: misc_check needs script'),
    ({'health_check': {'type': 'tcp_check', 'interval': -1}},
     'lvs_virtual_services[0].health_check.interval: -1 is not a number from 0 up'),
    ({'keepalived': {'quorom': 1}}, "lvs_virtual_services[0].keepalived.quorom: 1 is not valid; not a key here"),
    ({'keepalived': {'inhibit_on_failure': 'yes'}},
     "lvs_virtual_services[0].keepalived.inhibit_on_failure: 'yes' is not a boolean"),
    ({'sorry_server': {'address': '10.0.0.50', 'port': 8080}},
     'lvs_virtual_services[0].sorry_server.port: 8080: DR and TUN cannot change the port'),
    ({'fwmark': 7, 'port': None, 'health_check': {'type': 'tcp_check'}},
     'lvs_virtual_services[0].health_check.port: a firewall-mark service has no port'),
    ({'forwarding': 'tun', 'tunnel_type': 'gue'},
     'lvs_virtual_services[0].tunnel_port: None is not valid; tunnel_type gue needs a tunnel_port from 1 to 65535'),
    ({'realservers': [{'host': 'rs9'}]},
     "lvs_virtual_services[0].realservers[0].host: 'rs9' is not valid; expected a host of the inventory"),
    ({'realservers': [{'host': 'rs1', 'weight': 70000}]},
     'lvs_virtual_services[0].realservers[0].weight: 70000 is not valid; expected an integer from 0 to 65535'),
    ({'realservers': [{'host': 'rs1', 'lower_threshold': 50}]},
     'lvs_virtual_services[0].realservers[0].lower_threshold: 50 is not valid; expected at most upper_threshold (0)'),
])
def test_a_bad_service_fails_with_its_path(changes, says):
    with pytest.raises(AnsibleFilterError) as error:
        keepalived_virtual_servers([service(**changes)], HOSTVARS)
    assert says in str(error.value)


def vrrp(hostname='d1', services=None, **changes):
    return keepalived_vrrp_instances(keepalived_virtual_servers(services or [service()], HOSTVARS), HOSTVARS,
                                     hostname, dict(SETTINGS, **changes))


def test_the_first_host_is_master_and_the_others_back_it_up_in_order():
    assert [(item['state'], item['priority']) for item in vrrp('d1')] == [('MASTER', 150)]
    assert [(item['state'], item['priority']) for item in vrrp('d2')] == [('BACKUP', 99)]
    assert vrrp('d1', nopreempt=True)[0]['state'] == 'BACKUP'
    assert vrrp('d2', unicast=True)[0]['unicast_peers'] == ['10.0.0.2']


@pytest.mark.parametrize('changes, says', [
    ({'vrrp_version': 2, 'advert_int': 0.1}, 'keepalived_ha_instances[0].advert_int: 0.1: VRRPv2 advertises every'),
    ({'vrrp_version': 3, 'auth': True}, 'keepalived_ha_auth_pass: PASS authentication exists in VRRPv2 only'),
    ({'instances': [{'name': 'VI_1'}]}, "keepalived_ha_instances[0]: missing key 'virtual_router_id'"),
    ({'instances': [{'name': 'VI_1', 'virtual_router_id': 300}]},
     'keepalived_ha_instances[0].virtual_router_id: 300 is not a whole number from 1 to 255'),
    ({'instances': [{'name': 'VI_1', 'virtual_router_id': 5, 'master': 'd9'}]},
     "keepalived_ha_instances[0].master: 'd9' is not one of d1, d2"),
    ({'group': ['d2']}, "keepalived_ha_group: 'd1' is not a member"),
    ({'track_interfaces': ['eth0']}, "keepalived_ha_track_interfaces: 'eth0' is the interface of instance 'VI_1'"),
])
def test_bad_vrrp_settings_fail_with_their_name(changes, says):
    with pytest.raises(AnsibleFilterError) as error:
        vrrp(**changes)
    assert says in str(error.value)


def test_a_service_naming_an_unknown_instance_fails():
    with pytest.raises(AnsibleFilterError) as error:
        vrrp(services=[service(keepalived={'vrrp_instance': 'VI_9'})])
    assert "services web name a keepalived.vrrp_instance that keepalived_ha_instances does not have (VI_1)" \
        in str(error.value)
