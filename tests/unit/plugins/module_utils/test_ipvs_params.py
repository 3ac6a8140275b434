"""Addresses: the fast IPv4 path accepts, rejects and spells exactly as ipaddress does."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, address_family, family_of,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import realserver, service_key

ADDRESSES = [
    '192.0.2.1', '0.0.0.0', '255.255.255.255', '10.200.1.2',
    '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '::ffff:192.0.2.1', '::', 'fe80::1%eth0',
    '01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '256.1.1.1', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/32', '0x1.2.3.4',
    '1..2.3', '+1.2.3.4', '1.2.3.4\x00', '\u0661.\u0662.\u0663.\u0664', '', 'host.example', '1.2.3.4:80',
]


def slow(address):
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return str(parsed), 'ipv%d' % parsed.version


@pytest.mark.parametrize('address', ADDRESSES)
def test_addresses_are_read_as_ipaddress_reads_them(address):
    expected = slow(address)
    if expected is None:
        with pytest.raises(ValueError):
            address_family(address)
        with pytest.raises(ValueError):
            family_of(address)
    else:
        assert address_family(address) == expected
        assert family_of(address) == expected[1]


@pytest.mark.parametrize('address', ['192.0.2.300', '192.0.02.1', '2001:db8::g'])
def test_a_bad_address_names_the_parameter(address):
    with pytest.raises(ParameterError) as error:
        service_key(dict(protocol='tcp', address=address, port=80), 'services[3].')
    assert error.value.name == 'services[3].address'
    assert 'expected an IPv4 or IPv6 address without prefix or port' in str(error.value)


def test_a_realserver_address_is_stored_in_canonical_form():
    params = dict(address='2001:DB8::0:11', port=None, forwarding='tun', weight=1, upper_threshold=0,
                  lower_threshold=0, tunnel_type=None, tunnel_port=None, tunnel_checksum=None, state='present')
    member = realserver(params, ServiceKey('ipv4', 'tcp', '192.0.2.10', 80))
    assert member == RealServer('2001:db8::11', 80, forwarding='tun') and member.family == 'ipv6'
