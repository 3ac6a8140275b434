# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink with Python's standard library: message and attribute coding, one socket with pipelined requests.

Private to the lvs.cluster collection; not a public API. The IPVS backend (generic netlink) and
vip_alias (rtnetlink) both speak through NetlinkSocket, as include/uapi/linux/netlink.h lays out the
messages: a 16-byte header (length, type, flags, sequence, port id), then the family's own header and
its attributes (length, type, payload padded to 4 bytes).
"""

from __future__ import annotations

import os
import socket
import struct

NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x200, 0x400, 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_HEADER = 16
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 4 * 1024 * 1024
WRITE_WINDOW = 256
NESTED_FLAGS = 0x3fff
_ATTR_HEADER = struct.Struct('=HH')
_NLMSG_HEADER = struct.Struct('=IHHII')
_ERROR_CODE = struct.Struct('=i')
# parse_attrs' learnt layouts: size of a run of attributes -> (Struct, lengths, types, types without flags).
_LAYOUTS = {}
MAX_LAYOUTS = 256


def attr(kind, payload):
    """One netlink attribute: length, type, payload, padding to 4 bytes."""
    length = 4 + len(payload)
    return _ATTR_HEADER.pack(length, kind) + payload + b'\0' * (-length % 4)


def u16_attr(kind, value):
    return attr(kind, struct.pack('=H', value))


def u32_attr(kind, value):
    return attr(kind, struct.pack('=I', value))


def string_attr(kind, text):
    """A NUL-terminated string attribute (NLA_NUL_STRING, NLA_STRING)."""
    return attr(kind, text.encode() + b'\0')


def parse_attrs(data):
    """Return {type: payload bytes} of a run of netlink attributes (nested flags stripped).

    The kernel sends every real server (and every service) with the same attributes in the same
    order, so the layout of the first one of a size is kept as a Struct: a later run of that size
    is unpacked in one call, and used only if its lengths and types are the ones learnt.
    """
    layout = _LAYOUTS.get(len(data))
    if layout is not None:
        fields = layout[0].unpack_from(data)
        if fields[0::3] == layout[1] and fields[1::3] == layout[2]:
            return dict(zip(layout[3], fields[2::3]))
    return _walk_attrs(data)


def _walk_attrs(data):
    """parse_attrs attribute by attribute; learn the layout when the run is well formed."""
    attrs = {}
    offset = 0
    end = len(data) - 4
    unpack = _ATTR_HEADER.unpack_from
    headers = []
    while offset <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            return attrs
        attrs[kind & NESTED_FLAGS] = data[offset + 4:offset + length]
        headers.append((length, kind, ((length + 3) & ~3) - length))
        offset += (length + 3) & ~3
    if headers and offset == len(data) and len(_LAYOUTS) < MAX_LAYOUTS:
        _LAYOUTS[len(data)] = (
            struct.Struct('=' + ''.join('HH%ds%dx' % (length - 4, pad) for length, _kind, pad in headers)),
            tuple(length for length, _kind, _pad in headers), tuple(kind for _length, kind, _pad in headers),
            tuple(kind & NESTED_FLAGS for _length, kind, _pad in headers))
    return attrs


def refused(code):
    """The OSError of a request the kernel refused with errno code."""
    return OSError(code, os.strerror(code))


class NetlinkSocket:
    """One netlink socket: requests numbered in sequence, sent a window at a time, answers matched by number."""

    def __init__(self, sock):
        self._socket = sock
        self._sequence = 0

    @classmethod
    def open(cls, protocol):
        """Return a NetlinkSocket of protocol (NETLINK_ROUTE, NETLINK_GENERIC, ...); raise OSError as socket() does."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        try:
            sock.bind((0, 0))
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            sock.close()
            raise
        return cls(sock)

    def close(self):
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _encode(self, kind, flags, body):
        """Return (sequence, bytes) of one request: netlink header, then body (the family's header and attributes)."""
        self._sequence += 1
        return self._sequence, _NLMSG_HEADER.pack(NLMSG_HEADER + len(body), kind, flags, self._sequence, 0) + body

    def exchange(self, requests, decode, flags=NLM_F_ACK):
        """Send requests, a list of (message type, body), a window at a time; return (replies, errors).

        flags is NLM_F_ACK (and NLM_F_CREATE, ...) for writes, NLM_F_DUMP for dumps. replies has, for each
        request sent, decode(data, start, end) of each of its answers (the message body is data[start:end]);
        errors maps the index of each request the kernel refused to its errno. No window is sent after one
        with a refusal (the kernel goes on with the rest of a window after refusing a request). Dumps go one
        at a time (a netlink socket runs one dump at a time). Raises OSError as the socket does.
        """
        window = 1 if flags & NLM_F_DUMP == NLM_F_DUMP else WRITE_WINDOW
        flags |= NLM_F_REQUEST
        replies = []
        errors = {}
        for start in range(0, len(requests), window):
            batch = requests[start:start + window]
            sequences, payload = zip(*(self._encode(kind, flags, body) for kind, body in batch))
            self._socket.send(b''.join(payload))
            answers, refusals = self._receive(dict((sequence, index) for index, sequence in enumerate(sequences)),
                                              decode)
            replies.extend(answers)
            errors.update((start + index, code) for index, code in refusals.items())
            if errors:
                break
        return replies, errors

    def request(self, kind, body, decode, flags=NLM_F_ACK):
        """Send one request; return decode() of each answer; raise OSError with the errno of a refusal."""
        replies, errors = self.exchange([(kind, body)], decode, flags)
        if errors:
            raise refused(errors[0])
        return replies[0]

    def _receive(self, pending, decode):
        """Read until every sequence in pending (sequence -> index) is answered; return (replies, errors)."""
        answers = [[] for _sequence in pending]
        errors = {}
        unpack_header = _NLMSG_HEADER.unpack_from
        while pending:
            data = self._socket.recv(RECEIVE_BUFFER)
            offset = 0
            while offset < len(data):
                length, kind, _flags, sequence, _pid = unpack_header(data, offset)
                if length < NLMSG_HEADER:
                    raise OSError('the kernel sent a netlink message of %d bytes' % length)
                index = pending.get(sequence)
                if index is not None:
                    if kind in (NLMSG_ERROR, NLMSG_DONE):
                        code = -_ERROR_CODE.unpack_from(data, offset + NLMSG_HEADER)[0]
                        if code:
                            errors[index] = code
                        del pending[sequence]
                    else:
                        answers[index].append(decode(data, offset + NLMSG_HEADER, offset + length))
                offset += (length + 3) & ~3
        return answers, errors
