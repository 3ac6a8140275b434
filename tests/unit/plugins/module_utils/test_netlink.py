"""The standard-library netlink coder: requests as the kernel's structs lay them out, replies, acks and refusals."""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink, _netlink, _rtnetlink
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSError, IPVSUnavailable

# struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags; __u32 nlmsg_seq; __u32 nlmsg_pid; }
NLMSGHDR = '=IHHII'
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 1, 2, 4, 0x200, 0x400, 0x300


def nla(kind, payload):
    """struct nlattr { __u16 nla_len; __u16 nla_type; } then the payload, padded to NLA_ALIGNTO (4)."""
    return struct.pack('=HH', 4 + len(payload), kind) + payload + b'\0' * (-len(payload) % 4)


def message(kind, flags, sequence, body):
    return struct.pack(NLMSGHDR, 16 + len(body), kind, flags, sequence, 0) + body + b'\0' * (-len(body) % 4)


def ack(sequence, code, request=b'\0' * 16):
    """NLMSG_ERROR: struct nlmsgerr { int error; struct nlmsghdr msg; } (-errno, or 0 for an ack)."""
    return message(2, 0, sequence, struct.pack('=i', -code) + request[:16])


class FakeKernel:
    """A netlink socket whose kernel answers each request with answer(type, flags, body) -> ([(type, body)], errno).

    Records what was sent, and every request as (type, flags, sequence, body); a dump's answers end with NLMSG_DONE, others with an ack.
    """

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.sent = []
        self.pending = b''
        self.closed = False

    def send(self, data):
        self.sent.append(data)
        offset = 0
        while offset < len(data):
            length, kind, flags, sequence, _pid = struct.unpack_from(NLMSGHDR, data, offset)
            body = data[offset + 16:offset + length]
            self.requests.append((kind, flags, sequence, body))
            replies, code = self.answer(kind, flags, body)
            dump = flags & NLM_F_DUMP == NLM_F_DUMP
            for reply_kind, reply_body in replies:
                self.pending += message(reply_kind, NLM_F_MULTI if dump else 0, sequence, reply_body)
            if dump and not code:
                self.pending += message(3, NLM_F_MULTI, sequence, struct.pack('=i', 0))
            else:
                self.pending += ack(sequence, code, data[offset:offset + 16])
            offset += (length + 3) & ~3

    def recv(self, _size):
        data, self.pending = self.pending, b''
        return data

    def close(self):
        self.closed = True


# CTRL_CMD_NEWFAMILY (1) as the kernel's ctrl_fill_info() sends it for IPVS: name, id, version, hdrsize, maxattr.
IPVS_FAMILY_REPLY = (struct.pack('=BBH', 1, 2, 0) + nla(2, b'IPVS\0') + nla(1, struct.pack('=H', 0x1d))
                     + nla(3, struct.pack('=I', 1)) + nla(4, struct.pack('=I', 0)) + nla(5, struct.pack('=I', 3)))


def backend_with(answer):
    """A NetlinkBackend whose family lookup ran against FakeKernel(answer); return (backend, kernel)."""
    kernel = FakeKernel(answer)
    backend = _ipvs_netlink.NetlinkBackend.__new__(_ipvs_netlink.NetlinkBackend)
    backend._socket = _netlink.NetlinkSocket(kernel)
    backend._family = backend._ipvs_family_id()
    return backend, kernel


def test_the_family_lookup_is_ctrl_getfamily_named_ipvs_and_reads_the_id():
    backend, kernel = backend_with(lambda kind, flags, body: ([(0x10, IPVS_FAMILY_REPLY)], 0))
    # nlmsghdr: 32 bytes, GENL_ID_CTRL, NLM_F_REQUEST|NLM_F_ACK, sequence 1; genlmsghdr: CTRL_CMD_GETFAMILY,
    # version 1; CTRL_ATTR_FAMILY_NAME "IPVS\0" (length 9, padded to 12).
    sent = struct.pack(NLMSGHDR, 32, 0x10, 5, 1, 0) + bytes([3, 1, 0, 0]) + struct.pack('=HH', 9, 2) + b'IPVS\0\0\0\0'
    assert kernel.sent == [sent]
    assert backend._family == 0x1d


