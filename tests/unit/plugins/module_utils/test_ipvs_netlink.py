"""The netlink messages are encoded the way the kernel (and ipvsadm's libipvs) encode them."""

from __future__ import annotations

import os
import struct

import pytest

pytest.importorskip('pyroute2')

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_netlink as netlink  # noqa: E402
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSUnavailable  # noqa: E402
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (  # noqa: E402
    RealServer, ServiceKey, VirtualService,
)

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


@pytest.mark.skipif(os.path.exists('/proc/net/ip_vs'), reason='this kernel has IPVS; the lab tests that side')
def test_a_kernel_without_ipvs_gets_a_sentence_not_a_traceback():
    with pytest.raises(IPVSUnavailable) as error:
        netlink.NetlinkBackend()
    assert 'modprobe ip_vs' in str(error.value) and 'lab' in str(error.value)
