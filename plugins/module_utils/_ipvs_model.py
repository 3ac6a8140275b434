# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS table as plain data: virtual services, real servers, and their ipvsadm rule form.

Private to the lvs.cluster collection; not a public API.
Both backends read the kernel into these objects and the planner compares them, so two
tables are equal exactly when their configuration is; live counters never take part.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field, replace

PROTOCOL_NUMBERS = {'tcp': 6, 'udp': 17, 'sctp': 132}
PROTOCOL_SWITCHES = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}
FORWARDING_CODES = {'nat': 0, 'tun': 2, 'dr': 3}
FORWARDING_SWITCHES = {'nat': '-m', 'tun': '-i', 'dr': '-g'}
TUNNEL_TYPE_CODES = {'ipip': 0, 'gue': 1, 'gre': 2}
TUNNEL_CHECKSUM_CODES = {'nocsum': 0, 'csum': 1, 'remcsum': 2}
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos')

FLAG_PERSISTENT = 0x0001
FLAG_ONE_PACKET = 0x0004
# Scheduler flags 1 and 2 mean fallback and port for both sh and mh.
SCHEDULER_FLAG_BITS = {'fallback': 0x0008, 'port': 0x0010}
SCHEDULERS_WITH_FLAGS = ('sh', 'mh')

DEFAULT_PERSISTENCE_TIMEOUT = 300
MAX_WEIGHT = 65535
MAX_THRESHOLD = 2 ** 31 - 1


def _ipv4_packed(address):
    """Return the 4 bytes of a dotted-quad IPv4 address, or None for anything else.

    inet_pton takes exactly the strings ipaddress.IPv4Address takes (four decimal octets, no
    leading zeros) in a tenth of the time; callers fall back to ipaddress for everything else.
    """
    try:
        return socket.inet_pton(socket.AF_INET, address)
    except (OSError, TypeError, ValueError):
        return None


def address_family(address):
    """Return (the address in its canonical form, 'ipv4' or 'ipv6'); raise ValueError if it is not an address.

    A string inet_pton takes as IPv4 is already canonical (it refuses leading zeros and blanks).
    """
    if _ipv4_packed(address) is not None:
        return address, 'ipv4'
    parsed = ipaddress.ip_address(address)
    return str(parsed), 'ipv%d' % parsed.version


def family_of(address):
    """Return 'ipv4' or 'ipv6' for an address string; raise ValueError if it is not an address."""
    return address_family(address)[1]


def host_bits(family):
    """Return the full prefix length of a family: 32 or 128."""
    return 32 if family == 'ipv4' else 128


def scheduler_flag_names(scheduler, bits):
    """Return the ipvsadm names (sh-fallback, mh-port, ...) of the scheduler flag bits set in bits."""
    if scheduler not in SCHEDULERS_WITH_FLAGS:
        return ()
    return tuple('%s-%s' % (scheduler, name) for name, bit in sorted(SCHEDULER_FLAG_BITS.items()) if bits & bit)


def _endpoint(family, address, port):
    return ('[%s]:%d' if family == 'ipv6' else '%s:%d') % (address, port)


@dataclass(frozen=True, order=True)
class ServiceKey:
    """What identifies a virtual service: protocol, address and port, or a firewall mark."""

    family: str = 'ipv4'
    protocol: str = 'tcp'
    address: str = ''
    port: int = 0
    fwmark: int = 0

    def switches(self):
        """Return the ipvsadm switches that name this service (``-t 192.0.2.1:80``, ``-f 7 -6``)."""
        if self.fwmark:
            return '-f %d%s' % (self.fwmark, ' -6' if self.family == 'ipv6' else '')
        return '%s %s' % (PROTOCOL_SWITCHES[self.protocol], _endpoint(self.family, self.address, self.port))

    def __str__(self):
        return self.switches()