def test_ipvs_requests_go_to_the_family_the_kernel_named():
    config = struct.pack('=BBH', 13, 1, 0) + nla(4, struct.pack('=I', 900)) + nla(5, struct.pack('=I', 120)) + nla(
        6, struct.pack('=I', 300))
    replies = {0x10: [(0x10, IPVS_FAMILY_REPLY)], 0x1d: [(0x1d, config)]}
    backend, kernel = backend_with(lambda kind, flags, body: (replies[kind], 0))
    assert backend.read_timeouts() == {'tcp': 900, 'tcp_fin': 120, 'udp': 300}
    kind, flags, sequence, body = kernel.requests[1]
    assert (kind, flags, sequence, body) == (0x1d, NLM_F_REQUEST | NLM_F_ACK, 2, bytes([13, 1, 0, 0]))


def test_a_kernel_without_the_ipvs_family_is_unavailable():
    with pytest.raises(IPVSUnavailable) as error:
        backend_with(lambda kind, flags, body: ([], errno.ENOENT))
    assert 'modprobe ip_vs' in str(error.value)


@pytest.mark.parametrize('answer, message_text', [
    (lambda kind, flags, body: ([], errno.EINVAL),
     'looking up the IPVS netlink family failed: the kernel rejected a value (errno 22, EINVAL)'),
    (lambda kind, flags, body: ([(0x10, struct.pack('=BBH', 1, 2, 0) + nla(2, b'IPVS\0'))], 0),
     'looking up the IPVS netlink family failed: the kernel answered without a family id'),
])
def test_a_failed_family_lookup_is_one_sentence(answer, message_text):
    with pytest.raises(IPVSError) as error:
        backend_with(answer)
    assert str(error.value) == message_text


def test_answers_of_other_sequences_are_ignored_and_refusals_keep_their_index():
    kernel = FakeKernel(lambda kind, flags, body: ([], errno.EEXIST if body == b'bbbb' else 0))
    sock = _netlink.NetlinkSocket(kernel)
    kernel.pending = ack(99, errno.EPERM)  # left over from another request
    replies, errors = sock.exchange([(20, b'aaaa'), (20, b'bbbb'), (20, b'cccc')], lambda data, start, end: data[start:end])
    assert replies == [[], [], []] and errors == {1: errno.EEXIST}
    assert [request[2] for request in kernel.requests] == [1, 2, 3]


def test_request_raises_the_kernels_errno():
    sock = _netlink.NetlinkSocket(FakeKernel(lambda kind, flags, body: ([], errno.EPERM)))
    with pytest.raises(OSError) as error:
        sock.request(21, b'', None)
    assert (error.value.errno, error.value.strerror) == (errno.EPERM, 'Operation not permitted')


def test_a_message_shorter_than_its_header_is_an_error_not_a_hang():
    kernel = FakeKernel(lambda kind, flags, body: ([], 0))
    kernel.send = lambda data: setattr(kernel, 'pending', struct.pack(NLMSGHDR, 0, 2, 0, 1, 0))
    with pytest.raises(OSError):
        _netlink.NetlinkSocket(kernel).request(20, b'', None)


def ifinfomsg(index, flags, change=0):
    """struct ifinfomsg { unsigned char family, pad; unsigned short type; int index; unsigned flags, change; }"""
    return struct.pack('=BBHiII', 0, 0, 0, index, flags, change)


def ifaddrmsg(family, prefixlen, flags, scope, index):
    """struct ifaddrmsg { __u8 family, prefixlen, flags, scope; __u32 index; }"""
    return struct.pack('=BBBBI', family, prefixlen, flags, scope, index)


LINKS = {'lo': (1, 0x49), 'tunl0': (3, 0x80)}  # lo up (IFF_UP|IFF_LOOPBACK|IFF_RUNNING), tunl0 down


