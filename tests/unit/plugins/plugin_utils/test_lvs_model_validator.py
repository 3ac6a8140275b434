"""The one validator of lvs_virtual_services: the modules' checks, paths in the user's list, for every owner."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.keepalived import keepalived_virtual_servers
from ansible_collections.lvs.cluster.plugins.filter.lvs_model import ipvs_services, realserver_vips, service_vips
from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import validated_model

HOSTVARS = {'rs1': {'ansible_facts': {'default_ipv4': {'address': '10.0.0.11'}}},
            'rs2': {'lvs_realserver_address': '10.0.0.300'}, 'rs3': {}}
KEEPALIVED = {'name': 'dns', 'vip': '10.0.0.100', 'protocol': 'udp', 'port': 53, 'owner': 'keepalived',
              'realservers': [{'address': '10.0.0.21'}]}


def bad(*services, resolve=True):
    with pytest.raises(AnsibleFilterError) as error:
        validated_model(list(services), HOSTVARS, resolve)
    return str(error.value)


@pytest.mark.parametrize('read', [
    lambda model: ipvs_services(model, HOSTVARS), lambda model: ipvs_services(model, HOSTVARS, owner='keepalived'),
    lambda model: keepalived_virtual_servers(model, HOSTVARS), lambda model: realserver_vips(model, HOSTVARS, 'rs1'),
    lambda model: service_vips(model, HOSTVARS),
], ids=['director', 'keepalived keys', 'keepalived', 'realserver', 'vips'])
def test_every_reader_checks_every_service_whoever_owns_it(read):
    bad_member = {'address': '10.0.0.21', 'weight': 70000}
    model = [dict(KEEPALIVED, name='ok'), dict(KEEPALIVED, port=5353, realservers=[bad_member])]
    with pytest.raises(AnsibleFilterError) as error:
        read(model)
    assert str(error.value).startswith('lvs_virtual_services[1].realservers[0].weight: 70000 is not valid; expected '
                                       'an integer from 0 to 65535')


def test_a_host_address_error_names_the_host_and_its_address():
    says = bad({'name': 'web', 'vip': '10.0.0.100', 'port': 80, 'realservers': [{'host': 'rs2'}]})
    assert says == ("lvs_virtual_services[0].realservers[0].host: 'rs2' is not valid; its address 10.0.0.300: expected "
                    "an IPv4 or IPv6 address without prefix or port")


def test_a_host_without_an_address_fails_once_facts_count_and_is_stood_in_for_before():
    model = [{'name': 'web', 'vip': '10.0.0.100', 'port': 80, 'realservers': [{'host': 'rs3'}, {'host': 'rs3'}]}]
    assert "realservers[0].host: 'rs3' is not valid; no address is known" in bad(*model)
    assert bad(*model, resolve=False) == ("lvs_virtual_services[0].realservers[1].host: 'rs3' is not valid; each real "
                                          "server may appear once in a service")
    single = [dict(model[0], realservers=[{'host': 'rs3'}])]
    assert len(validated_model(single, HOSTVARS, resolve=False)[0].virtual.realservers) == 1


def test_checked_services_carry_the_modules_view_and_the_vip_prefix():
    checked = validated_model([{'name': 'web', 'vip': '2001:DB8::10', 'port': 80, 'forwarding': 'tun',
                                'tunnel_type': 'gue', 'tunnel_port': 6080, 'realservers': [{'host': 'rs1'}]},
                               KEEPALIVED], HOSTVARS)
    assert [item.index for item in checked] == [0, 1]
    assert checked[0].virtual.key.address == '2001:db8::10' and checked[0].vip_prefix == 128
    assert checked[0].forwarding == ('tun', 'gue', 6080, 'nocsum')
    assert list(checked[0].virtual.realservers) == [('10.0.0.11', 80)]
    assert checked[1].vip_prefix == 32 and checked[1].virtual.key.protocol == 'udp'


def test_service_vips_fill_in_the_prefix_default_once():
    model = [{'name': 'web', 'vip': '10.0.0.100', 'port': 80, 'vip_label': 'eth0:8'},
             {'name': 'v6', 'vip': '2001:db8::10', 'port': 80, 'vip_prefix': 64}, KEEPALIVED]
    assert service_vips(model, HOSTVARS) == [{'vip': '10.0.0.100', 'vip_label': 'eth0:8', 'vip_prefix': 32},
                                             {'vip': '2001:db8::10', 'vip_prefix': 64}]
    assert [server['vip_prefix'] for server in keepalived_virtual_servers(model, HOSTVARS)] == [32]
