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
  - Adds or removes one address on one interface, as C(ip address add/del) would, through netlink (pyroute2).
  - On a director, the VIP goes on the client-facing NIC with its real prefix and, for IPv4, an optional label in
    the old C(eth0:8) style. On a DR real server it is hidden on C(lo) as a /32 (/128 for IPv6); on a TUN real
    server it goes on C(tunl0).
  - The same address with another prefix, label or scope on the interface is replaced.
  - With O(persist), the address is also written as an C(ip -batch) file under O(persist_dir), and the
    C(lvs-cluster-addresses.service) unit that restores those files at boot is installed and enabled.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
requirements:
  - pyroute2 >= 0.6 on the target (Debian 12's python3-pyroute2 is enough).
options:
  address:
    description: The address, IPv4 or IPv6, optionally with a prefix length (V(192.0.2.10/24)).
    type: str
    required: true
  prefix:
    description:
      - Prefix length. Defaults to the one in O(address), else 32 for IPv4 and 128 for IPv6 (what a real server's
        hidden VIP on C(lo) needs). A director's NIC wants the network's prefix.
    type: int
  interface:
    description: The interface (C(eth0), C(lo), C(tunl0)). It must exist.
    type: str
    required: true
  label:
    description:
      - IPv4 label, such as V(eth0:8); it must start with O(interface) and be at most 15 characters. IPv6 addresses
        have no labels.
    type: str
  scope:
    description: Address scope. When not set, the kernel's default (global; host for addresses on C(lo)).
    type: str
    choices: [global, link, host]
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  persist:
    description: Also write the address for C(lvs-cluster-addresses.service) to restore at boot (or remove it).
    type: bool
    default: false
  persist_dir:
    description: Where the C(ip -batch) files live, one per address.
    type: path
    default: /etc/lvs-cluster/addresses.d
notes:
  - IPv6 addresses are added with C(nodad) so that they are usable at once.
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

- name: The VIP hidden on lo of a DR real server
  lvs.cluster.vip_alias:
    address: 192.0.2.10
    interface: lo
    persist: true

- name: Remove it
  lvs.cluster.vip_alias:
    address: 192.0.2.10
    interface: lo
    state: absent
    persist: true
"""

RETURN = r"""
interface:
  description: The interface.
  returned: always
  type: str
  sample: lo
addresses:
  description: The interface's addresses (with prefix) after the task.
  returned: always
  type: list
  elements: str
  sample: ["127.0.0.1/8", "192.0.2.10/32", "::1/128"]
"""

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    file_diff, read_text, remove_if_present, write_if_changed,
)

try:
    from pyroute2 import IPRoute
except ImportError:
    HAS_PYROUTE2 = False
else:
    HAS_PYROUTE2 = True

SCOPES = {'global': 0, 'link': 253, 'host': 254}
SCOPE_NAMES = dict((number, name) for name, number in SCOPES.items())
IFA_F_NODAD = 0x02
IPV6_DISABLED = '/proc/sys/net/ipv6/conf/%s/disable_ipv6'
UNIT_PATH = '/etc/systemd/system/lvs-cluster-addresses.service'
UNIT_LINK = '/etc/systemd/system/multi-user.target.wants/lvs-cluster-addresses.service'
UNIT = """[Unit]
Description=Restore the addresses persisted by lvs.cluster.vip_alias
After=network-pre.target systemd-networkd.service networking.service
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for batch in %s/*.batch; do [ -e "$batch" ] && ip -force -batch "$batch"; done; true'

[Install]
WantedBy=multi-user.target
"""


def wanted_address(module):
    """Return (ipaddress interface object, label, scope) after checking the parameters."""
    params = module.params
    text, _slash, given_prefix = params['address'].partition('/')
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        module.fail_json(msg='address: %r is not valid; expected an IPv4 or IPv6 address, optionally with /prefix'
                         % params['address'], parameter='address')
    bits = address.max_prefixlen
    if given_prefix and not given_prefix.isdigit():
        module.fail_json(msg='address: %r is not valid; the prefix must be a number' % params['address'],
                         parameter='address')
    prefix = params['prefix'] if params['prefix'] is not None else int(given_prefix or bits)
    if given_prefix and int(given_prefix) != prefix:
        module.fail_json(msg='prefix: %d is not valid; address %s says /%s: give one or make them agree' % (
            prefix, params['address'], given_prefix), parameter='prefix')
    if not 1 <= prefix <= bits:
        module.fail_json(msg='prefix: %d is not valid; expected 1 to %d' % (prefix, bits), parameter='prefix')
    label = params['label']
    if label is not None:
        if address.version == 6:
            module.fail_json(msg='label: %r is not valid; IPv6 addresses have no labels' % label, parameter='label')
        if not label.startswith(params['interface']) or len(label) > 15 or not re.match(r'^[\w.:-]+$', label):
            module.fail_json(msg='label: %r is not valid; expected the interface name followed by an alias, such '
                                 'as %s:8, at most 15 characters' % (label, params['interface']), parameter='label')
    return ipaddress.ip_interface('%s/%d' % (address, prefix)), label, params['scope']


def current_addresses(ipr, index, interface):
    """Return {address: (interface object, label, scope name)} for the interface's addresses.

    The kernel labels every IPv4 address with the interface name; that counts as no label.
    """
    found = {}
    for message in ipr.get_addr(index=index):
        text = message.get_attr('IFA_LOCAL') or message.get_attr('IFA_ADDRESS')
        entry = ipaddress.ip_interface('%s/%d' % (text, message['prefixlen']))
        label = message.get_attr('IFA_LABEL')
        found[entry.ip] = (entry, None if label == interface else label,
                           SCOPE_NAMES.get(message['scope'], 'global'))
    return found


def describe(entry, label, scope):
    words = ['address', str(entry)]
    if label:
        words += ['label', label]
    if scope:
        words += ['scope', scope]
    return ' '.join(words)


def persist(module, interface, wanted, present):
    """Write or remove the address's ip -batch file and the boot unit; return (changed, diff entries)."""
    directory = module.params['persist_dir']
    path = os.path.join(directory, '%s_%s.batch' % (interface, str(wanted[0].ip).replace(':', '-')))
    before = read_text(path)
    if not present:
        return remove_if_present(module, path), [file_diff(path, before, None)]
    line = 'address replace %s dev %s%s%s%s\n' % (
        wanted[0], interface, ' label %s' % wanted[1] if wanted[1] else '',
        ' scope %s' % wanted[2] if wanted[2] else '', ' nodad' if wanted[0].version == 6 else '')
    changed = write_if_changed(module, path, line)
    changed |= write_if_changed(module, UNIT_PATH, UNIT % directory)
    if not os.path.lexists(UNIT_LINK):
        changed = True
        if not module.check_mode:
            os.makedirs(os.path.dirname(UNIT_LINK), exist_ok=True)
            os.symlink(UNIT_PATH, UNIT_LINK)
    return changed, [file_diff(path, before, line)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type='str', required=True),
            prefix=dict(type='int'),
            interface=dict(type='str', required=True),
            label=dict(type='str'),
            scope=dict(type='str', choices=list(SCOPES)),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=False),
            persist_dir=dict(type='path', default='/etc/lvs-cluster/addresses.d'),
        ),
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib('pyroute2 (0.6 or newer; Debian: python3-pyroute2)'))
    wanted = wanted_address(module)
    interface = module.params['interface']
    present = module.params['state'] == 'present'
    with IPRoute() as ipr:
        indexes = ipr.link_lookup(ifname=interface)
        if not indexes:
            names = sorted(link.get_attr('IFLA_IFNAME') for link in ipr.get_links())
            module.fail_json(msg='interface: %r is not valid; no such interface (existing: %s)' % (
                interface, ', '.join(names)), parameter='interface')
        index = indexes[0]
        if present and wanted[0].version == 6 and read_text(IPV6_DISABLED % interface) == '1\n':
            module.fail_json(msg='address: %s cannot go on %s: IPv6 is disabled there (net.ipv6.conf.%s.disable_ipv6 = 1, '
                                 'as Docker leaves it in containers); enable IPv6 on the interface first' % (
                                     wanted[0], interface, interface), parameter='address')
        addresses = current_addresses(ipr, index, interface)
        current = addresses.get(wanted[0].ip)
        matches = current is not None and current[0] == wanted[0] and current[1] == wanted[1] and \
            wanted[2] in (None, current[2])
        live_changed = (present and not matches) or (not present and current is not None)
        if live_changed and not module.check_mode:
            if current is not None:
                ipr.addr('del', index=index, address=str(current[0].ip), mask=current[0].network.prefixlen)
            if present:
                options = dict(index=index, address=str(wanted[0].ip), mask=wanted[0].network.prefixlen)
                if wanted[1]:
                    options['label'] = wanted[1]
                if wanted[2]:
                    options['scope'] = SCOPES[wanted[2]]
                if wanted[0].version == 6:
                    options['flags'] = IFA_F_NODAD
                ipr.addr('add', **options)
            addresses = current_addresses(ipr, index, interface)
    persisted, file_diffs = persist(module, interface, wanted, present) if module.params['persist'] else (False, [])
    result = dict(changed=live_changed or persisted, interface=interface,
                  addresses=[str(entry[0]) for entry in addresses.values()])
    if module._diff:
        before = describe(*current) + '\n' if current else ''
        after = describe(*wanted) + '\n' if present else ''
        result['diff'] = [{'before_header': interface, 'after_header': interface,
                           'before': before if live_changed else after, 'after': after}] + file_diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