def rtnl_kernel(kind, flags, body):
    """Links lo and tunl0; addresses 127.0.0.1/8 on lo, 192.0.2.10/32 label tunl0 on tunl0, ::1/128 on lo."""
    if kind == 18:  # RTM_GETLINK, a dump
        return [(16, ifinfomsg(index, up) + nla(3, link.encode() + b'\0') + nla(13, struct.pack('=I', 1)))
                for link, (index, up) in LINKS.items()], 0
    if kind == 22:  # RTM_GETADDR, every interface's (no strict checking)
        return [(20, ifaddrmsg(2, 8, 0x80, 254, 1) + nla(1, bytes([127, 0, 0, 1])) + nla(2, bytes([127, 0, 0, 1]))
                 + nla(3, b'lo\0')),
                (20, ifaddrmsg(2, 32, 0x80, 0, 3) + nla(1, bytes([192, 0, 2, 10])) + nla(2, bytes([192, 0, 2, 10]))
                 + nla(3, b'tunl0\0')),
                (20, ifaddrmsg(10, 128, 0x80, 254, 1) + nla(1, socket.inet_pton(socket.AF_INET6, '::1'))
                 + nla(8, struct.pack('=I', 0x80)))], 0
    return [], 0


def route_socket():
    kernel = FakeKernel(rtnl_kernel)
    return _rtnetlink.RouteSocket(_netlink.NetlinkSocket(kernel)), kernel


def test_links_by_name_and_all():
    routes, kernel = route_socket()
    assert routes.link('tunl0') == _rtnetlink.Link(3, 'tunl0', False)
    assert routes.link('lo') == _rtnetlink.Link(1, 'lo', True)
    assert routes.link('a-name-longer-than-ifnamsiz') is None
    assert [link.name for link in routes.links()] == ['lo', 'tunl0']
    assert kernel.requests[0] == (18, NLM_F_REQUEST | NLM_F_DUMP, 1, ifinfomsg(0, 0))


def test_addresses_of_one_interface():
    routes, kernel = route_socket()
    assert routes.addresses(1) == [
        _rtnetlink.Address(ipaddress.ip_interface('127.0.0.1/8'), 'lo', 254),
        _rtnetlink.Address(ipaddress.ip_interface('::1/128'), None, 254)]
    assert routes.addresses(3) == [_rtnetlink.Address(ipaddress.ip_interface('192.0.2.10/32'), 'tunl0', 0)]
    assert kernel.requests[0] == (22, NLM_F_REQUEST | NLM_F_DUMP, 1, ifaddrmsg(0, 0, 0, 0, 1))


def test_address_requests_are_laid_out_as_ip_address_sends_them():
    routes, kernel = route_socket()
    routes.add_address(2, ipaddress.ip_interface('192.0.2.10/24'), 'eth0:8', 253)
    routes.add_address(2, ipaddress.ip_interface('2001:db8::10/64'), flags=0x02)
    routes.delete_address(2, ipaddress.ip_interface('192.0.2.10/24'))
    routes.set_up(3)
    create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    v6 = socket.inet_pton(socket.AF_INET6, '2001:db8::10')
    assert kernel.requests == [
        (20, create, 1, ifaddrmsg(2, 24, 0, 253, 2) + nla(2, bytes([192, 0, 2, 10])) + nla(1, bytes([192, 0, 2, 10]))
         + nla(3, b'eth0:8\0')),
        (20, create, 2, ifaddrmsg(10, 64, 2, 0, 2) + nla(2, v6) + nla(1, v6)),
        (21, NLM_F_REQUEST | NLM_F_ACK, 3, ifaddrmsg(2, 24, 0, 0, 2) + nla(2, bytes([192, 0, 2, 10]))
         + nla(1, bytes([192, 0, 2, 10]))),
        (19, NLM_F_REQUEST | NLM_F_ACK, 4, ifinfomsg(3, 1, 1)),
    ]


def test_a_refused_address_raises_the_errno():
    routes = _rtnetlink.RouteSocket(_netlink.NetlinkSocket(FakeKernel(lambda kind, flags, body: ([], errno.EEXIST))))
    with pytest.raises(OSError) as error:
        routes.add_address(1, ipaddress.ip_interface('10.0.0.1/32'))
    assert error.value.errno == errno.EEXIST
