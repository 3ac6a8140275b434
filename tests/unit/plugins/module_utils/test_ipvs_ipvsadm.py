"""The ipvsadm backend reads ipvsadm's output as before, faster: rules, listings, and what it runs."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_ipvsadm as ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, VirtualService, rules,
)

SAVED = '''-A -t 192.0.2.10:80 -s wrr -p 300 -M 255.255.255.0
-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1
-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2
-A -u [2001:db8::10]:53 -s sh -b sh-fallback,sh-port -o
-a -u [2001:db8::10]:53 -r [2001:db8::11]:53 -m -w 0
-A -f 7 -6 -s rr
-a -f 7 -6 -r [2001:db8::12]:0 -i -w 5 --tun-type gue --tun-port 6080 --tun-csum
-A --sctp-service 192.0.2.10:9000 -s mh -b mh-port
-a --sctp-service 192.0.2.10:9000 -r 198.51.100.13:9000 -i -w 1 --tun-type gre --tun-remcsum
'''

LISTING = '''IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
  -> RemoteAddress:Port
TCP  192.0.2.10:80 wrr persistent 300 mask 255.255.255.0
  -> 198.51.100.11:80             100        50         3          4
  -> 198.51.100.12:80             0          0          0          1
UDP  [2001:db8::10]:53 sh (sh-fallback,sh-port) ops
  -> [2001:db8::11]:53            0          0          0          0
FWM  7 IPv6 rr
  -> [2001:db8::12]:0             0          0          7          0
SCTP 192.0.2.10:9000 mh (mh-port)
  -> 198.51.100.13:9000           0          0          0          0
'''


@pytest.mark.parametrize('line', SAVED.splitlines() + [
    '-A -t 192.0.2.10:80 -s "wrr"', "-a -t 192.0.2.10:80 -r '198.51.100.11:80' -g", '-A -t 192.0.2.10:80 -s w\\ rr',
    '  -A\t-t 192.0.2.10:80   -s wrr  ', '', '-A -t 192.0.2.10:80 # comment',
])
def test_words_are_the_words_shlex_finds(line):
    assert ipvsadm._words(line) == shlex.split(line)


def reference_parse_rules(text):
    """parse_rules as it was, with shlex and a scan of the words for each option."""
    def option(words, *names, default=None):
        for index, word in enumerate(words):
            if word in names:
                return words[index + 1]
        return default

    table = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if not words:
            continue
        key = ipvsadm._service_key(words)
        if words[0] == '-A':
            timeout, netmask = option(words, '-p', '--persistent'), option(words, '-M', '--netmask')
            flags = option(words, '-b', '--sched-flags', default='')
            table[key] = VirtualService(
                key=key, scheduler=option(words, '-s', '--scheduler', default='wlc'),
                scheduler_flags=tuple(flag for flag in flags.split(',') if flag),
                persistence_timeout=int(timeout) if timeout else 0,
                persistence_prefix=ipvsadm._prefix_from_netmask(netmask, key.family) if netmask else 0,
                one_packet='-o' in words or '--ops' in words or 'ops' in words)
        elif words[0] == '-a':
            _family, address, port = ipvsadm.parse_endpoint(option(words, '-r', '--real-server'))
            checksum = next((word[len('--tun-'):] for word in words
                             if word in ('--tun-nocsum', '--tun-csum', '--tun-remcsum')), 'nocsum')
            realserver = RealServer(
                address=address, port=port,
                forwarding=next((ipvsadm.SWITCH_FORWARDING[word] for word in words
                                 if word in ipvsadm.SWITCH_FORWARDING), 'dr'),
                weight=int(option(words, '-w', '--weight', default='1')),
                upper_threshold=int(option(words, '-x', '--u-threshold', default='0')),
                lower_threshold=int(option(words, '-y', '--l-threshold', default='0')),
                tunnel_type=option(words, '--tun-type', default='ipip'),
                tunnel_port=int(option(words, '--tun-port', default='0')), tunnel_checksum=checksum)
            table[key].realservers[realserver.key] = realserver
    return table


def test_rules_read_back_with_every_option():
    table = ipvsadm.parse_rules(SAVED)
    web = table[ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)]
    assert (web.scheduler, web.persistence_timeout, web.persistence_prefix) == ('wrr', 300, 24)
    assert [rs.weight for rs in web.realservers.values()] == [1, 2]
    dns = table[ServiceKey('ipv6', 'udp', '2001:db8::10', 53)]
    assert dns.scheduler_flags == ('sh-fallback', 'sh-port') and dns.one_packet
    assert dns.realservers[('2001:db8::11', 53)].settings() == ('nat', 0, 0, 0)
    mark = table[ServiceKey('ipv6', 'tcp', fwmark=7)]
    assert mark.realservers[('2001:db8::12', 0)].settings() == ('tun', 5, 0, 0, 'gue', 6080, 'csum')
    sctp = table[ServiceKey('ipv4', 'sctp', '192.0.2.10', 9000)]
    assert sctp.realservers[('198.51.100.13', 9000)].settings() == ('tun', 1, 0, 0, 'gre', 0, 'remcsum')
    assert table == reference_parse_rules(SAVED)
    assert sorted(rules(table.values())) == sorted(SAVED.splitlines())


def test_long_options_read_as_the_short_ones():
    table = ipvsadm.parse_rules('-A --tcp-service 192.0.2.10:80 --scheduler rr --persistent 60\n'
                                '-a --tcp-service 192.0.2.10:80 --real-server 198.51.100.11:80 -m --weight 3 '
                                '--u-threshold 9 --l-threshold 4\n')
    web = table[ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)]
    assert (web.scheduler, web.persistence_timeout) == ('rr', 60)
    assert web.realservers[('198.51.100.11', 80)].settings() == ('nat', 3, 9, 4)


def test_listing_columns_and_shared_endpoints():
    endpoints = {}
    listing = ipvsadm.parse_listing(LISTING, endpoints)
    assert listing[ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)] == ([], {
        ('198.51.100.11', 80): [100, 50, 3, 4], ('198.51.100.12', 80): [0, 0, 0, 1]})
    assert listing[ServiceKey('ipv6', 'tcp', fwmark=7)][1] == {('2001:db8::12', 0): [0, 0, 7, 0]}
    assert endpoints['[2001:db8::11]:53'] == ('2001:db8::11', 53)
    assert ipvsadm.parse_listing(LISTING, endpoints) == listing == ipvsadm.parse_listing(LISTING)


class FakeModule:
    """Runs nothing; answers ipvsadm's listings from SAVED and LISTING and records the commands."""

    def __init__(self):
        self.commands = []

    @staticmethod
    def get_bin_path(_name, required=False):
        return '/usr/sbin/ipvsadm'

    def run_command(self, command, **_options):
        self.commands.append(' '.join(command[1:]))
        if command[1:] == ['-S', '-n']:
            return 0, SAVED, ''
        return 0, LISTING, ''


@pytest.mark.parametrize('stats, listings', [
    (True, ['--thresholds', '--persistent-conn', '--stats', '--rate']),
    (False, ['--thresholds', '--persistent-conn']),
])
def test_stats_are_listed_only_when_wanted(stats, listings):
    module = FakeModule()
    table = ipvsadm.IpvsadmBackend(module).read_table(stats=stats)
    assert module.commands == ['-L -n --timeout', '-S -n'] + ['-L -n --exact ' + switch for switch in listings]
    web = table[ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)].realservers[('198.51.100.11', 80)]
    assert (web.upper_threshold, web.lower_threshold, web.active_connections, web.inactive_connections) == (
        100, 50, 3, 4)
    assert bool(web.stats) == stats
