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


def encoded(attrs):
    message = netlink.IpvsMessage()
    message['cmd'] = netlink.IPVS_CMD['add-service']
    message['version'] = 1
    message['attrs'] = attrs
    message.encode()
    return bytes(message.data)


def nla(kind, payload):
    return struct.pack('=HH', 4 + len(payload), kind) + payload


def test_ipv6_service_carries_the_netmask_as_a_prefix_length():
    service = VirtualService(key=ServiceKey('ipv6', 'tcp', '2001:db8::10', 443), scheduler='rr',
                             persistence_timeout=60, persistence_prefix=64)
    data = encoded([('IPVS_CMD_ATTR_SERVICE', {'attrs': netlink._service_attrs(service)})])
    assert nla(IPVS_SVC_ATTR_NETMASK, struct.pack('=I', 64)) in data


def test_ipv4_netmask_is_a_mask_in_network_order():
    service = VirtualService(key=ServiceKey('ipv4', 'tcp', '192.0.2.10', 80), persistence_timeout=60,
                             persistence_prefix=24)
    data = encoded([('IPVS_CMD_ATTR_SERVICE', {'attrs': netlink._service_attrs(service)})])
    assert nla(IPVS_SVC_ATTR_NETMASK, bytes([255, 255, 255, 0])) in data


def test_gue_port_is_in_network_order():
    realserver = RealServer('198.51.100.11', 80, forwarding='tun', tunnel_type='gue', tunnel_port=6080)
    data = encoded([('IPVS_CMD_ATTR_DEST', {'attrs': netlink._realserver_attrs(realserver, True)})])
    assert nla(IPVS_DEST_ATTR_TUN_PORT, struct.pack('>H', 6080)) in data


def test_edits_use_the_kernels_set_commands_not_delete():
    assert netlink.IPVS_CMD['edit-service'] == 2 and netlink.IPVS_CMD['edit-realserver'] == 6
    assert netlink.IPVS_CMD['delete-service'] == 3 and netlink.IPVS_CMD['delete-realserver'] == 7


@pytest.mark.parametrize('family, prefix', [('ipv4', 32), ('ipv4', 16), ('ipv6', 128), ('ipv6', 48)])
def test_netmask_round_trip(family, prefix):
    assert netlink._unpack_netmask(family, netlink._pack_netmask(family, prefix)) == prefix


def test_service_attributes_decode_back():
    service = VirtualService(key=ServiceKey('ipv4', 'udp', '192.0.2.10', 53), scheduler='mh',
                             scheduler_flags=('mh-fallback', 'mh-port'), one_packet=True)
    data = encoded([('IPVS_CMD_ATTR_SERVICE', {'attrs': netlink._service_attrs(service)})])
    decoded = netlink.IpvsMessage(data)
    decoded.decode()
    back = netlink._service_from_attrs(decoded.get_attr('IPVS_CMD_ATTR_SERVICE'))
    assert back.key == service.key and back.settings() == service.settings()


@pytest.mark.skipif(os.path.exists('/proc/net/ip_vs'), reason='this kernel has IPVS; the lab tests that side')
def test_a_kernel_without_ipvs_gets_a_sentence_not_a_traceback():
    with pytest.raises(IPVSUnavailable) as error:
        netlink.NetlinkBackend()
    assert 'modprobe ip_vs' in str(error.value) and 'lab' in str(error.value)
