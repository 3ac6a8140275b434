# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few rtnetlink requests vip_alias makes (links, and addresses as `ip address` adds and deletes them).

Private to the lvs.cluster collection; not a public API. The messages are those of the kernel's
include/uapi/linux/rtnetlink.h, if_link.h and if_addr.h; failures raise OSError with the kernel's errno.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import namedtuple

from ansible_collections.lvs.cluster.plugins.module_utils._netlink import (
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NetlinkSocket, attr, parse_attrs, string_attr,
)

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_SETLINK = 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
IFLA_IFNAME = 3
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
IFA_F_NODAD = 0x02
IFF_UP = 0x1
# struct ifinfomsg (family, pad, type, index, flags, change) and struct ifaddrmsg (family, prefixlen, flags, scope,
# index).
IFINFOMSG = struct.Struct('=BxHiII')
IFADDRMSG = struct.Struct('=BBBBI')
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}

Link = namedtuple('Link', 'index name up')
Address = namedtuple('Address', 'interface label scope')


def _link(data, start, end):
    """The Link an RTM_NEWLINK message in data[start:end] describes."""
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(data, start)
    name = parse_attrs(data[start + IFINFOMSG.size:end]).get(IFLA_IFNAME, b'')
    return Link(index, name.rstrip(b'\0').decode(), bool(flags & IFF_UP))


def _address(data, start, end):
    """(interface index, Address) of an RTM_NEWADDR message in data[start:end]; the Address is None unless IPv4/IPv6."""
    family, prefixlen, _flags, scope, index = IFADDRMSG.unpack_from(data, start)
    if family not in (socket.AF_INET, socket.AF_INET6):
        return index, None
    attrs = parse_attrs(data[start + IFADDRMSG.size:end])
    packed = attrs.get(IFA_LOCAL) or attrs[IFA_ADDRESS]
    label = attrs.get(IFA_LABEL)
    return index, Address(ipaddress.ip_interface((ipaddress.ip_address(bytes(packed)), prefixlen)),
                          label.rstrip(b'\0').decode() if label is not None else None, scope)


def _address_body(index, interface, flags=0, scope=0):
    """struct ifaddrmsg and IFA_LOCAL, IFA_ADDRESS of interface (an ipaddress interface), as `ip address` sends them."""
    packed = interface.ip.packed
    return (IFADDRMSG.pack(FAMILIES[interface.version], interface.network.prefixlen, flags, scope, index)
            + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed))


class RouteSocket:
    """An rtnetlink socket with the requests of `ip link` and `ip address` that vip_alias needs."""

    def __init__(self, netlink):
        self._netlink = netlink

    @classmethod
    def open(cls):
        """Return a RouteSocket on a new NETLINK_ROUTE socket; raise OSError as socket() does."""
        return cls(NetlinkSocket.open(NETLINK_ROUTE))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._netlink.close()

    def link(self, name):
        """Return the Link of the interface called name, or None when there is none.

        Read from the dump of every link: a name the kernel would refuse to look up (too long, say) is
        simply not found.
        """
        return next((link for link in self.links() if link.name == name), None)

    def links(self):
        """Return the Link of every interface."""
        return self._netlink.request(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), _link, NLM_F_DUMP)

    def set_up(self, index):
        """Bring the interface up, as `ip link set dev ... up`."""
        self._netlink.request(RTM_SETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP), _link)

    def addresses(self, index):
        """Return the Address of each IPv4 and IPv6 address of the interface with that index."""
        replies = self._netlink.request(RTM_GETADDR, IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, index), _address,
                                        NLM_F_DUMP)
        # Kernels without strict dump checking send every interface's addresses.
        return [address for owner, address in replies if owner == index and address is not None]

    def add_address(self, index, interface, label=None, scope=0, flags=0):
        """Add interface (an ipaddress interface) with its prefix, as `ip address add` (an existing one is refused)."""
        body = _address_body(index, interface, flags, scope)
        if label:
            body += string_attr(IFA_LABEL, label)
        self._netlink.request(RTM_NEWADDR, body, _address, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)

    def delete_address(self, index, interface):
        """Delete the address with that prefix (interface, an ipaddress interface), as `ip address del`."""
        self._netlink.request(RTM_DELADDR, _address_body(index, interface), _address)
