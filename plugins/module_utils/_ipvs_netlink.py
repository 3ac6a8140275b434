# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink backend: the kernel's IPVS generic-netlink family, spoken through pyroute2's socket.

Private to the lvs.cluster collection; not a public API.
pyroute2's own IPVS classes (0.8.1 to 0.9.7) map "update" to the kernel's DELETE, encode the GUE
port in host byte order, send IPv6 services without the netmask the kernel requires and have no
timeouts, daemons, zero or flush. So this module declares the messages itself, as the kernel's
include/uapi/linux/ip_vs.h does, and uses pyroute2 only for the generic-netlink socket, which has
been stable since pyroute2 0.6 (Debian 12's python3-pyroute2 0.7.2 is enough).
"""

from __future__ import annotations

import errno
import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    FLAG_ONE_PACKET, FLAG_PERSISTENT, FORWARDING_CODES, PROTOCOL_NUMBERS,
    TUNNEL_CHECKSUM_CODES, TUNNEL_TYPE_CODES, RealServer, ServiceKey, VirtualService, host_bits,
    scheduler_flag_names,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_REALSERVER, ADD_SERVICE, DELETE_REALSERVER, DELETE_SERVICE, EDIT_REALSERVER, EDIT_SERVICE,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSError, IPVSUnavailable

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket
except ImportError:
    HAS_PYROUTE2 = False
    genlmsg = nla = object
else:
    HAS_PYROUTE2 = True

IPVS_CMD = {
    ADD_SERVICE: 1, EDIT_SERVICE: 2, DELETE_SERVICE: 3, 'get-service': 4,
    ADD_REALSERVER: 5, EDIT_REALSERVER: 6, DELETE_REALSERVER: 7, 'get-realserver': 8,
    'get-daemon': 11, 'get-config': 13,
}
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
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_HEADER = 16
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 4 * 1024 * 1024
WRITE_WINDOW = 256


class _Stats64(nla):
    nla_map = (('IPVS_STATS_ATTR_UNSPEC', 'none'),) + tuple(
        ('IPVS_STATS_ATTR_%d' % index, 'uint64') for index in range(1, 11))


class IpvsMessage(genlmsg):
    """An IPVS generic-netlink message with attributes typed as the kernel's policy wants them."""

    nla_map = (
        ('IPVS_CMD_ATTR_UNSPEC', 'none'),
        ('IPVS_CMD_ATTR_SERVICE', 'service'),
        ('IPVS_CMD_ATTR_DEST', 'dest'),
        ('IPVS_CMD_ATTR_DAEMON', 'daemon'),
        ('IPVS_CMD_ATTR_TIMEOUT_TCP', 'uint32'),
        ('IPVS_CMD_ATTR_TIMEOUT_TCP_FIN', 'uint32'),
        ('IPVS_CMD_ATTR_TIMEOUT_UDP', 'uint32'),
    )

    class service(nla):
        nla_map = (
            ('IPVS_SVC_ATTR_UNSPEC', 'none'),
            ('IPVS_SVC_ATTR_AF', 'uint16'),
            ('IPVS_SVC_ATTR_PROTOCOL', 'uint16'),
            ('IPVS_SVC_ATTR_ADDR', 'cdata'),
            ('IPVS_SVC_ATTR_PORT', 'be16'),
            ('IPVS_SVC_ATTR_FWMARK', 'uint32'),
            ('IPVS_SVC_ATTR_SCHED_NAME', 'asciiz'),
            ('IPVS_SVC_ATTR_FLAGS', 'flags'),
            ('IPVS_SVC_ATTR_TIMEOUT', 'uint32'),
            ('IPVS_SVC_ATTR_NETMASK', 'cdata'),
            ('IPVS_SVC_ATTR_STATS', 'hex'),
            ('IPVS_SVC_ATTR_PE_NAME', 'asciiz'),
            ('IPVS_SVC_ATTR_STATS64', 'stats64'),
        )

        class flags(nla):
            fields = (('flags', 'I'), ('mask', 'I'))

        stats64 = _Stats64

    class dest(nla):
        nla_map = (
            ('IPVS_DEST_ATTR_UNSPEC', 'none'),
            ('IPVS_DEST_ATTR_ADDR', 'cdata'),
            ('IPVS_DEST_ATTR_PORT', 'be16'),
            ('IPVS_DEST_ATTR_FWD_METHOD', 'uint32'),
            ('IPVS_DEST_ATTR_WEIGHT', 'uint32'),
            ('IPVS_DEST_ATTR_U_THRESH', 'uint32'),
            ('IPVS_DEST_ATTR_L_THRESH', 'uint32'),
            ('IPVS_DEST_ATTR_ACTIVE_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_INACT_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_PERSIST_CONNS', 'uint32'),
            ('IPVS_DEST_ATTR_STATS', 'hex'),
            ('IPVS_DEST_ATTR_ADDR_FAMILY', 'uint16'),
            ('IPVS_DEST_ATTR_STATS64', 'stats64'),
            ('IPVS_DEST_ATTR_TUN_TYPE', 'uint8'),
            ('IPVS_DEST_ATTR_TUN_PORT', 'be16'),
            ('IPVS_DEST_ATTR_TUN_FLAGS', 'uint16'),
        )

        stats64 = _Stats64

    class daemon(nla):
        nla_map = (
            ('IPVS_DAEMON_ATTR_UNSPEC', 'none'),
            ('IPVS_DAEMON_ATTR_STATE', 'uint32'),
            ('IPVS_DAEMON_ATTR_MCAST_IFN', 'asciiz'),
            ('IPVS_DAEMON_ATTR_SYNC_ID', 'uint32'),
        )


def _pack_address(family, address):
    return socket.inet_pton(FAMILIES[family], address)


def _unpack_address(family, data):
    size = 4 if family == 'ipv4' else 16
    return socket.inet_ntop(FAMILIES[family], bytes(data[:size]))


def _pack_netmask(family, prefix):
    """IPv4 wants the mask in network order, IPv6 the prefix length in host order (both a u32)."""
    if family == 'ipv4':
        return struct.pack('>I', (0xffffffff << (32 - prefix)) & 0xffffffff)
    return struct.pack('=I', prefix)


def _unpack_netmask(family, data):
    if family == 'ipv4':
        return bin(struct.unpack('>I', bytes(data[:4]))[0]).count('1')
    return struct.unpack('=I', bytes(data[:4]))[0]


def _stats(attr):
    if attr is None:
        return {}
    values = dict(attr['attrs'])
    return {name: values.get('IPVS_STATS_ATTR_%d' % index, 0) for index, name in enumerate(STATS_FIELDS, 1)}


def _key_attrs(key):
    attrs = [('IPVS_SVC_ATTR_AF', FAMILIES[key.family])]
    if key.fwmark:
        return attrs + [('IPVS_SVC_ATTR_FWMARK', key.fwmark)]
    return attrs + [
        ('IPVS_SVC_ATTR_PROTOCOL', PROTOCOL_NUMBERS[key.protocol]),
        ('IPVS_SVC_ATTR_ADDR', _pack_address(key.family, key.address)),
        ('IPVS_SVC_ATTR_PORT', key.port),
    ]


def _service_attrs(service):
    return _key_attrs(service.key) + [
        ('IPVS_SVC_ATTR_SCHED_NAME', service.scheduler),
        ('IPVS_SVC_ATTR_FLAGS', {'flags': service.flag_bits(), 'mask': 0xffffffff}),
        ('IPVS_SVC_ATTR_TIMEOUT', service.persistence_timeout),
        ('IPVS_SVC_ATTR_NETMASK', _pack_netmask(service.key.family, service.persistence_prefix)),
    ]


def _realserver_attrs(realserver, full):
    attrs = [
        ('IPVS_DEST_ATTR_ADDR', _pack_address(realserver.family, realserver.address)),
        ('IPVS_DEST_ATTR_PORT', realserver.port),
        ('IPVS_DEST_ATTR_ADDR_FAMILY', FAMILIES[realserver.family]),
    ]
    if full:
        attrs += [
            ('IPVS_DEST_ATTR_FWD_METHOD', FORWARDING_CODES[realserver.forwarding]),
            ('IPVS_DEST_ATTR_WEIGHT', realserver.weight),
            ('IPVS_DEST_ATTR_U_THRESH', realserver.upper_threshold),
            ('IPVS_DEST_ATTR_L_THRESH', realserver.lower_threshold),
            ('IPVS_DEST_ATTR_TUN_TYPE', TUNNEL_TYPE_CODES[realserver.tunnel_type]),
            ('IPVS_DEST_ATTR_TUN_PORT', realserver.tunnel_port),
            ('IPVS_DEST_ATTR_TUN_FLAGS', TUNNEL_CHECKSUM_CODES[realserver.tunnel_checksum]),
        ]
    return attrs


def _service_from_attrs(attrs):
    values = dict(attrs['attrs'])
    family = FAMILY_NAMES[values['IPVS_SVC_ATTR_AF']]
    fwmark = values.get('IPVS_SVC_ATTR_FWMARK', 0)
    if fwmark:
        key = ServiceKey(family=family, protocol='tcp', fwmark=fwmark)
    else:
        key = ServiceKey(family=family, protocol=PROTOCOL_NAMES[values['IPVS_SVC_ATTR_PROTOCOL']],
                         address=_unpack_address(family, values['IPVS_SVC_ATTR_ADDR']),
                         port=values['IPVS_SVC_ATTR_PORT'])
    bits = values['IPVS_SVC_ATTR_FLAGS']['flags']
    scheduler = values['IPVS_SVC_ATTR_SCHED_NAME']
    netmask = values.get('IPVS_SVC_ATTR_NETMASK')
    return VirtualService(
        key=key, scheduler=scheduler, scheduler_flags=scheduler_flag_names(scheduler, bits),
        persistence_timeout=values.get('IPVS_SVC_ATTR_TIMEOUT', 0) if bits & FLAG_PERSISTENT else 0,
        persistence_prefix=_unpack_netmask(family, netmask) if netmask else host_bits(family),
        one_packet=bool(bits & FLAG_ONE_PACKET),
        stats=_stats(attrs.get_attr('IPVS_SVC_ATTR_STATS64')),
    )


def _realserver_from_attrs(attrs, service_family):
    values = dict(attrs['attrs'])
    family = FAMILY_NAMES[values.get('IPVS_DEST_ATTR_ADDR_FAMILY', FAMILIES[service_family])]
    return RealServer(
        address=_unpack_address(family, values['IPVS_DEST_ATTR_ADDR']),
        port=values['IPVS_DEST_ATTR_PORT'],
        forwarding=FORWARDING_NAMES.get(values['IPVS_DEST_ATTR_FWD_METHOD'] & FORWARD_MASK, 'dr'),
        weight=values['IPVS_DEST_ATTR_WEIGHT'],
        upper_threshold=values.get('IPVS_DEST_ATTR_U_THRESH', 0),
        lower_threshold=values.get('IPVS_DEST_ATTR_L_THRESH', 0),
        tunnel_type=TUNNEL_TYPE_NAMES.get(values.get('IPVS_DEST_ATTR_TUN_TYPE', 0), 'ipip'),
        tunnel_port=values.get('IPVS_DEST_ATTR_TUN_PORT', 0),
        tunnel_checksum=TUNNEL_CHECKSUM_NAMES.get(values.get('IPVS_DEST_ATTR_TUN_FLAGS', 0), 'nocsum'),
        active_connections=values.get('IPVS_DEST_ATTR_ACTIVE_CONNS', 0),
        inactive_connections=values.get('IPVS_DEST_ATTR_INACT_CONNS', 0),
        persistent_connections=values.get('IPVS_DEST_ATTR_PERSIST_CONNS', 0),
        stats=_stats(attrs.get_attr('IPVS_DEST_ATTR_STATS64')),
    )


class NetlinkBackend:
    """Reads and writes the IPVS table over one generic-netlink socket.

    pyroute2 resolves the family and encodes and decodes the messages; the socket itself is a
    plain netlink socket, so that a plan's writes are pipelined: a window of requests goes out in
    one send and their acknowledgements come back together.
    """

    name = 'netlink'

    def __init__(self):
        self._family = _ipvs_family_id()
        self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self._socket.bind((0, 0))
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self._sequence = 0

    def close(self):
        self._socket.close()

    def _encode(self, command, attrs, flags):
        self._sequence += 1
        message = IpvsMessage()
        message['cmd'] = IPVS_CMD[command]
        message['version'] = 1
        message['attrs'] = list(attrs)
        message['header']['type'] = self._family
        message['header']['flags'] = flags
        message['header']['sequence_number'] = self._sequence
        message['header']['pid'] = 0
        message.encode()
        return self._sequence, bytes(message.data)

    def _exchange(self, requests, dump=False):
        """Send requests, a list of (command, attrs, what), a window at a time; return their replies.

        Dumps go one at a time (a netlink socket runs one dump at a time). Raises IPVSError for the
        first request, in order, that the kernel refused.
        """
        window = 1 if dump else WRITE_WINDOW
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        replies = []
        for start in range(0, len(requests), window):
            batch = requests[start:start + window]
            sequences, payload = zip(*(self._encode(command, attrs, flags) for command, attrs, _what in batch))
            self._socket.send(b''.join(payload))
            answers, errors = self._receive(dict((sequence, index) for index, sequence in enumerate(sequences)))
            if errors:
                first = min(errors)
                raise IPVSError('%s failed: %s' % (batch[first][2], _describe(errors[first])))
            replies.extend(answers)
        return replies

    def _receive(self, pending):
        """Read until every sequence in pending (sequence -> index) is answered; return (replies, errors)."""
        answers = [[] for _ in range(len(pending))]
        errors = {}
        while pending:
            data = self._socket.recv(RECEIVE_BUFFER)
            offset = 0
            while offset < len(data):
                length, kind, _flags, sequence, _pid = struct.unpack_from('=IHHII', data, offset)
                index = pending.get(sequence)
                if index is not None:
                    if kind in (NLMSG_ERROR, NLMSG_DONE):
                        code = -struct.unpack_from('=i', data, offset + NLMSG_HEADER)[0]
                        if code:
                            errors[index] = code
                        del pending[sequence]
                    else:
                        message = IpvsMessage(data[offset:offset + length])
                        message.decode()
                        answers[index].append(message)
                offset += (length + 3) & ~3
        return answers, errors

    def read_table(self):
        """Return the live table as a dict ServiceKey -> VirtualService, with counters and stats."""
        table = {}
        (services,) = self._exchange([('get-service', (), 'reading the IPVS services')], dump=True)
        for reply in services:
            service = _service_from_attrs(reply.get_attr('IPVS_CMD_ATTR_SERVICE'))
            table[service.key] = service
        requests = [('get-realserver', [('IPVS_CMD_ATTR_SERVICE', {'attrs': _key_attrs(key)})],
                     'reading the real servers of %s' % key) for key in table]
        for key, dests in zip(list(table), self._exchange(requests, dump=True)):
            for reply in dests:
                realserver = _realserver_from_attrs(reply.get_attr('IPVS_CMD_ATTR_DEST'), key.family)
                table[key].realservers[realserver.key] = realserver
        return table

    def apply(self, changes):
        """Send every change, in order, over the one socket; stop at the first window the kernel refuses."""
        requests = []
        for change in changes:
            if change.realserver is None:
                full = change.action != DELETE_SERVICE
                attrs = [('IPVS_CMD_ATTR_SERVICE',
                          {'attrs': _service_attrs(change.service) if full else _key_attrs(change.service.key)})]
            else:
                attrs = [('IPVS_CMD_ATTR_SERVICE', {'attrs': _key_attrs(change.service.key)}),
                         ('IPVS_CMD_ATTR_DEST',
                          {'attrs': _realserver_attrs(change.realserver, change.action != DELETE_REALSERVER)})]
            requests.append((change.action, attrs, 'ipvsadm ' + change.rule()))
        self._exchange(requests)

    def read_timeouts(self):
        ((reply,),) = self._exchange([('get-config', (), 'reading the IPVS timeouts')])
        return {
            'tcp': reply.get_attr('IPVS_CMD_ATTR_TIMEOUT_TCP'),
            'tcp_fin': reply.get_attr('IPVS_CMD_ATTR_TIMEOUT_TCP_FIN'),
            'udp': reply.get_attr('IPVS_CMD_ATTR_TIMEOUT_UDP'),
        }

    def read_daemons(self):
        daemons = []
        (replies,) = self._exchange([('get-daemon', (), 'reading the IPVS sync daemons')], dump=True)
        for reply in replies:
            values = dict(reply.get_attr('IPVS_CMD_ATTR_DAEMON')['attrs'])
            daemons.append({'state': DAEMON_STATES.get(values.get('IPVS_DAEMON_ATTR_STATE'), 'unknown'),
                            'interface': values.get('IPVS_DAEMON_ATTR_MCAST_IFN'),
                            'sync_id': values.get('IPVS_DAEMON_ATTR_SYNC_ID')})
        return daemons


def _ipvs_family_id():
    """Return the generic-netlink id of the IPVS family, or raise IPVSUnavailable when the kernel lacks it."""
    resolver = GenericNetlinkSocket()
    try:
        resolver.bind('IPVS', IpvsMessage)
        return resolver.prid
    except NetlinkError as error:
        if error.code == errno.ENOENT:
            raise IPVSUnavailable()
        raise IPVSError('cannot open the IPVS netlink family: %s' % error)
    finally:
        resolver.close()


def _describe(code):
    reasons = {
        errno.EEXIST: 'it exists already',
        errno.ESRCH: 'no such service',
        errno.ENOENT: 'no such entry, or the scheduler module is missing from the kernel',
        errno.EINVAL: 'the kernel rejected a value',
        errno.EPERM: 'permission denied (CAP_NET_ADMIN is needed)',
    }
    return '%s (errno %d, %s)' % (reasons.get(code, 'refused'), code, errno.errorcode.get(code, '?'))
