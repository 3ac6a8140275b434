"""The frr.conf the bgp_director role renders, compared whole: sessions, filters, BFD, families."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from bgp_render import render  # noqa: E402

WEB = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'announce': 'bgp',
       'realservers': [{'address': '192.0.2.11'}]}
WEB6 = {'name': 'web6', 'vip': '2001:db8::10', 'port': 80, 'announce': 'bgp',
        'realservers': [{'address': '2001:db8:1::11'}]}
HEADER = """! Ansible managed (lvs.cluster.bgp_director): BGP sessions to the upstream routers. The VIPs are announced
! by lvs-cluster-bgp-gate (a `network` each, added and removed through vtysh) only while this director can serve
! them; the outbound route-maps let nothing else out and nothing in.
frr defaults traditional
hostname director1
log syslog informational
service integrated-vtysh-config
!
"""
FILTERS = """!
route-map lvs-cluster-announce-ipv4 permit 10
 match ip address prefix-list lvs-cluster-vips-ipv4
exit
!
route-map lvs-cluster-announce-ipv6 permit 10
 match ipv6 address prefix-list lvs-cluster-vips-ipv6
exit
!
route-map lvs-cluster-accept-none deny 10
exit
!
"""


def test_one_ipv4_router_gets_one_session_that_sends_only_the_vips():
    plain = dict((key, value) for key, value in WEB.items() if key != 'announce')
    text = render([WEB, dict(plain, name='plain', vip='198.51.100.1')],
                  {'asn': 65010, 'routers': [{'address': '192.0.2.1', 'asn': 65000}]})
    assert text == HEADER + "ip prefix-list lvs-cluster-vips-ipv4 seq 5 permit 203.0.113.10/32\n" + FILTERS + """\
router bgp 65010
 bgp router-id 192.0.2.2
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor 192.0.2.1 remote-as 65000
 neighbor 192.0.2.1 advertisement-interval 0
 !
 address-family ipv4 unicast
  neighbor 192.0.2.1 activate
  neighbor 192.0.2.1 route-map lvs-cluster-accept-none in
  neighbor 192.0.2.1 route-map lvs-cluster-announce-ipv4 out
 exit-address-family
exit
!
"""


def test_both_families_with_bfd_and_a_password():
    text = render([WEB, WEB6, dict(WEB, name='tls', port=443)], {'asn': 65010, 'routers': [
        {'address': '192.0.2.1', 'asn': 65000, 'password': 's3cret', 'bfd': True},
        {'address': '2001:db8::1', 'asn': 65001}]}, bgp_director_bfd_interval=50, bgp_director_hold_time=30,
        bgp_director_keepalive=10)
    assert text == HEADER + """\
ip prefix-list lvs-cluster-vips-ipv4 seq 5 permit 203.0.113.10/32
ipv6 prefix-list lvs-cluster-vips-ipv6 seq 5 permit 2001:db8::10/128
""" + FILTERS + """\
router bgp 65010
 bgp router-id 192.0.2.2
 no bgp default ipv4-unicast
 timers bgp 10 30
 neighbor 192.0.2.1 remote-as 65000
 neighbor 192.0.2.1 advertisement-interval 0
 neighbor 192.0.2.1 password s3cret
 neighbor 192.0.2.1 bfd profile lvs-cluster
 neighbor 2001:db8::1 remote-as 65001
 neighbor 2001:db8::1 advertisement-interval 0
 !
 address-family ipv4 unicast
  neighbor 192.0.2.1 activate
  neighbor 192.0.2.1 route-map lvs-cluster-accept-none in
  neighbor 192.0.2.1 route-map lvs-cluster-announce-ipv4 out
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor 2001:db8::1 activate
  neighbor 2001:db8::1 route-map lvs-cluster-accept-none in
  neighbor 2001:db8::1 route-map lvs-cluster-announce-ipv6 out
 exit-address-family
exit
!
bfd
 profile lvs-cluster
  detect-multiplier 3
  receive-interval 50
  transmit-interval 50
 exit
exit
!
"""


def test_the_gate_configuration_lists_each_vip_with_its_services():
    bgp = {'asn': 65010, 'routers': [{'address': '192.0.2.1', 'asn': 65000}]}
    text = render([WEB, dict(WEB, name='tls', port=443)], bgp,
                  template='lvs-cluster-bgp-gate.json.j2', bgp_director_check_command='curl -fs localhost/health')
    assert json.loads(text) == {'asn': 65010, 'interval': 1, 'check': 'curl -fs localhost/health', 'vips': [
        {'vip': '203.0.113.10', 'prefix': 32, 'family': 'ipv4',
         'services': ['TCP 203.0.113.10:80', 'TCP 203.0.113.10:443']}]}
