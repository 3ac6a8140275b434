"""The ipvsadm backend reads ipvsadm's output as before, faster: rules, listings, and what it runs."""

from __future__ import annotations

import shlex

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_ipvsadm as ipvsadm
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import (
    READ_ATTEMPTS, ApplyError, IPVSError, IPVSPermissionError,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, VirtualService, rules,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_REALSERVER, EDIT_REALSERVER, Change, apply_to_table,
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


class ChangingModule(FakeModule):
    """FakeModule whose table loses its SCTP service between ``ipvsadm -S`` and the listings, changes times."""

    def __init__(self, changes):
        super().__init__()
        self.changes = changes

    def run_command(self, command, **_options):
        self.commands.append(' '.join(command[1:]))
        if command[1:] == ['-S', '-n']:
            return 0, SAVED, ''
        if command[-1] == '--thresholds' and self.changes:
            self.changes -= 1
            return 0, LISTING.split('SCTP', maxsplit=1)[0], ''
        return 0, LISTING, ''


def test_a_table_changed_between_the_processes_of_a_read_is_read_again():
    module = ChangingModule(changes=2)
    table = ipvsadm.IpvsadmBackend(module).read_table(stats=False)
    assert module.commands.count('-S -n') == 3
    assert table[ServiceKey('ipv4', 'sctp', '192.0.2.10', 9000)].scheduler == 'mh'


def test_a_table_that_keeps_changing_is_a_failure_not_a_key_error():
    module = ChangingModule(changes=READ_ATTEMPTS)
    with pytest.raises(IPVSError) as error:
        ipvsadm.IpvsadmBackend(module).read_table()
    assert module.commands.count('-S -n') == READ_ATTEMPTS
    assert str(error.value) == (
        'reading the IPVS table failed: it changed during each of 3 reads ("ipvsadm -L --thresholds" listed other '
        'services or real servers than "ipvsadm -S" just before); another process, such as keepalived, keeps '
        'changing it: try again')


class RestoringModule(FakeModule):
    """FakeModule whose ``ipvsadm -R`` makes every line but the refused ones and exits 0, as ipvsadm 1.31 does."""

    def __init__(self, refused):
        super().__init__()
        self.table = ipvsadm.parse_rules(SAVED)
        self.refused = refused

    def run_command(self, command, data=None, **_options):
        self.commands.append(' '.join(command[1:]))
        if command[1:] == ['-R']:
            lines = data.splitlines()
            for line in lines:
                if line not in self.refused:
                    self.table = apply_to_table(self.table, [change for change in PLAN if change.rule() == line])
            return 0, '', 'Invalid operation.  Possibly wrong module version, address not unicast, ...\n' * len(
                self.refused)
        if command[1:] == ['-S', '-n']:
            return 0, '\n'.join(rules(self.table.values())) + '\n', ''
        return 0, render_listing(self.table), ''


def render_listing(table):
    """ipvsadm -Ln --exact --thresholds (and the other listings, with the same four columns) of table."""
    lines = []
    for key, service in sorted(table.items()):
        if key.fwmark:
            lines.append('FWM  %d%s rr' % (key.fwmark, ' IPv6' if key.family == 'ipv6' else ''))
        else:
            endpoint = ('[%s]:%d' if key.family == 'ipv6' else '%s:%d') % (key.address, key.port)
            lines.append('%s  %s %s' % (key.protocol.upper(), endpoint, service.scheduler))
        for rs_key, member in sorted(service.realservers.items()):
            endpoint = ('[%s]:%d' if member.family == 'ipv6' else '%s:%d') % rs_key
            lines.append('  -> %s 0 0 0 0' % endpoint)
    return '\n'.join(lines) + '\n'


WEB_KEY = ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)
PLAN = [Change(EDIT_REALSERVER, VirtualService(key=WEB_KEY), RealServer('198.51.100.11', 80, weight=4)),
        Change(ADD_REALSERVER, VirtualService(key=WEB_KEY), RealServer('192.0.2.255', 80)),
        Change(ADD_REALSERVER, VirtualService(key=WEB_KEY), RealServer('198.51.100.14', 80))]


def test_a_refusal_that_ipvsadm_restore_exits_0_after_is_found_and_the_changes_made_listed():
    module = RestoringModule(refused=[PLAN[1].rule()])
    with pytest.raises(ApplyError) as error:
        ipvsadm.IpvsadmBackend(module).apply(PLAN)
    assert error.value.change == PLAN[1] and error.value.applied == [PLAN[0], PLAN[2]]
    assert str(error.value) == (
        'adding real server 192.0.2.255:80 to tcp 192.0.2.10:80 (-a -t 192.0.2.10:80 -r 192.0.2.255:80 -g -w 1) '
        'failed: ipvsadm -R said "Invalid operation.  Possibly wrong module version, address not unicast, ..."; '
        'check address (the kernel takes only a unicast or local address of this host, not a broadcast or multicast '
        'one), forwarding and tunnel_port')


def test_ipvsadm_without_privilege_says_what_is_needed():
    class UnprivilegedModule(FakeModule):
        def run_command(self, command, **_options):
            return 2, '', ("Can't initialize ipvs: Permission denied (you must be root)\n"
                           'Are you sure that IP Virtual Server is built in the kernel or as module?\n')
    with pytest.raises(IPVSPermissionError) as error:
        ipvsadm.IpvsadmBackend(UnprivilegedModule())
    assert str(error.value) == ('running ipvsadm -L -n --timeout was refused: IPVS needs root or CAP_NET_ADMIN on '
                                'the target: run the task with become: true.')
