#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vip_alias
short_description: A virtual IP on an interface, through netlink
version_added: 0.1.0
description:
  - Adds or removes an address on an interface (or several with O(addresses)), as C(ip address add/del) would,
    through netlink, with only Python's standard library on the target.
  - On a director, the VIP goes on the client-facing NIC with its real prefix and, for IPv4, an optional label in
    the old C(eth0:8) style. On a DR real server it is hidden on C(lo) as a /32 (/128 for IPv6); on a TUN real
    server it goes on C(tunl0).
  - An interface that is down, such as C(tunl0) once C(ipip) is loaded, is brought up with its address, since an
    address on a down interface receives nothing.
  - The same address with another prefix, label or scope on the interface is replaced with no moment where the
    address is missing; if the replacement fails, the old address is put back.
  - With O(persist), the address is also written as an C(ip -batch) file under O(persist_dir), for a systemd unit
    to restore at boot; with O(restore_unit), the module installs and enables that unit too, in the same run.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
options:
  address:
    description:
      - The address, IPv4 or IPv6, optionally with a prefix length (V(192.0.2.10/24)). A scoped IPv6 address
        (V(fe80::1%eth0)) is refused; give the interface in O(interface) instead.
      - Mutually exclusive with O(addresses); one of the two is required.
    type: str
  prefix:
    description:
      - Prefix length. Defaults to the one in O(address), else 32 for IPv4 and 128 for IPv6 (what a real server's
        hidden VIP on C(lo) needs). A director's NIC wants the network's prefix.
    type: int
  interface:
    description: The interface (C(eth0), C(lo), C(tunl0)) of O(address). It must exist. Required with O(address).
    type: str
  label:
    description:
      - IPv4 label, such as V(eth0:8); it must start with O(interface) and be at most 15 characters. IPv6 addresses
        have no labels.
    type: str
  scope:
    description: Address scope. When not set, the kernel's default (global; host for addresses on C(lo)).
    type: str
    choices: [global, link, host]
  addresses:
    description:
      - Several addresses in one task (one netlink session, one module run), each with the options of a single one.
        O(state), O(persist) and O(persist_dir) apply to all of them.
      - Mutually exclusive with O(address).
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      address:
        description: As O(address).
        type: str
        required: true
      prefix:
        description: As O(prefix).
        type: int
      interface:
        description: As O(interface).
        type: str
        required: true
      label:
        description: As O(label).
        type: str
      scope:
        description: As O(scope).
        type: str
        choices: [global, link, host]
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Also write the address as C(O(persist_dir)/INTERFACE_ADDRESS.batch) (for example
        C(/etc/lvs-cluster/addresses.d/lo_192.0.2.10.batch), C(:) of IPv6 written C(-)), an C(ip -batch) file that
        C(lvs-cluster-addresses.service) restores at boot; with O(state=absent), remove that file.
      - Tasks with different O(persist_dir) leave each other's files alone.
    type: bool
    default: false
  persist_dir:
    description: Where the C(ip -batch) files live, one per address.
    type: path
    default: /etc/lvs-cluster/addresses.d
  restore_unit:
    description:
      - With O(persist) and O(state=present), also write the systemd unit of this name under
        C(/etc/systemd/system) that restores every file of O(persist_dir) at boot, and enable it; the file is
        rewritten only when its content differs, C(systemctl daemon-reload) runs only then, and a unit disabled by
        hand is enabled again. The roles C(lvs.cluster.director) and C(lvs.cluster.realserver) give
        V(lvs-cluster-addresses.service).
      - The unit's C(ExecStart) is C(/bin/sh -c 'for batch in PERSIST_DIR/*.batch; do [ -e "$batch" ] && ip -force
        -batch "$batch"; done; true'). Tasks with different O(persist_dir) need different unit names.
      - With O(state=absent) the unit is left alone (other addresses may still use it).
      - Not set, the module installs no unit.
    type: str
    version_added: 0.1.0
notes:
  - IPv6 addresses are added with C(nodad) so that they are usable at once.
  - O(restore_unit) needs systemd on the target (C(systemctl)).
seealso:
  - module: lvs.cluster.arp_sysctl
"""

EXAMPLES = r"""
- name: The VIP on the director's NIC, the way `ifconfig eth0:8 192.0.2.10 netmask 255.255.255.0` did it
  lvs.cluster.vip_alias:
    address: 192.0.2.10/24
    interface: eth0
    label: eth0:8
    persist: true

- name: The VIP hidden on lo of a DR real server, and the unit that restores it at boot
  lvs.cluster.vip_alias:
    address: 192.0.2.10
    interface: lo
    persist: true
    restore_unit: lvs-cluster-addresses.service

- name: The VIPs of a DR and a TUN service on one real server, in one task
  lvs.cluster.vip_alias:
    addresses:
      - {address: 192.0.2.10, interface: lo}
      - {address: 192.0.2.11, interface: tunl0}
    persist: true

- name: Remove it
  lvs.cluster.vip_alias:
    address: 192.0.2.10
    interface: lo
    state: absent
    persist: true
"""

RETURN = r"""
interfaces:
  description: For each interface the task named, its addresses (with prefix) after the task.
  returned: always
  type: dict
  sample: {"lo": ["127.0.0.1/8", "192.0.2.10/32"], "tunl0": ["192.0.2.11/32"]}
interface:
  description: The interface of O(address).
  returned: when O(address) is given
  type: str
  sample: lo
addresses:
  description: The addresses (with prefix) of the interface of O(address) after the task.
  returned: when O(address) is given
  type: list
  elements: str
  sample: ["127.0.0.1/8", "192.0.2.10/32", "::1/128"]
restore_unit_changed:
  description: Whether the unit of O(restore_unit) was written or enabled (or, in check mode, would be).
  returned: when O(restore_unit) is set, O(persist=true) and O(state=present)
  type: bool
"""

import errno
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    file_diff, install_unit, oneshot_unit, read_text, remove_if_present, valid_unit_name, write_if_changed,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink import IFA_F_NODAD, RouteSocket

SCOPES = {'global': 0, 'link': 253, 'host': 254}
SCOPE_NAMES = dict((number, name) for name, number in SCOPES.items())
IPV6_DISABLED = '/proc/sys/net/ipv6/conf/%s/disable_ipv6'


def wanted_address(params, where=''):
    """Return (ipaddress interface object, label, scope) of one address's parameters, or raise ParameterError."""
    text, _slash, given_prefix = params['address'].partition('/')
    try:
        address = ipaddress.ip_address(text)
        if '%' in text:
            raise ValueError('scoped')
    except ValueError:
        raise ParameterError(where + 'address', params['address'], 'expected an IPv4 or IPv6 address, optionally with '
                             '/prefix (no %scope)')
    bits = address.max_prefixlen
    if given_prefix and not given_prefix.isdigit():
        raise ParameterError(where + 'address', params['address'], 'expected a prefix that is a number')
    prefix = params.get('prefix')
    if prefix is None:
        prefix = int(given_prefix or bits)
    if given_prefix and int(given_prefix) != prefix:
        raise ParameterError(where + 'prefix', prefix, 'expected the prefix in address (/%s), or none there' % given_prefix)
    if not 1 <= prefix <= bits:
        raise ParameterError(where + 'prefix', prefix, 'expected 1 to %d' % bits)
    label = params.get('label')
    if label is not None:
        if address.version == 6:
            raise ParameterError(where + 'label', label, 'IPv6 addresses have no labels')
        if not label.startswith(params['interface']) or len(label) > 15 or not re.match(r'^[\w.:-]+$', label):
            raise ParameterError(where + 'label', label, 'expected the interface name followed by an alias, such as %s:8, at '
                                 'most 15 characters' % params['interface'])
    return ipaddress.ip_interface('%s/%d' % (address, prefix)), label, params.get('scope')


def wanted_addresses(params):
    """Return [(interface, wanted)] for the address or the addresses, each wanted as wanted_address returns it."""
    if params['address'] is not None:
        if params['interface'] is None:
            raise ParameterError('interface', None, 'expected the interface that address goes on')
        items = [('', params)]
    else:
        items = [('addresses[%d].' % index, item) for index, item in enumerate(params['addresses'])]
    wanted, seen = [], set()
    for where, item in items:
        entry = wanted_address(item, where)
        if (item['interface'], entry[0].ip) in seen:
            raise ParameterError(where + 'address', item['address'], 'expected each address once per interface')
        seen.add((item['interface'], entry[0].ip))
        wanted.append((item['interface'], entry))
    return wanted


def current_addresses(routes, index, interface):
    """Return {address: (interface object, label, scope name)} for the interface's addresses.

    The kernel labels every IPv4 address with the interface name; that counts as no label.
    """
    return dict((found.interface.ip, (found.interface, None if found.label == interface else found.label,
                                      SCOPE_NAMES.get(found.scope, 'global')))
                for found in routes.addresses(index))


def describe(entry, label, scope):
    words = ['address', str(entry)]
    if label:
        words += ['label', label]
    if scope:
        words += ['scope', scope]
    return ' '.join(words)


def add_address(routes, index, entry, label, scope):
    """Add entry (an ipaddress interface) with its label and scope name (None: the default); IPv6 without DAD."""
    routes.add_address(index, entry, label, SCOPES[scope] if scope else 0, IFA_F_NODAD if entry.version == 6 else 0)


def replace_address(routes, index, current, wanted):
    """Put wanted in place of current (same address) with no moment where the address is missing.

    The kernel keys an address by address and prefix length and keeps the label and scope of an existing
    key, so a change of those goes through a bridge: the address with another prefix is added first,
    then the old one deleted, the new one added and the bridge removed. If a step fails, the old
    address is put back before the error is raised.
    """
    old = current[0]
    bridge = None
    if wanted[0].network.prefixlen == old.network.prefixlen:
        prefix = old.max_prefixlen if old.network.prefixlen != old.max_prefixlen else old.max_prefixlen - 1
        bridge = ipaddress.ip_interface('%s/%d' % (old.ip, prefix))
        add_address(routes, index, bridge, None, current[2] if current[2] != 'global' else None)
        routes.delete_address(index, old)
        try:
            add_address(routes, index, *wanted)
        except OSError:
            add_address(routes, index, *current)
            raise
        finally:
            routes.delete_address(index, bridge)
    else:
        add_address(routes, index, *wanted)
        routes.delete_address(index, old)


def restore_unit(module):
    """Install and enable the unit that restores persist_dir at boot; return (changed, diff entries)."""
    name = module.params['restore_unit']
    if not valid_unit_name(name):
        module.fail_json(msg='restore_unit: %r is not valid; expected a unit name such as '
                             'lvs-cluster-addresses.service' % name, parameter='restore_unit')
    return install_unit(module, name, oneshot_unit(
        'lvs.cluster.vip_alias (restore_unit)', 'Restore the addresses persisted by lvs.cluster.vip_alias',
        "/bin/sh -c 'for batch in %s/*.batch; do [ -e \"$batch\" ] && ip -force -batch \"$batch\"; done; true'"
        % module.params['persist_dir'].rstrip('/'),
        ['After=network-pre.target systemd-networkd.service networking.service', 'Before=network.target']))


def persist(module, interface, wanted, present):
    """Write or remove the address's ip -batch file, and nothing else; return (changed, diff entries)."""
    directory = module.params['persist_dir']
    path = os.path.join(directory, '%s_%s.batch' % (interface, str(wanted[0].ip).replace(':', '-')))
    before = read_text(path)
    if not present:
        return remove_if_present(module, path), [file_diff(path, before, None)]
    line = 'link set dev %s up\naddress replace %s dev %s%s%s%s\n' % (
        interface, wanted[0], interface, ' label %s' % wanted[1] if wanted[1] else '',
        ' scope %s' % wanted[2] if wanted[2] else '', ' nodad' if wanted[0].version == 6 else '')
    return write_if_changed(module, path, line), [file_diff(path, before, line)]


def interface_link(module, routes, interface, where):
    """Return the interface's Link (index, name, up), or fail naming the existing interfaces."""
    link = routes.link(interface)
    if link is None:
        names = sorted(other.name for other in routes.links())
        module.fail_json(msg='%sinterface: %r is not valid; no such interface (existing: %s)' % (
            where, interface, ', '.join(names)), parameter=where + 'interface')
    return link


def converge(module, routes, interface, wanted, where, present):
    """Bring one address on one interface to the wanted state; return (changed, addresses after, diff entry)."""
    link = interface_link(module, routes, interface, where)
    index = link.index
    if present and wanted[0].version == 6 and read_text(IPV6_DISABLED % interface) == '1\n':
        module.fail_json(msg='%saddress: %s cannot go on %s: IPv6 is disabled there (net.ipv6.conf.%s.disable_ipv6 = '
                             '1, as Docker leaves it in containers); enable IPv6 on the interface first' % (
                                 where, wanted[0], interface, interface), parameter=where + 'address')
    addresses = current_addresses(routes, index, interface)
    current = addresses.get(wanted[0].ip)
    matches = current is not None and current[0] == wanted[0] and current[1] == wanted[1] and \
        wanted[2] in (None, current[2])
    down = present and not link.up
    address_changed = (present and not matches) or (not present and current is not None)
    changed = address_changed or down
    if changed and not module.check_mode:
        try:
            if down:
                routes.set_up(index)
            if address_changed and not present:
                routes.delete_address(index, current[0])
            elif address_changed and current is None:
                add_address(routes, index, *wanted)
            elif address_changed:
                replace_address(routes, index, current, wanted)
        except OSError as error:
            module.fail_json(msg='%s %s on %s failed: %s%s' % (
                'adding' if present else 'deleting', describe(*wanted), interface, error.strerror or error,
                '; run the task with become: true (it needs root or CAP_NET_ADMIN)' if error.errno == errno.EPERM
                else ''))
        addresses = current_addresses(routes, index, interface)
    before = ('link down\n' if down else '') + (describe(*current) + '\n' if current else '')
    after = ('link up\n' if down else '') + (describe(*wanted) + '\n' if present else '')
    diff = {'before_header': interface, 'after_header': interface, 'before': before if changed else after,
            'after': after}
    return changed, [str(entry[0]) for entry in addresses.values()], diff


def main():
    address_options = dict(address=dict(type='str'), prefix=dict(type='int'), interface=dict(type='str'),
                           label=dict(type='str'), scope=dict(type='str', choices=list(SCOPES)))
    item_options = dict(address_options, address=dict(type='str', required=True),
                        interface=dict(type='str', required=True))
    module = AnsibleModule(
        argument_spec=dict(
            address_options,
            addresses=dict(type='list', elements='dict', options=item_options),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=False),
            persist_dir=dict(type='path', default='/etc/lvs-cluster/addresses.d'),
            restore_unit=dict(type='str'),
        ),
        mutually_exclusive=[('address', 'addresses')],
        required_one_of=[('address', 'addresses')],
        supports_check_mode=True,
    )
    try:
        wanted = wanted_addresses(module.params)
    except ParameterError as error:
        module.fail_json(msg=str(error), parameter=error.name)
    present = module.params['state'] == 'present'
    if module.params['restore_unit'] is not None and not module.params['persist']:
        module.fail_json(msg='restore_unit: %r is not valid without persist: true (the unit restores the persisted '
                             'addresses)' % module.params['restore_unit'], parameter='restore_unit')
    changed, interfaces, diffs = False, {}, []
    try:
        route_socket = RouteSocket.open()
    except OSError as error:
        module.fail_json(msg='opening a netlink route socket failed: %s' % (error.strerror or error))
    with route_socket as routes:
        for position, (interface, entry) in enumerate(wanted):
            where = '' if module.params['address'] is not None else 'addresses[%d].' % position
            live_changed, interfaces[interface], diff = converge(module, routes, interface, entry, where, present)
            try:
                persisted, file_diffs = persist(module, interface, entry, present) if module.params['persist'] \
                    else (False, [])
            except OSError as error:
                module.fail_json(msg='persisting %s on %s under %s failed: %s; run the task with become: true '
                                     '(it writes under /etc)' % (describe(*entry), interface, module.params['persist_dir'],
                                                                 error))
            changed |= live_changed or persisted
            diffs += [diff] + file_diffs
    result = dict(changed=changed, interfaces=interfaces)
    if module.params['restore_unit'] is not None and present:
        result['restore_unit_changed'], unit_diffs = restore_unit(module)
        result['changed'] |= result['restore_unit_changed']
        diffs += unit_diffs
    if module.params['address'] is not None:
        result.update(interface=wanted[0][0], addresses=interfaces[wanted[0][0]])
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
