"""vip_alias: parameters, and changing an address with no moment where it is missing."""

from __future__ import annotations

import errno
import ipaddress
import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import Address, Link
from ansible_collections.lvs.cluster.plugins.modules import vip_alias

BASE = dict(address=None, prefix=None, interface=None, label=None, scope=None, addresses=None)


class FakeRouteSocket:
    """The addresses of one interface, keyed like the kernel's (address, prefix length); records every step."""

    def __init__(self, fail_on_label=None):
        self.addresses = {}
        self.steps = []
        self.fail_on_label = fail_on_label

    def add_address(self, index, entry, label=None, scope=0, flags=0):
        key = (str(entry.ip), entry.network.prefixlen)
        if label is not None and label == self.fail_on_label:
            raise OSError(errno.EINVAL, 'Invalid argument')
        self.addresses[key] = label
        self.steps.append(('add', key, label, sorted(self.present())))

    def delete_address(self, index, entry):
        key = (str(entry.ip), entry.network.prefixlen)
        del self.addresses[key]
        self.steps.append(('del', key, None, sorted(self.present())))

    def present(self):
        return set(address for address, _mask in self.addresses)


def interface(text, label=None):
    return (ipaddress.ip_interface(text), label, None)


def test_one_or_many_addresses_with_their_paths():
    assert vip_alias.wanted_addresses(dict(BASE, address='10.0.0.1', interface='lo')) == [
        ('lo', interface('10.0.0.1/32'))]
    many = dict(BASE, addresses=[dict(BASE, address='10.0.0.1/24', interface='eth0', label='eth0:8'),
                                 dict(BASE, address='2001:db8::1', interface='lo')])
    assert vip_alias.wanted_addresses(many) == [('eth0', interface('10.0.0.1/24', 'eth0:8')),
                                                ('lo', interface('2001:db8::1/128'))]


@pytest.mark.parametrize('params, message', [
    (dict(BASE, address='fe80::1%eth0', interface='lo'), "address: 'fe80::1%eth0' is not valid; expected an IPv4"),
    (dict(BASE, address='10.0.0.1'), 'interface: None is not valid; expected the interface'),
    (dict(BASE, address='10.0.0.1/24', prefix=32, interface='lo'), 'prefix: 32 is not valid; expected the prefix'),
    (dict(BASE, addresses=[dict(BASE, address='10.0.0.1', interface='lo'),
                           dict(BASE, address='10.0.0.1/32', interface='lo')]),
     "addresses[1].address: '10.0.0.1/32' is not valid; expected each address once per interface"),
    (dict(BASE, addresses=[dict(BASE, address='10.0.0.1', interface='eth0', label='eth1:8')]),
     "addresses[0].label: 'eth1:8' is not valid; expected the interface name followed by an alias"),
])
def test_bad_parameters_name_their_path(params, message):
    with pytest.raises(ParameterError) as error:
        vip_alias.wanted_addresses(params)
    assert str(error.value).startswith(message)


def test_a_label_change_goes_through_a_bridge_and_the_address_is_never_missing():
    routes = FakeRouteSocket()
    routes.addresses[('10.0.0.1', 24)] = None
    vip_alias.replace_address(routes, 1, interface('10.0.0.1/24'), interface('10.0.0.1/24', 'eth0:8'))
    assert routes.addresses == {('10.0.0.1', 24): 'eth0:8'}
    assert all('10.0.0.1' in present for _command, _key, _label, present in routes.steps)
    assert [step[:2] for step in routes.steps] == [('add', ('10.0.0.1', 32)), ('del', ('10.0.0.1', 24)),
                                                   ('add', ('10.0.0.1', 24)), ('del', ('10.0.0.1', 32))]


def test_a_failed_change_puts_the_old_address_back():
    routes = FakeRouteSocket(fail_on_label='eth0:8')
    routes.addresses[('10.0.0.1', 24)] = None
    with pytest.raises(OSError):
        vip_alias.replace_address(routes, 1, interface('10.0.0.1/24'), interface('10.0.0.1/24', 'eth0:8'))
    assert routes.addresses == {('10.0.0.1', 24): None}
    assert all('10.0.0.1' in present for _command, _key, _label, present in routes.steps)


def test_a_prefix_change_adds_the_new_address_before_deleting_the_old():
    routes = FakeRouteSocket()
    routes.addresses[('10.0.0.1', 32)] = None
    vip_alias.replace_address(routes, 1, interface('10.0.0.1/32'), interface('10.0.0.1/24'))
    assert [step[:2] for step in routes.steps] == [('add', ('10.0.0.1', 24)), ('del', ('10.0.0.1', 32))]


class PersistModule:
    """The parts of AnsibleModule that persist() uses, writing for real under the test's directory."""

    def __init__(self, persist_dir):
        self.params = dict(persist_dir=str(persist_dir))
        self.check_mode = False

    @staticmethod
    def atomic_move(source, destination):
        os.replace(source, destination)


