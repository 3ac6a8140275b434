"""The netlink messages are encoded the way the kernel (and ipvsadm's libipvs) encode them."""

from __future__ import annotations

import errno
import os
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as netlink
from ansible_collections.lvs.cluster.plugins.module_utils import _netlink
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import (
    ApplyError, IPVSError, IPVSPermissionError, IPVSUnavailable,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, VirtualService,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_service

IPVS_SVC_ATTR_NETMASK = 9
IPVS_DEST_ATTR_TUN_PORT = 14


def nla(kind, payload):
    return struct.pack('=HH', 4 + len(payload), kind) + payload


def test_ipv6_service_carries_the_netmask_as_a_prefix_length():
    service = VirtualService(key=ServiceKey('ipv6', 'tcp', '2001:db8::10', 443), scheduler='rr',
                             persistence_timeout=60, persistence_prefix=64)
    assert nla(IPVS_SVC_ATTR_NETMASK, struct.pack('=I', 64)) in netlink._service_attrs(service)


def test_ipv4_netmask_is_a_mask_in_network_order():
    service = VirtualService(key=ServiceKey('ipv4', 'tcp', '192.0.2.10', 80), persistence_timeout=60,
                             persistence_prefix=24)
    assert nla(IPVS_SVC_ATTR_NETMASK, bytes([255, 255, 255, 0])) in netlink._service_attrs(service)


def test_gue_port_is_in_network_order():
    realserver = RealServer('198.51.100.11', 80, forwarding='tun', tunnel_type='gue', tunnel_port=6080)
    assert nla(IPVS_DEST_ATTR_TUN_PORT, struct.pack('>H', 6080)) in netlink._realserver_attrs(realserver, True)


def test_edits_use_the_kernels_set_commands_not_delete():
    assert netlink.IPVS_CMD['edit-service'] == 2 and netlink.IPVS_CMD['edit-realserver'] == 6
    assert netlink.IPVS_CMD['delete-service'] == 3 and netlink.IPVS_CMD['delete-realserver'] == 7


@pytest.mark.parametrize('family, prefix', [('ipv4', 32), ('ipv4', 16), ('ipv6', 128), ('ipv6', 48)])
def test_netmask_round_trip(family, prefix):
    assert netlink._unpack_netmask(family, netlink._pack_netmask(family, prefix)) == prefix


def test_service_attributes_decode_back():
    service = VirtualService(key=ServiceKey('ipv4', 'udp', '192.0.2.10', 53), scheduler='mh',
                             scheduler_flags=('mh-fallback', 'mh-port'), one_packet=True)
    nested = netlink.parse_attrs(netlink._service_attrs(service))[netlink.CMD_SERVICE]
    back = netlink._service_from_attrs(netlink.parse_attrs(nested))
    assert back.key == service.key and back.settings() == service.settings()


@pytest.mark.parametrize('realserver', [
    RealServer('198.51.100.11', 80, forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='remcsum'),
    RealServer('2001:db8::11', 8080, forwarding='nat', weight=65535, upper_threshold=9, lower_threshold=3),
])
def test_realserver_attributes_decode_back(realserver):
    nested = netlink.parse_attrs(netlink._realserver_attrs(realserver, True))[netlink.CMD_DEST]
    back = netlink._realserver_from_attrs(netlink.parse_attrs(nested), realserver.family)
    assert back.key == realserver.key and back.settings() == realserver.settings()


@pytest.mark.skipif(os.path.exists('/proc/net/ip_vs'), reason='this kernel has IPVS; the integration tests cover that side')
def test_a_kernel_without_ipvs_gets_a_sentence_not_a_traceback():
    with pytest.raises(IPVSUnavailable) as error:
        netlink.NetlinkBackend()
    assert 'modprobe ip_vs' in str(error.value) and 'the container host must load ip_vs' in str(error.value)
    assert 'lab' not in str(error.value)  # speaks of the user's host, not of this project's test lab


def reference_realserver_attrs(realserver, full):
    """The real server attributes composed one by one, as include/uapi/linux/ip_vs.h declares them."""
    family = netlink.FAMILIES[realserver.family]
    size = 4 if realserver.family == 'ipv4' else 16
    address = netlink.socket.inet_pton(family, realserver.address)[:size]
    attrs = (nla(1, address) + nla(2, struct.pack('>H', realserver.port)) + b'\0\0'
             + nla(11, struct.pack('=H', family)) + b'\0\0')
    if full:
        attrs += (nla(3, struct.pack('=I', netlink.FORWARDING_CODES[realserver.forwarding]))
                  + nla(4, struct.pack('=I', realserver.weight)) + nla(5, struct.pack('=I', realserver.upper_threshold))
                  + nla(6, struct.pack('=I', realserver.lower_threshold))
                  + nla(13, struct.pack('=B', netlink.TUNNEL_TYPE_CODES[realserver.tunnel_type])) + b'\0\0\0'
                  + nla(14, struct.pack('>H', realserver.tunnel_port)) + b'\0\0'
                  + nla(15, struct.pack('=H', netlink.TUNNEL_CHECKSUM_CODES[realserver.tunnel_checksum])) + b'\0\0')
    return nla(netlink.CMD_DEST, attrs)


@pytest.mark.parametrize('full', [True, False])
@pytest.mark.parametrize('realserver', [
    RealServer('198.51.100.11', 80, weight=7, upper_threshold=100, lower_threshold=10),
    RealServer('198.51.100.11', 443, forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='remcsum'),
    RealServer('2001:db8::11', 65535, forwarding='nat', weight=65535, upper_threshold=2 ** 31 - 1),
])
def test_realserver_attributes_are_the_attributes_one_by_one(realserver, full):
    assert netlink._realserver_attrs(realserver, full) == reference_realserver_attrs(realserver, full)


def walk(data):
    """parse_attrs without its learnt layouts."""
    attrs = {}
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, offset)
        if length < 4:
            break
        attrs[kind & 0x3fff] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return attrs


