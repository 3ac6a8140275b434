"""Every frr.conf the bgp_director role can render passes FRR's own dry run (vtysh --dryrun, FRR 8.4 of bookworm)."""

from __future__ import annotations

import pytest

from conftest import dry_run
from bgp_render import render  # tests/unit/roles, on the path through conftest

V4 = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'announce': 'bgp', 'realservers': [{'address': '192.0.2.11'}]}
V6 = {'name': 'web6', 'vip': '2001:db8::10', 'port': 80, 'announce': 'bgp',
      'realservers': [{'address': '2001:db8:1::11'}]}
ROUTER4 = {'address': '192.0.2.1', 'asn': 65000}
ROUTER6 = {'address': '2001:db8::1', 'asn': 65000}

CASES = {
    'one IPv4 router': ([V4], {'asn': 65010, 'routers': [ROUTER4]}),
    'two routers, BFD and a password': ([V4], {'asn': 65010, 'routers': [
        dict(ROUTER4, bfd=True, password='s3cret'), dict(ROUTER4, address='192.0.2.254', asn=65001)]}),
    'iBGP with a 4-byte ASN': ([V4], {'asn': 4200000000, 'routers': [dict(ROUTER4, asn=4200000000)]}),
    'IPv4 and IPv6': ([V4, V6, dict(V4, name='tls', port=443)], {'asn': 65010, 'routers': [ROUTER4, dict(ROUTER6, bfd=True)]}),
    'an IPv6 router without IPv6 VIP': ([V4], {'asn': 65010, 'routers': [ROUTER4, ROUTER6]}),
}


@pytest.mark.parametrize('services, bgp', CASES.values(), ids=list(CASES))
def test_every_rendered_configuration_passes_the_dry_run(services, bgp):
    text = render(services, bgp)
    code, output = dry_run(text)
    assert code == 0, output + text


def test_a_configuration_frr_rejects_fails_the_dry_run():
    text = render(*CASES['one IPv4 router']).replace('remote-as 65000', 'remote-az 65000')
    code, output = dry_run(text)
    assert code != 0 and 'remote-az' in output


def test_the_daemons_file_turns_bfdd_on_only_with_bfd():
    assert 'bfdd=yes' in render(*CASES['two routers, BFD and a password'], template='daemons.j2')
    daemons = render(*CASES['one IPv4 router'], template='daemons.j2')
    assert 'bgpd=yes' in daemons and 'bfdd=no' in daemons