@dataclass
class RealServer:
    """One destination of a virtual service, its configuration and its live counters."""

    address: str
    port: int
    forwarding: str = 'dr'
    weight: int = 1
    upper_threshold: int = 0
    lower_threshold: int = 0
    tunnel_type: str = 'ipip'
    tunnel_port: int = 0
    tunnel_checksum: str = 'nocsum'
    active_connections: int = 0
    inactive_connections: int = 0
    persistent_connections: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def family(self):
        return family_of(self.address)

    @property
    def key(self):
        return (self.address, self.port)

    def with_counters_of(self, other):
        """Return a copy of this real server's configuration with other's counters and stats (none if None)."""
        if other is None:
            return RealServer(self.address, self.port, self.forwarding, self.weight, self.upper_threshold,
                              self.lower_threshold, self.tunnel_type, self.tunnel_port, self.tunnel_checksum)
        return RealServer(self.address, self.port, self.forwarding, self.weight, self.upper_threshold,
                          self.lower_threshold, self.tunnel_type, self.tunnel_port, self.tunnel_checksum,
                          other.active_connections, other.inactive_connections, other.persistent_connections,
                          dict(other.stats))

    def settings(self):
        """Return the configuration as a tuple; the tunnel fields count only when forwarding is tun."""
        tunnel = (self.tunnel_type, self.tunnel_port, self.tunnel_checksum) if self.forwarding == 'tun' else ()
        return (self.forwarding, self.weight, self.upper_threshold, self.lower_threshold) + tunnel

    def target(self):
        """Return the ipvsadm switch that names this real server: ``-r 10.0.0.2:80``."""
        return '-r ' + _endpoint(self.family, self.address, self.port)

    def switches(self):
        """Return the ipvsadm switches after ``-a <service>``: ``-r 10.0.0.2:80 -g -w 1 ...``."""
        words = [self.target(), FORWARDING_SWITCHES[self.forwarding], '-w', str(self.weight)]
        if self.upper_threshold:
            words += ['-x', str(self.upper_threshold)]
        if self.lower_threshold:
            words += ['-y', str(self.lower_threshold)]
        if self.forwarding == 'tun' and self.tunnel_type != 'ipip':
            words += ['--tun-type', self.tunnel_type]
            if self.tunnel_type == 'gue':
                words += ['--tun-port', str(self.tunnel_port)]
            words.append('--tun-' + self.tunnel_checksum)
        return ' '.join(words)

    def counters(self):
        return {
            'active_connections': self.active_connections,
            'inactive_connections': self.inactive_connections,
            'persistent_connections': self.persistent_connections,
        }

    def to_config(self):
        """Return the real server as an item of ipvs_table's config takes it: its configuration, no counters."""
        config = {
            'address': self.address, 'port': self.port, 'forwarding': self.forwarding, 'weight': self.weight,
            'upper_threshold': self.upper_threshold, 'lower_threshold': self.lower_threshold,
        }
        if self.forwarding == 'tun':
            config['tunnel_type'] = self.tunnel_type
            if self.tunnel_type == 'gue':
                config['tunnel_port'] = self.tunnel_port
            if self.tunnel_type != 'ipip':
                config['tunnel_checksum'] = self.tunnel_checksum
        return config

    def to_result(self):
        """Return the real server as the dict the modules return: its configuration and counters."""
        result = self.to_config()
        if self.forwarding == 'tun':
            result.update(tunnel_type=self.tunnel_type, tunnel_port=self.tunnel_port,
                          tunnel_checksum=self.tunnel_checksum)
        result.update(self.counters())
        if self.stats:
            result['stats'] = dict(self.stats)
        return result


@dataclass
class VirtualService:
    """A virtual service with its scheduling settings and its real servers keyed by (address, port)."""

    key: ServiceKey
    scheduler: str = 'wlc'
    scheduler_flags: tuple = ()
    persistence_timeout: int = 0
    persistence_prefix: int = 0
    one_packet: bool = False
    realservers: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.persistence_prefix:
            self.persistence_prefix = host_bits(self.key.family)
        self.scheduler_flags = tuple(sorted(self.scheduler_flags))

    def settings(self):
        """Return the scheduling configuration as a tuple (what ``ipvsadm -E`` edits)."""
        prefix = self.persistence_prefix if self.persistence_timeout else host_bits(self.key.family)
        return (self.scheduler, self.scheduler_flags, self.persistence_timeout, prefix, self.one_packet)

    def flag_bits(self):
        """Return the kernel's IP_VS_SVC_F_* bits for these settings."""
        bits = FLAG_PERSISTENT if self.persistence_timeout else 0
        bits |= FLAG_ONE_PACKET if self.one_packet else 0
        for name in self.scheduler_flags:
            bits |= SCHEDULER_FLAG_BITS[name.split('-', 1)[1]]
        return bits

    def netmask_text(self):
        """Return the persistence granularity as ipvsadm writes it: a dotted mask (IPv4) or a prefix length."""
        if self.key.family == 'ipv4':
            return str(ipaddress.IPv4Network('0.0.0.0/%d' % self.persistence_prefix).netmask)
        return str(self.persistence_prefix)

    def switches(self):
        """Return the ipvsadm switches after ``-A``: ``-t 192.0.2.1:80 -s wrr -p 300 ...``."""
        words = [self.key.switches(), '-s', self.scheduler]
        if self.scheduler_flags:
            words += ['-b', ','.join(self.scheduler_flags)]
        if self.persistence_timeout:
            words += ['-p', str(self.persistence_timeout)]
            if self.persistence_prefix != host_bits(self.key.family):
                words += ['-M', self.netmask_text()]
        if self.one_packet:
            words.append('-o')
        return ' '.join(words)

    def without_realservers(self):
        return replace(self, realservers={}, stats={})

    def _described(self, realserver_dict):
        """Return the service as a dict, each real server as realserver_dict(real server) returns it."""
        result = {
            'family': self.key.family, 'scheduler': self.scheduler,
            'scheduler_flags': list(self.scheduler_flags), 'persistence_timeout': self.persistence_timeout,
            'persistence_netmask': self.netmask_text() if self.persistence_timeout else None,
            'one_packet': self.one_packet,
            'realservers': [realserver_dict(self.realservers[key]) for key in sorted(self.realservers)],
        }
        if self.key.fwmark:
            result['fwmark'] = self.key.fwmark
        else:
            result.update(protocol=self.key.protocol, address=self.key.address, port=self.key.port)
        return result

    def to_config(self):
        """Return the service as an item of ipvs_table's config takes it: its configuration, no counters."""
        return self._described(RealServer.to_config)

    def to_result(self):
        """Return the service as the dict the modules return: its configuration, counters and stats."""
        result = self._described(RealServer.to_result)
        if self.stats:
            result['stats'] = dict(self.stats)
        return result


def rules(services):
    """Return ipvsadm-save style lines (``-A ...``, ``-a ...``) for services, in a stable order."""
    lines = []
    for service in sorted(services, key=lambda s: s.key):
        lines.append('-A ' + service.switches())
        for key in sorted(service.realservers):
            realserver = service.realservers[key]
            lines.append('-a %s %s' % (service.key.switches(), realserver.switches()))
    return lines