@pytest.mark.parametrize('runs', [
    # Same size, other types, other lengths, nested flags, a truncated and a zero-length attribute.
    [nla(1, b'abcd') + nla(2, b'\x01\x02') + b'\0\0', nla(3, b'abcd') + nla(2, b'\x01\x02') + b'\0\0',
     nla(1, b'ab') + b'\0\0' + nla(2, b'\x01\x02\x03\x04'), nla(1 | 0x8000, b'abcd') + nla(2, b'\x01\x02') + b'\0\0',
     nla(1, b'abcd') + struct.pack('=HH', 0, 2) + b'\0' * 4, nla(1, b'abcd') + struct.pack('=HH', 40, 2) + b'\0' * 4],
    [b'', b'\0\0', nla(5, b'') + nla(6, b'x') + b'\0\0\0', nla(5, b'') + nla(6, b'y') + b'\0\0\0'],
])
def test_learnt_layouts_parse_as_attribute_by_attribute(runs):
    _netlink._LAYOUTS.clear()
    for _round in range(2):
        for data in runs:
            assert netlink.parse_attrs(data) == walk(data)


def test_a_realserver_dump_decodes_the_same_with_learnt_layouts():
    stats64 = b''.join(nla(index, struct.pack('=Q', index * 1000)) for index in range(1, 11))
    payload = (netlink._realserver_attrs(RealServer('198.51.100.11', 80, weight=3), True)[4:]
               + nla(7, struct.pack('=I', 5)) + nla(8, struct.pack('=I', 6)) + nla(9, struct.pack('=I', 7))
               + nla(12, stats64))
    _netlink._LAYOUTS.clear()
    first = netlink._realserver_from_attrs(netlink.parse_attrs(payload), 'ipv4')
    second = netlink._realserver_from_attrs(netlink.parse_attrs(payload), 'ipv4')
    assert first == second and len(_netlink._LAYOUTS) == 1
    assert (first.address, first.port, first.weight, first.counters()) == (
        '198.51.100.11', 80, 3, dict(active_connections=5, inactive_connections=6, persistent_connections=7))
    assert first.stats == dict(zip(netlink.STATS_FIELDS, range(1000, 11000, 1000)))


def test_stats_with_padding_attributes_are_read_one_by_one():
    padded = (b''.join(nla(index, struct.pack('=Q', index)) for index in range(1, 10))
              + nla(11, b'') + nla(10, struct.pack('=Q', 10)))
    assert netlink._stats(padded) == dict(zip(netlink.STATS_FIELDS, range(1, 11)))


class RefusingSocket:
    """Acknowledges every request but those in refuse (request index -> errno), which it refuses, as the kernel does.

    With fail set, send raises that OSError instead.
    """

    def __init__(self, refuse=None, fail=None):
        self.refuse = refuse or {}
        self.fail = fail
        self.replies = []
        self.sent = 0

    def send(self, data):
        if self.fail:
            raise self.fail
        offset = 0
        while offset < len(data):
            length, _kind, _flags, sequence, _pid = struct.unpack_from('=IHHII', data, offset)
            code = -self.refuse.get(self.sent, 0)
            self.replies.append(struct.pack('=IHHII', 36, _netlink.NLMSG_ERROR, 0, sequence, 0)
                                + struct.pack('=i', code) + data[offset:offset + 16])
            offset += length
            self.sent += 1

    def recv(self, _size):
        replies, self.replies = b''.join(self.replies), []
        return replies


