"""The kernel's refusals of ip_vs_ctl.c (Linux 6.1) are checked before writing, naming the parameter."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import ServiceKey
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    REALSERVER_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_SETTINGS_OPTIONS, checked_options, realserver, service_key,
    virtual_service,
)

WEB = ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)
WEB6 = ServiceKey('ipv6', 'tcp', '2001:db8::10', 80)


def member(key=WEB, **params):
    return realserver(dict(checked_options(dict({'address': '198.51.100.11'}, **params), REALSERVER_OPTIONS),
                           state='present'), key, 'realservers[1].')


def refusal(build):
    with pytest.raises(ParameterError) as error:
        build()
    return error.value


@pytest.mark.parametrize('params, name, says', [
    # ip_vs_add_dest/ip_vs_edit_dest: lower threshold above upper (-ERANGE), also with upper 0
    (dict(lower_threshold=50), 'lower_threshold', 'expected at most upper_threshold (0)'),
    (dict(lower_threshold=101, upper_threshold=100), 'lower_threshold', 'expected at most upper_threshold (100)'),
    # weight below zero (-ERANGE)
    (dict(weight=-1), 'weight', 'expected an integer from 0 to 65535'),
    # u_threshold above INT_MAX (-EINVAL)
    (dict(upper_threshold=2 ** 31), 'upper_threshold', 'expected an integer from 0 to 2147483647'),
    # GUE with tunnel port 0 (-EINVAL)
    (dict(forwarding='tun', tunnel_type='gue', tunnel_port=0), 'tunnel_port', 'expected an integer from 1 to 65535'),
    # ip_vs_new_dest: not unicast (-EINVAL)
    (dict(address='224.0.0.5'), 'address', 'the kernel refuses a real server in 224.0.0.0/4'),
    (dict(address='255.255.255.255'), 'address', 'the kernel refuses a real server in 255.255.255.255/32'),
    (dict(address='0.1.2.3'), 'address', 'the kernel refuses a real server in 0.0.0.0/8'),
    # ip_vs_genl_set_cmd: another family than the service's, not tunnelled (-EINVAL)
    (dict(address='2001:db8::11'), 'address', 'mixed families need forwarding: tun'),
])
def test_a_kernel_refusal_is_named_before_writing(params, name, says):
    error = refusal(lambda: member(**params))
    assert error.name == 'realservers[1].' + name and says in str(error)


@pytest.mark.parametrize('address, says', [
    ('ff02::1', 'ff00::/8'), ('fe80::1', 'fe80::/10'), ('::', '::/128'),
    ('fe80::1%eth0', 'expected an address without a %zone'),
])
def test_ipv6_real_servers_the_kernel_refuses(address, says):
    error = refusal(lambda: member(WEB6, address=address))
    assert error.name == 'realservers[1].address' and says in str(error)


def test_what_the_kernel_takes_passes():
    assert member(lower_threshold=50, upper_threshold=50).lower_threshold == 50
    assert member(WEB6, address='2001:db8::11').address == '2001:db8::11'
    assert member(address='2001:db8::11', forwarding='tun').family == 'ipv6'


def service(**params):
    options = dict(SERVICE_KEY_OPTIONS, **SERVICE_SETTINGS_OPTIONS)
    return virtual_service(checked_options(dict({'address': '2001:db8::10', 'port': 80}, **params), options), 's.')


@pytest.mark.parametrize('params, name, says', [
    # ip_vs_add_service/ip_vs_edit_service: IPv6 netmask outside 1-128 (-EINVAL)
    (dict(persistence_timeout=60, persistence_netmask='129'), 'persistence_netmask', 'from 1 to 128'),
    (dict(persistence_timeout=60, persistence_netmask='0'), 'persistence_netmask', 'from 1 to 128'),
    (dict(address='192.0.2.10', persistence_timeout=60, persistence_netmask='0.0.0.0'), 'persistence_netmask',
     'expected a netmask such as 255.255.255.0'),
    (dict(address='fe80::1%eth0'), 'address', 'expected an address without a %zone'),
])
def test_service_refusals_are_named(params, name, says):
    error = refusal(lambda: service(**params))
    assert error.name == 's.' + name and says in str(error)


def test_a_scoped_exclude_or_service_key_is_refused():
    error = refusal(lambda: service_key(dict(protocol='tcp', address='fe80::1%eth0', port=80), 'exclude[0].'))
    assert error.name == 'exclude[0].address'