def test_tasks_with_different_persist_dirs_leave_each_other_alone(tmp_path, monkeypatch):
    written = []
    real_write = vip_alias.write_if_changed
    monkeypatch.setattr(vip_alias, 'write_if_changed',
                        lambda module, path, content: written.append(path) or real_write(module, path, content))
    director, realserver = PersistModule(tmp_path / 'director.d'), PersistModule(tmp_path / 'realserver.d')
    eth0 = interface('192.0.2.10/24', 'eth0:8')
    lo = interface('2001:db8::10/128')
    assert vip_alias.persist(director, 'eth0', eth0, True)[0]
    assert vip_alias.persist(realserver, 'lo', lo, True)[0]
    for _again in range(2):
        assert not vip_alias.persist(director, 'eth0', eth0, True)[0]
        assert not vip_alias.persist(realserver, 'lo', lo, True)[0]
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob('*')) == [
        'director.d', 'director.d/eth0_192.0.2.10.batch', 'realserver.d', 'realserver.d/lo_2001-db8--10.batch']
    assert (tmp_path / 'director.d' / 'eth0_192.0.2.10.batch').read_text() == \
        'link set dev eth0 up\naddress replace 192.0.2.10/24 dev eth0 label eth0:8\n'
    assert all(path.startswith(str(tmp_path)) for path in written), 'persist wrote outside its persist_dir: %s' % written
    assert vip_alias.persist(realserver, 'lo', lo, False)[0]
    assert (tmp_path / 'director.d' / 'eth0_192.0.2.10.batch').exists()
    assert not (tmp_path / 'realserver.d' / 'lo_2001-db8--10.batch').exists()


class LiveRouteSocket:
    """The netlink route socket as vip_alias.main uses it: lo (index 1, up), with the addresses added to it."""

    def __init__(self):
        self.added = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def link(self, name):
        return Link(1, 'lo', True) if name == 'lo' else None

    def links(self):
        return [Link(1, 'lo', True)]

    def addresses(self, index):
        return [Address(entry, 'lo', 254) for entry in self.added]

    def add_address(self, index, entry, label=None, scope=0, flags=0):
        self.added.append(entry)

    def delete_address(self, index, entry):
        self.added.remove(entry)


def test_restore_unit_installed_with_the_addresses_then_idempotent(run_module, monkeypatch, tmp_path, fake_systemd):
    routes = LiveRouteSocket()
    monkeypatch.setattr(vip_alias.RouteSocket, 'open', lambda: routes)
    args = dict(address='192.0.2.10', interface='lo', persist=True, persist_dir=str(tmp_path / 'addresses.d'),
                restore_unit='lvs-cluster-addresses.service')
    unit = tmp_path / 'systemd' / 'lvs-cluster-addresses.service'
    checked = run_module(vip_alias.main, args, check_mode=True, diff=True)
    assert checked['changed'] and checked['restore_unit_changed'] and not unit.exists() and not routes.added
    assert checked['diff'][-1] == {'before_header': 'lvs-cluster-addresses.service', 'before': 'disabled\n',
                                   'after_header': 'lvs-cluster-addresses.service', 'after': 'enabled\n'}
    done = run_module(vip_alias.main, args)
    assert done['changed'] and done['restore_unit_changed'] and done['addresses'] == ['192.0.2.10/32']
    assert 'for batch in %s/*.batch; do' % (tmp_path / 'addresses.d') in unit.read_text()
    assert 'lvs-cluster-addresses.service' in fake_systemd.enabled
    again = run_module(vip_alias.main, args)
    assert not again['changed'] and not again['restore_unit_changed']
    routes.added.clear()  # ip addr del, by hand: the VIP comes back, the unit is left as it is
    repaired = run_module(vip_alias.main, args)
    assert repaired['changed'] and not repaired['restore_unit_changed'] and routes.added
    absent = run_module(vip_alias.main, dict(args, state='absent'))
    assert absent['changed'] and 'restore_unit_changed' not in absent and unit.exists()


@pytest.mark.parametrize('args, says', [
    (dict(restore_unit='lvs-cluster-addresses.service'),
     "restore_unit: 'lvs-cluster-addresses.service' is not valid without persist: true"),
    (dict(restore_unit='x/y.service', persist=True), "restore_unit: 'x/y.service' is not valid; expected a unit name"),
])
def test_restore_unit_bad_input(run_module, monkeypatch, tmp_path, fake_systemd, args, says):
    routes = LiveRouteSocket()
    monkeypatch.setattr(vip_alias.RouteSocket, 'open', lambda: routes)
    result = run_module(vip_alias.main, dict(args, address='192.0.2.10', interface='lo',
                                             persist_dir=str(tmp_path / 'addresses.d')))
    assert result['failed'] and says in result['msg'] and not fake_systemd.commands
    assert not (tmp_path / 'systemd').exists()
