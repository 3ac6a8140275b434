# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ipvsadm backend: the same table through the ipvsadm command.

Private to the lvs.cluster collection; not a public API.
``ipvsadm -S`` is lossy (no thresholds, no counters), so the table is read from the rule form
for the configuration and from ``ipvsadm -Ln --exact`` listings for thresholds, counters and
stats; a read whose processes saw different services or real servers (the table changed between
them) is done again. A whole plan is written by one ``ipvsadm -R`` process; when it reports a
refusal, the table is read back to see which changes were made, for the client to undo.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import shlex

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import (
    ApplyError, IPVSError, IPVSPermissionError, IPVSUnavailable, TableChanged, cause,
    read_consistently,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    FORWARDING_SWITCHES, PROTOCOL_SWITCHES, RealServer, ServiceKey, VirtualService, address_family,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import split_by_effect

SWITCH_PROTOCOLS = {switch: protocol for protocol, switch in PROTOCOL_SWITCHES.items()}
SWITCH_PROTOCOLS.update({'--tcp-service': 'tcp', '--udp-service': 'udp', '--sctp': 'sctp'})
SWITCH_FORWARDING = {switch: name for name, switch in FORWARDING_SWITCHES.items()}
LISTING_PROTOCOLS = {'TCP': 'tcp', 'UDP': 'udp', 'SCTP': 'sctp'}
NO_IPVS_SIGNS = ("Can't initialize ipvs", 'Protocol not available')
NO_PRIVILEGE_SIGNS = ('Permission denied', 'must be root')
# ipvsadm's words for the kernel's refusals (libipvs' ipvs_strerror, else strerror) and the errno they stand for.
REFUSAL_ERRNOS = (('Invalid operation', errno.EINVAL), ('Invalid argument', errno.EINVAL),
                  ('out of range', errno.ERANGE), ('not found', errno.ENOENT), ('Permission denied', errno.EPERM))
STATS_COLUMNS = {
    '--stats': ('connections', 'in_packets', 'out_packets', 'in_bytes', 'out_bytes'),
    '--rate': ('connections_per_second', 'in_packets_per_second', 'out_packets_per_second',
               'in_bytes_per_second', 'out_bytes_per_second'),
}
# A line of printable ASCII, spaces and tabs without quotes or backslashes: shlex.split would only split it
# at its spaces and tabs, as str.split does.
_PLAIN_LINE = re.compile(r'[ \t!#-&(-\[\]-~]*')


def parse_endpoint(text):
    """Split ``192.0.2.1:80`` or ``[2001:db8::1]:80`` into (family, address, port)."""
    if text.startswith('['):
        address, _sep, port = text[1:].partition(']:')
    else:
        address, _sep, port = text.rpartition(':')
    address, family = address_family(address)
    return family, address, int(port)


def _service_key(words):
    """Read the service switches (-t/-u/--sctp-service ADDR:PORT or -f MARK [-6]) out of a rule's words."""
    family = 'ipv6' if '-6' in words else 'ipv4'
    for index, word in enumerate(words):
        if word in SWITCH_PROTOCOLS:
            family, address, port = parse_endpoint(words[index + 1])
            return ServiceKey(family=family, protocol=SWITCH_PROTOCOLS[word], address=address, port=port)
        if word == '-f':
            return ServiceKey(family=family, protocol='tcp', fwmark=int(words[index + 1]))
    raise IPVSError('cannot read the service in the ipvsadm rule %r' % ' '.join(words))


def _options(words):
    """Return {word: the word after it} for a rule's words; the first of repeated words wins."""
    return dict(zip(words[-2::-1], words[:0:-1]))


def _option(options, *names, default=None):
    """Return the value of the first of names (a switch and its long form) in _options(words)."""
    for name in names:
        if name in options:
            return options[name]
    return default


def _prefix_from_netmask(text, family):
    if family == 'ipv6' or text.isdigit():
        return int(text)
    return ipaddress.IPv4Network('0.0.0.0/%s' % text).prefixlen


def _words(line):
    """shlex.split(line), without shlex for the lines ipvsadm writes, which quote and escape nothing."""
    if _PLAIN_LINE.fullmatch(line):
        return line.split()
    return shlex.split(line)


def parse_rules(text):
    """Return the table (dict ServiceKey -> VirtualService) that ipvsadm-save lines describe.

    Raise IPVSError naming the first line that is not an ipvsadm-save -n rule.
    """
    table = {}
    keys = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            _parse_rule(_words(line), table, keys)
        except (IPVSError, ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
            raise IPVSError('line %d (%s) is not an ipvsadm-save -n rule: %s' % (
                number, line.strip(), error if isinstance(error, IPVSError) else _parse_problem(error)))
    return table


def _parse_problem(error):
    """Return what a parsing exception means, in words."""
    if isinstance(error, KeyError):
        return 'it adds a real server to a service no -A line before it adds'
    if isinstance(error, (IndexError, AttributeError, TypeError)):
        return 'a switch lacks its value'
    return 'a value is not an address, port or number (%s)' % error


def _parse_rule(words, table, keys):
    """Add what one rule's words say to table; keys memoizes the service keys read."""
    if not words:
        return
    if words[0] not in ('-A', '-a'):
        raise IPVSError('ipvsadm-save writes only -A and -a lines')
    if len(words) > 2 and (words[1] in SWITCH_PROTOCOLS or words[1] == '-f'):
        # ipvsadm -S names the service right after -A/-a: read each service's switches once.
        memo = (words[1], words[2], '-6' in words)
        key = keys.get(memo)
        if key is None:
            key = keys[memo] = _service_key(words)
    else:
        key = _service_key(words)
    if words[0] == '-A':
        options = _options(words)
        timeout = _option(options, '-p', '--persistent')
        netmask = _option(options, '-M', '--netmask')
        flags = _option(options, '-b', '--sched-flags', default='')
        table[key] = VirtualService(
            key=key, scheduler=_option(options, '-s', '--scheduler', default='wlc'),
            scheduler_flags=tuple(flag for flag in flags.split(',') if flag),
            persistence_timeout=int(timeout) if timeout else 0,
            persistence_prefix=_prefix_from_netmask(netmask, key.family) if netmask else 0,
            one_packet='-o' in words or '--ops' in words or 'ops' in words,
        )
    else:
        realserver = _realserver_from_words(words)
        table[key].realservers[realserver.key] = realserver


def _realserver_from_words(words):
    options = _options(words)
    _family, address, port = parse_endpoint(_option(options, '-r', '--real-server'))
    forwarding = next((SWITCH_FORWARDING[word] for word in words if word in SWITCH_FORWARDING), 'dr')
    checksum = next((word[len('--tun-'):] for word in words if word in ('--tun-nocsum', '--tun-csum', '--tun-remcsum')),
                    'nocsum')
    return RealServer(
        address=address, port=port, forwarding=forwarding,
        weight=int(_option(options, '-w', '--weight', default='1')),
        upper_threshold=int(_option(options, '-x', '--u-threshold', default='0')),
        lower_threshold=int(_option(options, '-y', '--l-threshold', default='0')),
        tunnel_type=_option(options, '--tun-type', default='ipip'),
        tunnel_port=int(_option(options, '--tun-port', default='0')),
        tunnel_checksum=checksum,
    )


def parse_listing(text, endpoints=None):
    """Return {service key: (service columns, {(address, port): real server columns})} from ``ipvsadm -Ln``.

    Columns are the numbers at the end of each line, as ints, whatever the listing's format.
    endpoints, a dict, keeps the real server endpoints read, for the next listing of the same table.
    """
    listing = {}
    current = None
    endpoints = {} if endpoints is None else endpoints
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == '->' and not words[1].startswith('RemoteAddress'):
            rs_key = endpoints.get(words[1])
            if rs_key is None:
                rs_key = endpoints[words[1]] = parse_endpoint(words[1])[1:]
            listing[current][1][rs_key] = _numbers(words[2:])
        elif words[0] == 'FWM':
            family = 'ipv6' if len(words) > 2 and words[2] == 'IPv6' else 'ipv4'
            current = ServiceKey(family=family, protocol='tcp', fwmark=int(words[1]))
            listing[current] = (_numbers(words[2:]), {})
        elif words[0] in LISTING_PROTOCOLS:
            family, address, port = parse_endpoint(words[1])
            current = ServiceKey(family=family, protocol=LISTING_PROTOCOLS[words[0]], address=address, port=port)
            listing[current] = (_numbers(words[2:]), {})
    return listing


def _numbers(words):
    """Return the numbers that end words, as ints."""
    start = len(words)
    while start and words[start - 1].isdigit():
        start -= 1
    return [int(word) for word in words[start:]]


class IpvsadmBackend:
    """Reads and writes the IPVS table by running ipvsadm."""

    name = 'ipvsadm'
    # ipvsadm 1.31 (Debian 12's) has --tun-type ipip and gue only; _ipvs_client checks plans against this.
    unwritable_tunnel_types = ('gre',)

    def __init__(self, module):
        self._module = module
        self._ipvsadm = module.get_bin_path('ipvsadm', required=True)
        self._run('-L', '-n', '--timeout')

    def close(self):
        """Nothing to release: every call is its own process."""

    def _command(self, *args, data=None):
        """Run ipvsadm with args; return (rc, stdout, stderr)."""
        return self._module.run_command([self._ipvsadm] + list(args), data=data, binary_data=True,
                                        environ_update={'LANG': 'C', 'LC_ALL': 'C'})

    def _run(self, *args):
        """Return the output of ipvsadm with args; raise IPVSError saying why if it fails."""
        rc, out, err = self._command(*args)
        if rc != 0:
            step = 'running ipvsadm %s' % ' '.join(args)
            if any(sign in err for sign in NO_PRIVILEGE_SIGNS):
                raise IPVSPermissionError(step)
            if any(sign in err for sign in NO_IPVS_SIGNS):
                raise IPVSUnavailable(err.strip().splitlines()[0])
            raise IPVSError('%s failed (rc=%d): %s' % (step, rc, err.strip() or out.strip()))
        return out

    def read_table(self, stats=True):
        """Return the live table as a dict ServiceKey -> VirtualService, with counters, and stats unless told not.

        Without stats, the --stats and --rate listings are not run.
        """
        return read_consistently(self._read_table_once, stats)

    def _listing(self, table, switch, endpoints):
        """Return parse_listing of ``ipvsadm -L -n --exact switch``; raise TableChanged unless it lists table's entries."""
        listing = parse_listing(self._run('-L', '-n', '--exact', switch), endpoints)
        if listing.keys() != table.keys() or any(realservers.keys() != table[key].realservers.keys()
                                                 for key, (_columns, realservers) in listing.items()):
            raise TableChanged('"ipvsadm -L %s" listed other services or real servers than "ipvsadm -S" just before'
                               % switch)
        return listing

    def _read_table_once(self, stats):
        table = parse_rules(self._run('-S', '-n'))
        endpoints = {}
        for key, (_columns, realservers) in self._listing(table, '--thresholds', endpoints).items():
            for rs_key, (upper, lower, active, inactive) in realservers.items():
                realserver = table[key].realservers[rs_key]
                realserver.upper_threshold, realserver.lower_threshold = upper, lower
                realserver.active_connections, realserver.inactive_connections = active, inactive
        for key, (_columns, realservers) in self._listing(table, '--persistent-conn', endpoints).items():
            for rs_key, columns in realservers.items():
                table[key].realservers[rs_key].persistent_connections = columns[1]
        for switch, names in STATS_COLUMNS.items() if stats else ():
            for key, (columns, realservers) in self._listing(table, switch, endpoints).items():
                table[key].stats.update(zip(names, columns))
                for rs_key, rs_columns in realservers.items():
                    table[key].realservers[rs_key].stats.update(zip(names, rs_columns))
        return table

    def apply(self, changes):
        """Apply every change with one ``ipvsadm -R`` process; raise ApplyError if ipvsadm reports a refusal.

        ipvsadm -R goes on after a refused line and prints one message a refusal on stderr (without saying
        which line), then exits with the status of the last line; so the table is read back to find the
        changes made, and the first change not made is the refused one.
        """
        if not changes:
            return
        rc, _out, err = self._command('-R', data='\n'.join(change.rule() for change in changes) + '\n')
        if rc == 0 and not err.strip():
            return
        made, refused = split_by_effect(changes, self.read_table(stats=False))
        if refused is None:
            return
        said = err.strip().splitlines()[0] if err.strip() else 'no message (rc=%d)' % rc
        code = next((code for words, code in REFUSAL_ERRNOS if words in said), None)
        reason = 'ipvsadm -R said "%s"' % said + ('; %s' % cause(refused, code) if cause(refused, code) else '')
        raise ApplyError(refused, reason, made)

    def read_timeouts(self):
        words = self._run('-L', '-n', '--timeout').split(':')[-1].split()
        return dict(zip(('tcp', 'tcp_fin', 'udp'), (int(word) for word in words)))

    def read_daemons(self):
        daemons = []
        for line in self._run('-L', '-n', '--daemon').splitlines():
            if 'sync daemon' in line:
                details = dict(part.split('=') for part in line.split('(')[1].rstrip(')').split(', '))
                daemons.append({'state': line.split()[0], 'interface': details.get('mcast'),
                                'sync_id': int(details.get('syncid', 0))})
        return daemons
