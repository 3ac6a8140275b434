"""The data-model filters: checking keys, resolving hosts, placing VIPs."""

from __future__ import annotations

import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_model import (
    director_vip_addresses, ipvs_services, realserver_live, realserver_maintenance, realserver_vips, service_vips,
    vip_interface,
)

HOSTVARS = {
    'rs1': {'ansible_default_ipv4': {'address': '10.89.0.11'}},
    'rs2': {'lvs_realserver_address': '10.89.1.12', 'ansible_default_ipv4': {'address': '10.89.0.12'}},
}
MODEL = [
    {'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'scheduler': 'wrr', 'forwarding': 'tun', 'tunnel_type': 'ipip',
     'realservers': [{'host': 'rs1', 'weight': 1}, {'host': 'rs2', 'weight': 2}]},
    {'name': 'dns', 'vip': '10.89.0.100', 'protocol': 'udp', 'port': 53, 'owner': 'keepalived',
     'realservers': [{'address': '10.89.0.13'}]},
]


def test_director_services_resolve_hosts_and_carry_forwarding():
    assert ipvs_services(MODEL, HOSTVARS) == [{
        'port': 80, 'scheduler': 'wrr', 'address': '10.89.0.100',
        'realservers': [
            {'weight': 1, 'tunnel_type': 'ipip', 'address': '10.89.0.11', 'forwarding': 'tun'},
            {'weight': 2, 'tunnel_type': 'ipip', 'address': '10.89.1.12', 'forwarding': 'tun'},
        ]}]
    assert [service['port'] for service in ipvs_services(MODEL, HOSTVARS, owner='all')] == [80, 53]


