# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ipvsadm backend: the same table through the ipvsadm command.

Private to the lvs.cluster collection; not a public API.
``ipvsadm -S`` is lossy (no thresholds, no counters), so the table is read from the rule form
for the configuration and from ``ipvsadm -Ln --exact`` listings for thresholds, counters and
stats. A whole plan is written by one ``ipvsadm -R`` process.
"""

from __future__ import annotations

import ipaddress
import shlex

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSError, IPVSUnavailable, ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    FORWARDING_SWITCHES, PROTOCOL_SWITCHES, RealServer, ServiceKey, VirtualService, family_of,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import DELETE_REALSERVER

SWITCH_PROTOCOLS = {switch: protocol for protocol, switch in PROTOCOL_SWITCHES.items()}
SWITCH_PROTOCOLS.update({'--tcp-service': 'tcp', '--udp-service': 'udp', '--sctp': 'sctp'})
SWITCH_FORWARDING = {switch: name for name, switch in FORWARDING_SWITCHES.items()}
LISTING_PROTOCOLS = {'TCP': 'tcp', 'UDP': 'udp', 'SCTP': 'sctp'}
NO_IPVS_SIGNS = ("Can't initialize ipvs", 'Protocol not available')
STATS_COLUMNS = {
    '--stats': ('connections', 'in_packets', 'out_packets', 'in_bytes', 'out_bytes'),
    '--rate': ('connections_per_second', 'in_packets_per_second', 'out_packets_per_second',
               'in_bytes_per_second', 'out_bytes_per_second'),
}


def parse_endpoint(text):
    """Split ``192.0.2.1:80`` or ``[2001:db8::1]:80`` into (family, address, port)."""
    if text.startswith('['):
        address, _sep, port = text[1:].partition(']:')
    else:
        address, _sep, port = text.rpartition(':')
    address = str(ipaddress.ip_address(address))
    return family_of(address), address, int(port)


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


def _option(words, *names, default=None):
    for index, word in enumerate(words):
        if word in names:
            return words[index + 1]
    return default


def _prefix_from_netmask(text, family):
    if family == 'ipv6' or text.isdigit():
        return int(text)
    return ipaddress.IPv4Network('0.0.0.0/%s' % text).prefixlen


def parse_rules(text):
    """Return the table (dict ServiceKey -> VirtualService) that ipvsadm-save lines describe."""
    table = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if not words:
            continue
        key = _service_key(words)
        if words[0] == '-A':
            timeout = _option(words, '-p', '--persistent')
            netmask = _option(words, '-M', '--netmask')
            flags = _option(words, '-b', '--sched-flags', default='')
            table[key] = VirtualService(
                key=key, scheduler=_option(words, '-s', '--scheduler', default='wlc'),
                scheduler_flags=tuple(flag for flag in flags.split(',') if flag),
                persistence_timeout=int(timeout) if timeout else 0,
                persistence_prefix=_prefix_from_netmask(netmask, key.family) if netmask else 0,
                one_packet='-o' in words or '--ops' in words or 'ops' in words,
            )
        elif words[0] == '-a':
            realserver = _realserver_from_words(words)
            table[key].realservers[realserver.key] = realserver
    return table


def _realserver_from_words(words):
    _family, address, port = parse_endpoint(_option(words, '-r', '--real-server'))
    forwarding = next((SWITCH_FORWARDING[word] for word in words if word in SWITCH_FORWARDING), 'dr')
    checksum = next((word[len('--tun-'):] for word in words if word in ('--tun-nocsum', '--tun-csum', '--tun-remcsum')),
                    'nocsum')
    return RealServer(
        address=address, port=port, forwarding=forwarding,
        weight=int(_option(words, '-w', '--weight', default='1')),
        upper_threshold=int(_option(words, '-x', '--u-threshold', default='0')),
        lower_threshold=int(_option(words, '-y', '--l-threshold', default='0')),
        tunnel_type=_option(words, '--tun-type', default='ipip'),
        tunnel_port=int(_option(words, '--tun-port', default='0')),
        tunnel_checksum=checksum,
    )


def parse_listing(text):
    """Return {service key: (service columns, {(address, port): real server columns})} from ``ipvsadm -Ln``.

    Columns are the numbers at the end of each line, as ints, whatever the listing's format.
    """
    listing = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == '->' and not words[1].startswith('RemoteAddress'):
            _family, address, port = parse_endpoint(words[1])
            listing[current][1][(address, port)] = _numbers(words[2:])
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
    numbers = []
    for word in reversed(words):
        if not word.isdigit():
            break
        numbers.insert(0, int(word))
    return numbers


class IpvsadmBackend:
    """Reads and writes the IPVS table by running ipvsadm."""

    name = 'ipvsadm'

    def __init__(self, module):
        self._module = module
        self._ipvsadm = module.get_bin_path('ipvsadm', required=True)
        self._run('-L', '-n', '--timeout')

    def close(self):
        """Nothing to release: every call is its own process."""

    def _run(self, *args, data=None):
        rc, out, err = self._module.run_command([self._ipvsadm] + list(args), data=data, binary_data=True,
                                                environ_update={'LANG': 'C', 'LC_ALL': 'C'})
        if rc != 0:
            if any(sign in err for sign in NO_IPVS_SIGNS):
                raise IPVSUnavailable(err.strip().splitlines()[0])
            raise IPVSError('ipvsadm %s failed (rc=%d): %s' % (' '.join(args), rc, err.strip() or out.strip()))
        return out

    def read_table(self):
        """Return the live table as a dict ServiceKey -> VirtualService, with counters and stats."""
        table = parse_rules(self._run('-S', '-n'))
        for key, (_columns, realservers) in parse_listing(self._run('-L', '-n', '--exact', '--thresholds')).items():
            for rs_key, (upper, lower, active, inactive) in realservers.items():
                realserver = table[key].realservers[rs_key]
                realserver.upper_threshold, realserver.lower_threshold = upper, lower
                realserver.active_connections, realserver.inactive_connections = active, inactive
        for key, (_columns, realservers) in parse_listing(self._run('-L', '-n', '--exact', '--persistent-conn')).items():
            for rs_key, columns in realservers.items():
                table[key].realservers[rs_key].persistent_connections = columns[1]
        for switch, names in STATS_COLUMNS.items():
            for key, (columns, realservers) in parse_listing(self._run('-L', '-n', '--exact', switch)).items():
                table[key].stats.update(zip(names, columns))
                for rs_key, rs_columns in realservers.items():
                    table[key].realservers[rs_key].stats.update(zip(names, rs_columns))
        return table

    def apply(self, changes):
        """Apply every change with one ``ipvsadm -R`` process, which stops at the first refused line."""
        for change in changes:
            if change.realserver is not None and change.realserver.forwarding == 'tun' and \
                    change.realserver.tunnel_type == 'gre' and change.action != DELETE_REALSERVER:
                raise ParameterError('tunnel_type', 'gre', 'ipvsadm 1.31 cannot write GRE tunnels; use backend: netlink')
        if changes:
            self._run('-R', data='\n'.join(change.rule() for change in changes) + '\n')

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