def backend_on(sock):
    backend = netlink.NetlinkBackend.__new__(netlink.NetlinkBackend)
    backend._family, backend._socket = 0x20, _netlink.NetlinkSocket(sock)
    return backend


def web_service():
    service = VirtualService(key=ServiceKey('ipv4', 'tcp', '192.0.2.10', 80), scheduler='wrr')
    for last_octet in (11, 12):
        service.realservers[('198.51.100.%d' % last_octet, 80)] = RealServer('198.51.100.%d' % last_octet, 80)
    return service


def test_a_refused_change_is_named_and_the_changes_the_kernel_made_are_listed():
    changes = plan_service(None, web_service())
    with pytest.raises(ApplyError) as error:
        backend_on(RefusingSocket(refuse={1: errno.ERANGE})).apply(changes)
    assert str(error.value) == (
        'adding real server 198.51.100.11:80 to tcp 192.0.2.10:80 (-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1) '
        'failed: the kernel rejected a value as out of range; check weight, upper_threshold and lower_threshold '
        '(lower at most upper) (errno 34, ERANGE)')
    # The kernel goes on with the rest of a window after a refusal: the last change was made too.
    assert error.value.change == changes[1] and error.value.applied == [changes[0], changes[2]]


def test_no_window_is_sent_after_a_refusal():
    service = VirtualService(key=ServiceKey('ipv4', 'tcp', '192.0.2.10', 80))
    for index in range(_netlink.WRITE_WINDOW + 10):
        address = '10.0.%d.%d' % divmod(index, 256)
        service.realservers[(address, 80)] = RealServer(address, 80)
    changes = plan_service(None, service)
    sock = RefusingSocket(refuse={3: errno.EINVAL})
    with pytest.raises(ApplyError) as error:
        backend_on(sock).apply(changes)
    assert sock.sent == _netlink.WRITE_WINDOW and len(error.value.applied) == _netlink.WRITE_WINDOW - 1
    assert 'check address' in str(error.value)


def test_reading_without_privilege_says_what_is_needed():
    with pytest.raises(IPVSPermissionError) as error:
        backend_on(RefusingSocket(refuse={0: errno.EPERM})).read_timeouts()
    assert str(error.value) == ('reading the IPVS timeouts was refused: IPVS needs root or CAP_NET_ADMIN on the '
                                'target: run the task with become: true.')


def test_a_socket_error_is_a_failure_naming_the_step():
    with pytest.raises(IPVSError) as error:
        backend_on(RefusingSocket(fail=OSError(errno.ENOBUFS, 'No buffer space available'))).read_daemons()
    assert str(error.value) == 'reading the IPVS sync daemons failed: No buffer space available'


def test_a_socket_error_while_writing_reads_the_table_to_see_what_was_made(monkeypatch):
    service = web_service()
    changes = plan_service(None, service)
    backend = backend_on(RefusingSocket(fail=OSError(errno.ENOBUFS, 'No buffer space available')))
    # The kernel made the service and its first real server before the socket failed.
    made = {service.key: VirtualService(key=service.key, scheduler='wrr',
                                        realservers={('198.51.100.11', 80): RealServer('198.51.100.11', 80)})}
    monkeypatch.setattr(backend, 'read_table', lambda stats=True: made)
    with pytest.raises(ApplyError) as error:
        backend.apply(changes)
    assert error.value.applied == changes[:2] and error.value.change == changes[2]
    assert str(error.value).startswith('adding real server 198.51.100.12:80 to tcp 192.0.2.10:80')


def test_stats_are_left_out_when_not_wanted():
    stats64 = b''.join(nla(index, struct.pack('=Q', index)) for index in range(1, 11))
    payload = netlink._realserver_attrs(RealServer('198.51.100.11', 80), True)[4:] + nla(12, stats64)
    assert netlink._realserver_from_attrs(netlink.parse_attrs(payload), 'ipv4', stats=False).stats == {}
    assert netlink._realserver_from_attrs(netlink.parse_attrs(payload), 'ipv4').stats['out_bytes'] == 5
