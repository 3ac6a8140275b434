"""Announced (active-active, BGP) services in the one validator: their defaults, lvs_bgp and every bad value."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_model import bgp_director, ipvs_services, service_vips
from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import validated_bgp, validated_model

HOSTVARS = {'director1': {'ansible_facts': {'default_ipv4': {'address': '192.0.2.2'}}},
            'director2': {'lvs_bgp_asn': 65012, 'lvs_bgp_router_id': '10.255.0.2'},
            'director3': {}}
WEB = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'announce': 'bgp',
       'realservers': [{'address': '192.0.2.11'}, {'address': '192.0.2.12', 'weight': 2}]}
V6_REALSERVERS = [{'address': '2001:db8:1::11'}]
BGP = {'asn': 65010, 'routers': [{'address': '192.0.2.1', 'asn': 65000, 'bfd': True},
                                 {'address': '2001:db8::1', 'asn': 65000, 'password': 's3cret'}]}


def service(**changes):
    """Return WEB with changes (None removes a key)."""
    return dict((key, value) for key, value in dict(WEB, **changes).items() if value is not None)


def settings(services, bgp=..., host='director1', resolve=True):
    """Return the BGP settings of host for services, with lvs_bgp BGP unless bgp is given (None: undefined)."""
    return validated_bgp(validated_model(services, HOSTVARS), BGP if bgp is ... else bgp, host, HOSTVARS[host],
                         resolve)


def test_an_announced_service_defaults_to_maglev_hashing_with_ports_and_fallback():
    assert ipvs_services([service()], HOSTVARS)[0]['scheduler'] == 'mh'
    assert ipvs_services([service()], HOSTVARS)[0]['scheduler_flags'] == ['mh-port', 'mh-fallback']
    assert ipvs_services([service(scheduler='sh')], HOSTVARS)[0]['scheduler_flags'] == ['sh-port', 'sh-fallback']
    chosen = ipvs_services([service(scheduler_flags=['mh-fallback'])], HOSTVARS)[0]
    assert chosen['scheduler_flags'] == ['mh-fallback']
    assert 'scheduler' not in ipvs_services([service(announce=None)], HOSTVARS)[0]


def test_an_announced_vip_goes_on_lo_unless_told_otherwise():
    assert service_vips([service(), service(name='ssh', port=22, vip_interface='dummy0')], HOSTVARS) == [
        {'vip': '203.0.113.10', 'vip_interface': 'lo', 'vip_prefix': 32},
        {'vip': '203.0.113.10', 'vip_interface': 'dummy0', 'vip_prefix': 32}]


def test_the_settings_of_a_director_gather_its_vips_services_and_routers():
    model = [service(), service(name='tls', port=443), service(name='v6', vip='2001:DB8:0::10', protocol='udp', realservers=V6_REALSERVERS),
             service(name='plain', vip='198.51.100.1', announce=None)]
    result = settings(model)
    assert result['asn'] == 65010 and result['router_id'] == '192.0.2.2' and result['bfd'] is True
    assert result['vips'] == [
        {'vip': '203.0.113.10', 'prefix': 32, 'family': 'ipv4',
         'services': ['TCP 203.0.113.10:80', 'TCP 203.0.113.10:443']},
        {'vip': '2001:db8::10', 'prefix': 128, 'family': 'ipv6', 'services': ['UDP [2001:db8::10]:80']}]
    assert result['routers'] == [
        {'address': '192.0.2.1', 'family': 'ipv4', 'asn': 65000, 'bfd': True},
        {'address': '2001:db8::1', 'family': 'ipv6', 'asn': 65000, 'bfd': False, 'password': 's3cret'}]
    assert bgp_director([service(fwmark=7, port=None)], HOSTVARS, 'director2', BGP)['vips'][0]['services'] == ['FWM 7']


def test_host_vars_set_the_asn_and_router_id_and_without_announcements_nothing_is_needed():
    result = settings([service()], host='director2')
    assert (result['asn'], result['router_id']) == (65012, '10.255.0.2')
    assert settings([service(announce=None)], bgp=None) is None
    assert settings([service()], host='director3', resolve=False)['router_id'] is None


def bad_service(**changes):
    with pytest.raises(AnsibleFilterError) as error:
        validated_model([service(**changes)], HOSTVARS)
    return str(error.value)


@pytest.mark.parametrize('changes, says', [
    ({'announce': 'ospf'}, "lvs_virtual_services[0].announce: 'ospf' is not valid; expected one of bgp"),
    ({'owner': 'keepalived'}, "lvs_virtual_services[0].owner: 'keepalived' is not valid; an announced service is "
                              "owned by the director role on every director at once: remove owner or announce"),
    ({'vip_prefix': 24}, "lvs_virtual_services[0].vip_prefix: 24 is not valid; an announced VIP is a host route: "
                         "expected 32 or no vip_prefix"),
    ({'scheduler': 'wrr'}, "lvs_virtual_services[0].scheduler: 'wrr' is not valid; the directors of an announced "
                           "service must pick the same real server for a flow: expected mh (Maglev hashing, the "
                           "default) or sh"),
    ({'scheduler_flags': ['sh-port']}, "lvs_virtual_services[0].scheduler_flags: 'sh-port' is not valid"),
], ids=['announcer', 'owner', 'prefix', 'scheduler', 'flags of another scheduler'])
def test_every_bad_service_value_names_its_path(changes, says):
    assert bad_service(**changes).startswith(says)


def bad_bgp(bgp=..., host='director1', model=None, resolve=True):
    with pytest.raises(AnsibleFilterError) as error:
        settings(model or [service()], bgp, host, resolve)
    return str(error.value)


def routers(*entries):
    return dict(BGP, routers=list(entries))


ROUTER = {'address': '192.0.2.1', 'asn': 65000}


@pytest.mark.parametrize('bgp, host, says', [
    (None, 'director1', "lvs_bgp: None is not valid; expected a dict with routers and asn (lvs_virtual_services[0] "
                        "announces its VIP)"),
    ({'asn': 65010, 'routrs': []}, 'director1', "lvs_bgp.routrs: [] is not valid; not a key here; expected one of asn, "
                                                "routers"),
    ({'asn': 65010}, 'director1', "lvs_bgp.routers: None is not valid; expected a list of one or more upstream "
                                  "routers"),
    (routers({'address': '192.0.2.1'}), 'director1', "lvs_bgp.routers[0].asn: None is not valid; every router needs "
                                                     "address and asn"),
    (routers(dict(ROUTER, address='192.0.2.0/24')), 'director1', "lvs_bgp.routers[0].address: '192.0.2.0/24' is not "
                                                                 "valid; expected an IPv4 or IPv6 address"),
    (routers(dict(ROUTER, asn=0)), 'director1', "lvs_bgp.routers[0].asn: 0 is not valid; expected an AS number from "
                                                "1 to 4294967295"),
    (routers(dict(ROUTER, asn='65000')), 'director1', "lvs_bgp.routers[0].asn: '65000' is not valid; expected an AS"),
    (routers(dict(ROUTER, bfd='yes')), 'director1', "lvs_bgp.routers[0].bfd: 'yes' is not valid; expected true or "
                                                    "false"),
    (routers(dict(ROUTER, password='two words')), 'director1', "lvs_bgp.routers[0].password: '(hidden)' is not valid; "
                                                               "expected a TCP MD5 key of 1 to 80 characters"),
    (routers(dict(ROUTER, password='x' * 81)), 'director1', "lvs_bgp.routers[0].password: '(hidden)' is not valid"),
    (routers(dict(ROUTER, hold=9)), 'director1', "lvs_bgp.routers[0].hold: 9 is not valid; not a key here; expected "
                                                 "one of address, asn, bfd, password"),
    (routers(ROUTER, dict(ROUTER)), 'director1',
     "lvs_bgp.routers[1].address: '192.0.2.1' is not valid; each router may appear once (lvs_bgp.routers[0] has it)"),
    ({'routers': [ROUTER]}, 'director1', "lvs_bgp.asn: None is not valid; the directors need an AS number"),
    (dict(BGP, asn=2 ** 32), 'director1', "lvs_bgp.asn: 4294967296 is not valid; expected an AS number"),
], ids=['missing', 'unknown key', 'no routers', 'router asn missing', 'router address', 'asn 0', 'asn string',
        'bfd', 'password with a space', 'password too long', 'unknown router key', 'router twice', 'no asn',
        'asn too big'])
def test_every_bad_bgp_value_names_its_path(bgp, host, says):
    assert bad_bgp(bgp, host).startswith(says)


def test_bad_host_values_name_the_host():
    HOSTVARS['director3'].update(lvs_bgp_asn=True)
    try:
        assert bad_bgp(host='director3').startswith(
            "hostvars['director3'].lvs_bgp_asn: True is not valid; expected an AS number")
    finally:
        HOSTVARS['director3'].clear()
    HOSTVARS['director3'].update(lvs_bgp_router_id='2001:db8::2')
    try:
        assert bad_bgp(host='director3') == ("hostvars['director3'].lvs_bgp_router_id: '2001:db8::2' is not valid; a "
                                             "BGP router ID is an IPv4 address")
    finally:
        HOSTVARS['director3'].clear()
    assert bad_bgp(host='director3').startswith("hostvars['director3'].lvs_bgp_router_id: None is not valid; set it")


def test_an_announced_vip_needs_a_router_of_its_family():
    only_v4 = routers(ROUTER)
    assert bad_bgp(only_v4, model=[service(vip='2001:db8::10', realservers=V6_REALSERVERS)]) == (
        "lvs_virtual_services[0].vip: '2001:db8::10' is not valid; an announced IPv6 VIP needs an IPv6 router in "
        "lvs_bgp.routers")
