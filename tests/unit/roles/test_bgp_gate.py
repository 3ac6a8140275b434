"""The bgp_director role's health gate: what it reads from ipvsadm, ip and bgpd, and what it tells bgpd to do."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from bgp_render import load_gate  # noqa: E402

gate = load_gate()

IPVSADM = """IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  203.0.113.10:80 mh (mh-fallback,mh-port)
  -> 192.0.2.11:80                Route   0      0          0
  -> 192.0.2.12:80                Route   2      3          1
TCP  203.0.113.10:443 mh (mh-fallback,mh-port)
  -> 192.0.2.11:443               Route   0      0          0
UDP  [2001:db8::10]:53 mh (mh-fallback,mh-port)
  -> [2001:db8:1::11]:53          Route   1      0          0
FWM  7 mh (mh-fallback,mh-port)
  -> 192.0.2.13:0                 Route   1      0          0
"""
IP_ADDR = """1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 203.0.113.10/32 scope global lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 2001:db8:0:0::10/128 scope global \\       valid_lft forever preferred_lft forever
2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever
"""
RUNNING = """frr version 8.4.4
router bgp 65010
 bgp router-id 192.0.2.2
 neighbor 192.0.2.1 remote-as 65000
 !
 address-family ipv4 unicast
  network 203.0.113.10/32
  network 198.51.100.9/32
  neighbor 192.0.2.1 activate
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8::10/128
 exit-address-family
exit
!
router bgp 65010 vrf other
 address-family ipv4 unicast
  network 203.0.113.99/32
 exit-address-family
exit
"""
CONFIG = {'asn': 65010, 'interval': 1, 'check': '', 'vips': [
    {'vip': '203.0.113.10', 'prefix': 32, 'family': 'ipv4', 'services': ['TCP 203.0.113.10:80']},
    {'vip': '2001:db8::10', 'prefix': 128, 'family': 'ipv6', 'services': ['UDP [2001:db8::10]:53']},
    {'vip': '203.0.113.20', 'prefix': 32, 'family': 'ipv4', 'services': ['FWM 7']},
]}


def test_a_service_is_live_with_a_real_server_of_weight_above_zero():
    assert gate.live_services(IPVSADM) == {'TCP 203.0.113.10:80', 'UDP [2001:db8::10]:53', 'FWM 7'}


def test_local_addresses_are_read_in_their_short_form():
    assert gate.local_addresses(IP_ADDR) == {'127.0.0.1', '203.0.113.10', '2001:db8::10', '192.0.2.2'}


def test_announced_networks_are_those_of_the_default_instance_of_the_asn():
    assert gate.announced_networks(RUNNING, 65010) == {
        ('ipv4', '203.0.113.10/32'), ('ipv4', '198.51.100.9/32'), ('ipv6', '2001:db8::10/128')}
    assert gate.announced_networks(RUNNING, 65011) == set()


@pytest.mark.parametrize('services, addresses, check, wanted', [
    (gate.live_services(IPVSADM), gate.local_addresses(IP_ADDR), True,
     {('ipv4', '203.0.113.10/32'), ('ipv6', '2001:db8::10/128')}),
    (set(), gate.local_addresses(IP_ADDR), True, set()),
    (gate.live_services(IPVSADM), {'203.0.113.20'}, True, {('ipv4', '203.0.113.20/32')}),
    (gate.live_services(IPVSADM), gate.local_addresses(IP_ADDR), False, set()),
], ids=['healthy', 'no live real server', 'vip not local', 'own check fails'])
def test_a_vip_is_wanted_only_when_local_live_and_the_check_passes(services, addresses, check, wanted):
    assert gate.wanted_networks(CONFIG, services, addresses, check) == wanted


def test_every_service_of_a_vip_must_be_live():
    config = dict(CONFIG, vips=[dict(CONFIG['vips'][0], services=['TCP 203.0.113.10:80', 'TCP 203.0.113.10:443'])])
    assert gate.wanted_networks(config, gate.live_services(IPVSADM), {'203.0.113.10'}, True) == set()


def fake_runner(outputs, calls):
    """Return a runner answering each command from outputs (by its first two words), recording the calls."""
    def runner(command, timeout=10):
        calls.append(command)
        return outputs.get(' '.join(command[:2]), (0, ''))
    return runner


def test_a_round_announces_the_healthy_vips_and_withdraws_only_its_own_unhealthy_ones():
    calls = []
    running = RUNNING.replace('  network 2001:db8::10/128\n', '')
    table = IPVSADM.replace('  -> [2001:db8:1::11]:53          Route   1', '  -> [2001:db8:1::11]:53          Route   0')
    outputs = {'vtysh -d': (0, running), 'ipvsadm -Ln': (0, table),
               'ip -o': (0, IP_ADDR + '1: lo    inet 203.0.113.20/32 scope global lo\n')}
    config = dict(CONFIG, vips=CONFIG['vips'] + [{'vip': '198.51.100.9', 'prefix': 32, 'family': 'ipv4',
                                                  'services': ['TCP 198.51.100.9:80']}])
    assert gate.one_round(config, fake_runner(outputs, calls)) == (
        {('ipv4', '203.0.113.20/32')}, {('ipv4', '198.51.100.9/32')})
    assert calls[-1] == ['vtysh', '-c', 'configure terminal', '-c', 'router bgp 65010',
                         '-c', 'address-family ipv4 unicast', '-c', 'network 203.0.113.20/32',
                         '-c', 'no network 198.51.100.9/32', '-c', 'exit-address-family', '-c', 'end']


def test_a_round_changes_nothing_when_bgpd_is_down_or_all_is_as_wanted():
    calls = []
    assert gate.one_round(CONFIG, fake_runner({'vtysh -d': (1, 'bgpd is not running')}, calls)) is None
    assert len(calls) == 1
    outputs = {'vtysh -d': (0, RUNNING), 'ipvsadm -Ln': (0, IPVSADM), 'ip -o': (0, IP_ADDR)}
    calls = []
    assert gate.one_round(dict(CONFIG, vips=CONFIG['vips'][:2]), fake_runner(outputs, calls)) == (set(), set())
    assert [command[0] for command in calls] == ['vtysh', 'ipvsadm', 'ip']


def test_a_failing_check_withdraws_every_vip():
    calls = []
    outputs = {'vtysh -d': (0, RUNNING), 'ipvsadm -Ln': (0, IPVSADM), 'ip -o': (0, IP_ADDR), '/bin/sh -c': (1, '')}
    announce, withdraw = gate.one_round(dict(CONFIG, check='false'), fake_runner(outputs, calls))
    assert announce == set() and withdraw == {('ipv4', '203.0.113.10/32'), ('ipv6', '2001:db8::10/128')}
    assert calls[3] == ['/bin/sh', '-c', 'false']
