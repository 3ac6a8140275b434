# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink backend: the kernel's IPVS generic-netlink family.

Private to the lvs.cluster collection; not a public API.
Only Python's standard library: the family id comes from the generic-netlink controller
(CTRL_CMD_GETFAMILY) and the messages are coded here, as the kernel's include/uapi/linux/ip_vs.h
declares them, over _netlink's socket. (pyroute2's IPVS classes, 0.8.1 to 0.9.7, map "update" to the
kernel's DELETE, encode the GUE port in host byte order, send IPv6 services without the netmask the
kernel requires and have no timeouts or daemons; its generic attribute coder costs about 0.2 ms a
message, minutes for a table of 40,000 entries under emulation, and importing it about 4 s there.)
"""

from __future__ import annotations

import errno
import socket
import struct
import sys

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    FLAG_ONE_PACKET, FLAG_PERSISTENT, FORWARDING_CODES, PROTOCOL_NUMBERS,
    TUNNEL_CHECKSUM_CODES, TUNNEL_TYPE_CODES, RealServer, ServiceKey, VirtualService, host_bits,
    scheduler_flag_names,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_REALSERVER, ADD_SERVICE, DELETE_REALSERVER, DELETE_SERVICE, EDIT_REALSERVER, EDIT_SERVICE, service_name,
    split_by_effect,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import (
    PRIVILEGE_ERRNOS, RACES, ApplyError, IPVSError, IPVSPermissionError, IPVSUnavailable, TableChanged, kernel_reason,
    read_consistently, refusal,
)
from ansible_collections.lvs.cluster.plugins.module_utils._netlink import (
    NLM_F_ACK, NLM_F_DUMP, NetlinkSocket, attr, parse_attrs, string_attr, u16_attr, u32_attr,
)

IPVS_CMD = {
    ADD_SERVICE: 1, EDIT_SERVICE: 2, DELETE_SERVICE: 3, 'get-service': 4,
    ADD_REALSERVER: 5, EDIT_REALSERVER: 6, DELETE_REALSERVER: 7, 'get-realserver': 8,
    'get-daemon': 11, 'get-config': 13,
}
# Attribute numbers of include/uapi/linux/ip_vs.h.
CMD_SERVICE, CMD_DEST, CMD_DAEMON, CMD_TIMEOUT_TCP, CMD_TIMEOUT_TCP_FIN, CMD_TIMEOUT_UDP = 1, 2, 3, 4, 5, 6
SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT, SVC_FWMARK, SVC_SCHED_NAME, SVC_FLAGS, SVC_TIMEOUT, SVC_NETMASK = range(1, 10)
SVC_STATS64 = 12
(DEST_ADDR, DEST_PORT, DEST_FWD_METHOD, DEST_WEIGHT, DEST_U_THRESH, DEST_L_THRESH, DEST_ACTIVE_CONNS,
 DEST_INACT_CONNS, DEST_PERSIST_CONNS) = range(1, 10)
DEST_ADDR_FAMILY, DEST_STATS64, DEST_TUN_TYPE, DEST_TUN_PORT, DEST_TUN_FLAGS = 11, 12, 13, 14, 15
DAEMON_STATE, DAEMON_MCAST_IFN, DAEMON_SYNC_ID = 1, 2, 3
FAMILIES = {'ipv4': socket.AF_INET, 'ipv6': socket.AF_INET6}
FAMILY_NAMES = {code: name for name, code in FAMILIES.items()}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
FORWARDING_NAMES = {code: name for name, code in FORWARDING_CODES.items()}
TUNNEL_TYPE_NAMES = {code: name for name, code in TUNNEL_TYPE_CODES.items()}
TUNNEL_CHECKSUM_NAMES = {code: name for name, code in TUNNEL_CHECKSUM_CODES.items()}
FORWARD_MASK = 0x0007
STATS_FIELDS = ('connections', 'in_packets', 'out_packets', 'in_bytes', 'out_bytes',
                'connections_per_second', 'in_packets_per_second', 'out_packets_per_second',
                'in_bytes_per_second', 'out_bytes_per_second')
DAEMON_STATES = {1: 'master', 2: 'backup'}
NETLINK_GENERIC = 16
GENL_HEADER = 4
# The generic-netlink controller of include/uapi/linux/genetlink.h, which names the families' ids.
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
IPVS_GENL_NAME = 'IPVS'
IPVS_GENL_VERSION = 1
# IPVS_*_ATTR_STATS64 as x86 and every other arch with unaligned access lays it out: ten u64 attributes
# in order, no padding attributes. Anything else is read attribute by attribute.
_STATS64 = struct.Struct('=' + 'HHQ' * len(STATS_FIELDS))
_STATS64_LENGTHS = (12,) * len(STATS_FIELDS)
_STATS64_KINDS = tuple(range(1, len(STATS_FIELDS) + 1))


def _be16(kind, value):
    return attr(kind, struct.pack('>H', value))


def _int(attrs, kind, default=0):
    """Read an unsigned integer attribute of any width (u8, u16, u32, u64) in host order."""
    data = attrs.get(kind)
    if data is None:
        return default
    return int.from_bytes(data, sys.byteorder)


def _pack_address(family, address):
    return socket.inet_pton(FAMILIES[family], address)


def _unpack_address(family, data):
    if family == 'ipv4':
        return socket.inet_ntop(socket.AF_INET, data[:4])
    return socket.inet_ntop(socket.AF_INET6, data[:16])


def _pack_netmask(family, prefix):
    """IPv4 wants the mask in network order, IPv6 the prefix length in host order (both a u32)."""
    if family == 'ipv4':
        return struct.pack('>I', (0xffffffff << (32 - prefix)) & 0xffffffff)
    return struct.pack('=I', prefix)


def _unpack_netmask(family, data):
    if family == 'ipv4':
        return bin(struct.unpack('>I', bytes(data[:4]))[0]).count('1')
    return struct.unpack('=I', bytes(data[:4]))[0]


def _stats(data):
    if data is None:
        return {}
    if len(data) == _STATS64.size:
        fields = _STATS64.unpack(data)
        if fields[0::3] == _STATS64_LENGTHS and fields[1::3] == _STATS64_KINDS:
            return dict(zip(STATS_FIELDS, fields[2::3]))
    values = parse_attrs(data)
    return {name: _int(values, index) for index, name in enumerate(STATS_FIELDS, 1)}


def _key_payload(key):
    """The attributes that name a service (what IPVS_CMD_ATTR_SERVICE nests)."""
    attrs = u16_attr(SVC_AF, FAMILIES[key.family])
    if key.fwmark:
        return attrs + u32_attr(SVC_FWMARK, key.fwmark)
    return (attrs + u16_attr(SVC_PROTOCOL, PROTOCOL_NUMBERS[key.protocol])
            + attr(SVC_ADDR, _pack_address(key.family, key.address)) + _be16(SVC_PORT, key.port))


def _key_attrs(key):
    """The attributes that name a service, nested in IPVS_CMD_ATTR_SERVICE."""
    return attr(CMD_SERVICE, _key_payload(key))


def _service_attrs(service):
    """A whole service (key and settings), nested in IPVS_CMD_ATTR_SERVICE."""
    key = _key_payload(service.key)
    return attr(CMD_SERVICE, key + attr(SVC_SCHED_NAME, service.scheduler.encode() + b'\0')
                + attr(SVC_FLAGS, struct.pack('=II', service.flag_bits(), 0xffffffff))
                + u32_attr(SVC_TIMEOUT, service.persistence_timeout)
                + attr(SVC_NETMASK, _pack_netmask(service.key.family, service.persistence_prefix)))


def _dest_layout(address_size, full):
    """The Struct of an IPVS_CMD_ATTR_DEST: (length, type) headers, each value padded to 4 bytes.

    Values are packed in host order; the ports go in as socket.htons(port), so they come out in
    network order. One pack a real server instead of one per attribute: a table has tens of thousands.
    """
    layout = '=HH' + 'HH%ds' % address_size + 'HHH2x' * 2
    if full:
        layout += 'HHI' * 4 + 'HHB3x' + 'HHH2x' * 2
    return struct.Struct(layout)


_DEST_LAYOUTS = {(family, full): _dest_layout(size, full)
                 for family, size in (('ipv4', 4), ('ipv6', 16)) for full in (False, True)}


def _realserver_attrs(realserver, full):
    """A real server (its key, and its settings when full), nested in IPVS_CMD_ATTR_DEST."""
    family = realserver.family
    address = _pack_address(family, realserver.address)
    layout = _DEST_LAYOUTS[family, full]
    values = [layout.size, CMD_DEST, 4 + len(address), DEST_ADDR, address,
              6, DEST_PORT, socket.htons(realserver.port), 6, DEST_ADDR_FAMILY, FAMILIES[family]]
    if full:
        values += [8, DEST_FWD_METHOD, FORWARDING_CODES[realserver.forwarding], 8, DEST_WEIGHT, realserver.weight,
                   8, DEST_U_THRESH, realserver.upper_threshold, 8, DEST_L_THRESH, realserver.lower_threshold,
                   5, DEST_TUN_TYPE, TUNNEL_TYPE_CODES[realserver.tunnel_type],
                   6, DEST_TUN_PORT, socket.htons(realserver.tunnel_port),
                   6, DEST_TUN_FLAGS, TUNNEL_CHECKSUM_CODES[realserver.tunnel_checksum]]
    return layout.pack(*values)


def _service_from_attrs(values, stats=True):
    """Return the VirtualService that the attributes nested in IPVS_CMD_ATTR_SERVICE describe."""
    family = FAMILY_NAMES[_int(values, SVC_AF)]
    fwmark = _int(values, SVC_FWMARK)
    if fwmark:
        key = ServiceKey(family=family, protocol='tcp', fwmark=fwmark)
    else:
        key = ServiceKey(family=family, protocol=PROTOCOL_NAMES[_int(values, SVC_PROTOCOL)],
                         address=_unpack_address(family, values[SVC_ADDR]),
                         port=int.from_bytes(values[SVC_PORT][:2], 'big'))
    bits = struct.unpack_from('=I', values[SVC_FLAGS])[0]
    scheduler = values[SVC_SCHED_NAME].rstrip(b'\0').decode()
    netmask = values.get(SVC_NETMASK)
    return VirtualService(
        key=key, scheduler=scheduler, scheduler_flags=scheduler_flag_names(scheduler, bits),
        persistence_timeout=_int(values, SVC_TIMEOUT) if bits & FLAG_PERSISTENT else 0,
        persistence_prefix=_unpack_netmask(family, netmask) if netmask else host_bits(family),
        one_packet=bool(bits & FLAG_ONE_PACKET),
        stats=_stats(values.get(SVC_STATS64)) if stats else {},
    )


_DEST_NUMBERS = (DEST_FWD_METHOD, DEST_WEIGHT, DEST_U_THRESH, DEST_L_THRESH, DEST_TUN_TYPE, DEST_TUN_FLAGS,
                 DEST_ACTIVE_CONNS, DEST_INACT_CONNS, DEST_PERSIST_CONNS)


def _realserver_from_attrs(values, service_family, stats=True):
    """Return the RealServer that the attributes nested in IPVS_CMD_ATTR_DEST describe."""
    get = values.get
    family = FAMILY_NAMES[_int(values, DEST_ADDR_FAMILY, FAMILIES[service_family])]
    # The unsigned integers in host order; an absent one reads as b'', which is 0.
    (forwarding, weight, upper, lower, tunnel_type, tunnel_flags, active, inactive,
     persistent) = [int.from_bytes(get(kind, b''), sys.byteorder) for kind in _DEST_NUMBERS]
    return RealServer(
        _unpack_address(family, values[DEST_ADDR]), int.from_bytes(values[DEST_PORT][:2], 'big'),
        FORWARDING_NAMES.get(forwarding & FORWARD_MASK, 'dr'), weight, upper, lower,
        TUNNEL_TYPE_NAMES.get(tunnel_type, 'ipip'), int.from_bytes(get(DEST_TUN_PORT, b'')[:2], 'big'),
        TUNNEL_CHECKSUM_NAMES.get(tunnel_flags, 'nocsum'), active, inactive, persistent,
        _stats(get(DEST_STATS64)) if stats else {},
    )


def _genl_attrs(data, start, end):
    """The top-level attributes of one generic-netlink message in data[start:end] (its genl header skipped)."""
    return parse_attrs(data[start + GENL_HEADER:end])


def _genl_body(command, attrs):
    """A generic-netlink header (command, version 1) followed by attrs."""
    return struct.pack('=BBH', command, IPVS_GENL_VERSION, 0) + attrs


class NetlinkBackend:
    """Reads and writes the IPVS table over one generic-netlink socket.

    A plan's writes are pipelined: a window of requests goes out in one send and their
    acknowledgements come back together.
    """

    name = 'netlink'
    unwritable_tunnel_types = ()

    def __init__(self):
        try:
            self._socket = NetlinkSocket.open(NETLINK_GENERIC)
        except OSError as error:
            raise IPVSError('opening a generic-netlink socket failed: %s' % (error.strerror or error))
        try:
            self._family = self._ipvs_family_id()
        except IPVSError:
            self._socket.close()
            raise

    def close(self):
        self._socket.close()

    def _ipvs_family_id(self):
        """Return the generic-netlink id of the IPVS family, or raise IPVSUnavailable when the kernel lacks it."""
        step = 'looking up the IPVS netlink family'
        try:
            replies = self._socket.request(GENL_ID_CTRL, _genl_body(CTRL_CMD_GETFAMILY, string_attr(
                CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME)), _genl_attrs)
        except OSError as error:
            if error.errno == errno.ENOENT:
                raise IPVSUnavailable()
            raise IPVSError('%s failed: %s' % (step, kernel_reason(error.errno) if error.errno else error))
        family = _int(replies[0], CTRL_ATTR_FAMILY_ID) if replies else 0
        if not family:
            raise IPVSError('%s failed: the kernel answered without a family id' % step)
        return family

    def _exchange(self, requests, dump=False):
        """Send requests, a list of (command, attribute bytes); return (replies, errors) as NetlinkSocket.exchange."""
        return self._socket.exchange([(self._family, _genl_body(IPVS_CMD[command], attrs)) for command, attrs in requests],
                                     _genl_attrs, NLM_F_DUMP if dump else NLM_F_ACK)

    def _query(self, command, attrs, step, dump=True):
        """Return the replies to one read request; raise IPVSError naming step if it fails."""
        try:
            replies, errors = self._exchange([(command, attrs)], dump)
        except OSError as error:
            raise IPVSError('%s failed: %s' % (step, error.strerror or error))
        if errors:
            if errors[0] in PRIVILEGE_ERRNOS:
                raise IPVSPermissionError(step)
            if errors[0] in RACES:
                raise TableChanged('%s failed: %s' % (step, kernel_reason(errors[0])))
            raise IPVSError('%s failed: %s' % (step, kernel_reason(errors[0])))
        return replies[0]

    def read_table(self, stats=True):
        """Return the live table as a dict ServiceKey -> VirtualService, with counters, and stats unless told not."""
        return read_consistently(self._read_table_once, stats)

    def _read_table_once(self, stats):
        """read_table in one pass: the services, then each one's real servers.

        Each service's real servers are decoded as soon as its dump is in, so that the raw replies
        of only one service are held at a time.
        """
        table = {}
        services = self._query('get-service', b'', 'reading the IPVS services')
        for reply in services:
            service = _service_from_attrs(parse_attrs(reply[CMD_SERVICE]), stats)
            table[service.key] = service
        for key, service in table.items():
            dests = self._query('get-realserver', _key_attrs(key), 'reading the real servers of %s' % service_name(key))
            realservers = service.realservers
            for reply in dests:
                realserver = _realserver_from_attrs(parse_attrs(reply[CMD_DEST]), key.family, stats)
                realservers[realserver.key] = realserver
        return table

    def apply(self, changes):
        """Send every change, in order, over the one socket; stop after the first window the kernel refuses a change of.

        Raises ApplyError naming the first refused change and listing the changes the kernel made.
        """
        requests = []
        keys = {}
        for change in changes:
            if change.realserver is None:
                full = change.action != DELETE_SERVICE
                attrs = _service_attrs(change.service) if full else _key_attrs(change.service.key)
            else:
                full = change.action != DELETE_REALSERVER
                key = keys.get(change.service.key)
                if key is None:
                    key = keys[change.service.key] = _key_attrs(change.service.key)
                attrs = key + _realserver_attrs(change.realserver, full)
            requests.append((change.action, attrs))
        try:
            replies, errors = self._exchange(requests)
        except OSError as error:
            # Which changes of the window the kernel made is unknown: read the table to see.
            made, refused = split_by_effect(changes, self.read_table(stats=False))
            if refused is not None:
                raise ApplyError(refused, error.strerror or str(error), made)
        if errors:
            first = min(errors)
            raise ApplyError(changes[first], refusal(changes[first], errors[first]),
                             [change for index, change in enumerate(changes[:len(replies)]) if index not in errors])

    def read_timeouts(self):
        (reply,) = self._query('get-config', b'', 'reading the IPVS timeouts', dump=False)
        return {'tcp': _int(reply, CMD_TIMEOUT_TCP), 'tcp_fin': _int(reply, CMD_TIMEOUT_TCP_FIN),
                'udp': _int(reply, CMD_TIMEOUT_UDP)}

    def read_daemons(self):
        daemons = []
        for reply in self._query('get-daemon', b'', 'reading the IPVS sync daemons'):
            values = parse_attrs(reply[CMD_DAEMON])
            daemons.append({'state': DAEMON_STATES.get(_int(values, DAEMON_STATE), 'unknown'),
                            'interface': values.get(DAEMON_MCAST_IFN, b'').rstrip(b'\0').decode(),
                            'sync_id': _int(values, DAEMON_SYNC_ID)})
        return daemons