@pytest.mark.parametrize('model, says', [
    ([{'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'sheduler': 'rr'}], "lvs_virtual_services[0].sheduler: 'rr' is not valid; not a key here"),
    ([{'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'realservers': [{'hots': 'rs1'}]}],
     "lvs_virtual_services[0].realservers[0].hots: 'rs1' is not valid; not a key here"),
    ([{'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'realservers': [{'host': 'rs9'}]}],
     "lvs_virtual_services[0].realservers[0].host: 'rs9' is not valid; expected a host of the inventory"),
    ([{'vip': '10.89.0.100'}], "lvs_virtual_services[0].name: None is not valid; every service needs name"),
    ([{'name': 'a', 'vip': '10.89.0.100', 'port': 80, 'forwarding': 'gre'}], "lvs_virtual_services[0].forwarding: 'gre'"),
    ([{'name': 'a', 'vip': '10.89.0.1', 'port': 80}, {'name': 'a', 'vip': '10.89.0.2', 'port': 80}], "lvs_virtual_services[1].name: 'a'"),
])
def test_model_errors_name_the_key(model, says):
    with pytest.raises(AnsibleFilterError) as error:
        ipvs_services(model, HOSTVARS)
    assert says in str(error.value)


def test_realserver_vips_lists_the_services_of_a_host():
    assert realserver_vips(MODEL, HOSTVARS, 'rs2') == [{'vip': '10.89.0.100', 'forwarding': 'tun', 'service': 'web'}]
    assert realserver_vips(MODEL, HOSTVARS, 'rs9') == []


def test_vip_interface_is_the_nic_in_the_vips_subnet():
    facts = {'interfaces': ['lo', 'eth0', 'eth1'], 'default_ipv4': {'interface': 'eth0'},
             'lo': {'ipv4': {'address': '127.0.0.1', 'netmask': '255.0.0.0'}},
             'eth0': {'ipv4': {'address': '10.89.1.10', 'netmask': '255.255.255.0'}},
             'eth1': {'ipv4': {'address': '10.89.0.10', 'netmask': '255.255.255.0'},
                      'ipv6': [{'address': '2001:db8::10', 'prefix': '64'}]}}
    assert vip_interface('10.89.0.100', facts) == 'eth1'
    assert vip_interface('2001:db8::100', facts) == 'eth1'
    assert vip_interface('192.0.2.10', facts) == 'eth0'


def test_keys_only_names_the_services_of_an_owner():
    assert ipvs_services(MODEL, HOSTVARS, owner='keepalived', keys_only=True) == [
        {'protocol': 'udp', 'port': 53, 'address': '10.89.0.100'}]


def test_vip_interface_names_the_device_of_a_labelled_address():
    facts = {'interfaces': ['eth0_8', 'lo', 'eth0'], 'default_ipv4': {'interface': 'eth0'},
             'eth0_8': {'device': 'eth0:8', 'ipv4': {'address': '10.89.0.100', 'netmask': '255.255.255.0'}},
             'eth0': {'device': 'eth0', 'ipv4': {'address': '10.89.0.10', 'netmask': '255.255.255.0'}},
             'lo': {'device': 'lo', 'ipv4': {'address': '127.0.0.1', 'netmask': '255.0.0.0'}}}
    assert vip_interface('10.89.0.100', facts) == 'eth0'
    del facts['eth0']['ipv4']
    assert vip_interface('10.89.0.100', facts) == 'eth0'


def test_addresses_come_from_gathered_facts():
    hostvars = {'rs1': {'ansible_facts': {'default_ipv4': {'address': '10.89.0.11'}}}}
    model = [{'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'realservers': [{'host': 'rs1'}]}]
    assert ipvs_services(model, hostvars)[0]['realservers'][0]['address'] == '10.89.0.11'


def test_director_vip_addresses_place_each_vip_with_its_prefix_and_label():
    """The prefix default (/32, /128) comes from service_vips, the validator's."""
    facts = {'interfaces': ['lo', 'eth0'], 'default_ipv4': {'interface': 'eth0'},
             'eth0': {'ipv4': {'address': '10.89.0.10', 'netmask': '255.255.255.0'}}}
    model = [{'name': 'a', 'vip': '10.89.0.100', 'port': 80, 'vip_prefix': 24, 'vip_label': 'eth0:8'},
             {'name': 'b', 'vip': '2001:db8::10', 'port': 80, 'vip_interface': 'eth1'},
             {'name': 'c', 'vip': '10.89.0.101', 'port': 80}]
    assert director_vip_addresses(service_vips(model, HOSTVARS), facts) == [
        {'address': '10.89.0.100/24', 'interface': 'eth0', 'label': 'eth0:8'},
        {'address': '2001:db8::10/128', 'interface': 'eth1'},
        {'address': '10.89.0.101/32', 'interface': 'eth0'}]


KEEPALIVED_WEB = {'name': 'kweb', 'vip': '10.89.0.101', 'port': 80, 'owner': 'keepalived',
                  'health_check': {'type': 'http_get', 'path': '/health'}, 'keepalived': {'inhibit_on_failure': True},
                  'realservers': [{'host': 'rs1'}, {'host': 'rs2'}]}


def test_a_maintenance_drains_only_the_host_s_own_entries():
    plan = realserver_maintenance(MODEL + [KEEPALIVED_WEB], HOSTVARS, 'rs2')
    assert [service['realservers'] for service in plan['director']] == [
        [{'weight': 2, 'tunnel_type': 'ipip', 'address': '10.89.1.12', 'forwarding': 'tun'}]]
    assert [service['realservers'][0]['state'] for service in plan['drained']] == ['drained']
    assert [service['address'] for service in plan['entries']] == ['10.89.0.100', '10.89.0.101']
    assert plan['health_paths'] == ['/health']
    assert realserver_maintenance(MODEL, HOSTVARS, 'rs9') == {'director': [], 'drained': [], 'entries': [],
                                                              'health_paths': []}


@pytest.mark.parametrize('change, says', [
    ({'keepalived': {}}, "lvs_virtual_services[2].keepalived.inhibit_on_failure: False cannot drain rs1; expected true"),
    ({'health_check': {'type': 'tcp_check'}}, "lvs_virtual_services[2].health_check.type: 'tcp_check' cannot drain "
                                              "rs1; expected http_get or ssl_get"),
])
def test_a_keepalived_service_that_cannot_drain_is_refused_with_its_path(change, says):
    with pytest.raises(AnsibleFilterError, match=re.escape(says)):
        realserver_maintenance(MODEL + [dict(KEEPALIVED_WEB, **change)], HOSTVARS, 'rs1')


def test_the_live_rows_say_weight_connections_and_whether_the_model_holds():
    entries = realserver_maintenance(MODEL, HOSTVARS, 'rs1')['drained']
    table = [{'protocol': 'tcp', 'address': '10.89.0.100', 'port': 80,
              'realservers': [{'address': '10.89.0.11', 'port': 80, 'weight': 0, 'active_connections': 3},
                              {'address': '10.89.1.12', 'port': 80, 'weight': 2, 'active_connections': 9}]}]
    assert realserver_live([table, []], entries) == [
        {'service': 'tcp 10.89.0.100:80', 'address': '10.89.0.11', 'port': 80, 'expected_weight': 0, 'present': True,
         'weight': 0, 'active_connections': 3, 'as_model': True},
        {'service': 'tcp 10.89.0.100:80', 'address': '10.89.0.11', 'port': 80, 'expected_weight': 0, 'present': False,
         'weight': None, 'active_connections': 0, 'as_model': False}]
