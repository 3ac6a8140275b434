#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: arp_sysctl
short_description: The ARP settings that DR and TUN real servers need, live and persisted
version_added: 0.1.0
description:
  - Sets C(arp_ignore) and C(arp_announce) (and optionally C(rp_filter)) under C(net.ipv4.conf.<interface>) in
    the running kernel, and writes the same keys to one file under C(/etc/sysctl.d) so they survive a reboot.
  - A direct-routing or tunnelling real server carries the VIP on a non-ARPing interface; with
    C(arp_ignore=1) it answers ARP only for addresses of the interface asked, and with C(arp_announce=2) it
    never announces the VIP as a source. Without them the real servers answer ARP for the VIP and steal the
    director's traffic.
  - The kernel uses the larger of C(all) and the interface's value for C(arp_ignore) and C(arp_announce), so
    setting C(lo) alone does nothing; set C(all) and the interface that faces the clients, before the VIP appears.
  - Reports exactly which keys changed.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
  - lvs.cluster.ipvs.sysctl
options:
  interfaces:
    description:
      - The C(net.ipv4.conf) entries to set - C(all), C(default), or interface names such as C(eth0), C(lo),
        C(tunl0).
    type: list
    elements: str
    default: [all, lo]
  arp_ignore:
    description: Value of C(arp_ignore) - 0 to 3, or 8. V(1) answers ARP only for addresses of the asked interface.
    type: int
    default: 1
  arp_announce:
    description: Value of C(arp_announce) - 0 to 2. V(2) always uses the best local address as ARP source.
    type: int
    default: 2
  rp_filter:
    description:
      - Value of C(rp_filter) - 0 (off), 1 (strict), 2 (loose). Left alone when not set.
      - A TUN real server receives packets for the VIP on C(tunl0) and needs 0 or 2 on C(all) and C(tunl0).
    type: int
  ignore_missing_interfaces:
    description:
      - Persist the keys of interfaces that do not exist yet (such as C(tunl0) before C(ipip) is loaded) and skip
        them live. Otherwise a missing interface is an error.
    type: bool
    default: false
  state:
    description:
      - V(present) sets the values live and in O(persist_file).
      - V(absent) sets C(arp_ignore) and C(arp_announce) of O(interfaces) back to the kernel default 0 live (and
        C(rp_filter) to O(rp_filter) when given) and removes O(persist_file).
    type: str
    choices: [present, absent]
    default: present
  persist_file:
    description: The file under C(/etc/sysctl.d) that holds the values.
    type: path
    default: /etc/sysctl.d/90-lvs-cluster-arp.conf
seealso:
  - module: lvs.cluster.vip_alias
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: ARP settings of a DR real server whose client-facing NIC is eth0
  lvs.cluster.arp_sysctl:
    interfaces: [all, eth0, lo]

- name: A TUN real server also relaxes reverse-path filtering (tunl0 appears once ipip is loaded)
  lvs.cluster.arp_sysctl:
    interfaces: [all, eth0, tunl0]
    rp_filter: 2
    ignore_missing_interfaces: true
"""

RETURN = r"""
changed_keys:
  description: The keys whose live value changed (or, in check mode, would change).
  returned: always
  type: list
  elements: str
  sample: [net.ipv4.conf.all.arp_ignore, net.ipv4.conf.all.arp_announce]
live_values:
  description: The live value of every managed key after the task (V(null) for a missing interface).
  returned: always
  type: dict
  sample: {net.ipv4.conf.all.arp_ignore: 1, net.ipv4.conf.all.arp_announce: 2}
persisted_changed:
  description: Whether O(persist_file) was written or removed (or would be).
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _sysctl
from ansible_collections.lvs.cluster.plugins.module_utils._sysctl import step

# The live keys; the unit tests point it at a fake tree.
PROC_SYS = _sysctl.PROC_SYS
ACCEPTED = {'arp_ignore': (0, 1, 2, 3, 8), 'arp_announce': (0, 1, 2), 'rp_filter': (0, 1, 2)}


def sysctl_key(interface, name):
    """Return the sysctl.conf key; a dot in an interface name (a VLAN) is written as a slash."""
    return 'net.ipv4.conf.%s.%s' % (interface.replace('.', '/'), name)


def wanted_values(module):
    """Return {key: value} after checking every parameter; fail before any write."""
    params = module.params
    names = ['arp_ignore', 'arp_announce'] + (['rp_filter'] if params['rp_filter'] is not None else [])
    for name in names:
        if params[name] not in ACCEPTED[name]:
            module.fail_json(msg='%s: %r is not valid; expected one of %s' % (
                name, params[name], ', '.join(map(str, ACCEPTED[name]))), parameter=name)
    proc_conf = os.path.join(PROC_SYS, 'net', 'ipv4', 'conf')
    with step(module, 'listing the interfaces in %s' % proc_conf):
        existing = sorted(os.listdir(proc_conf))
    for interface in params['interfaces']:
        if interface not in existing and not params['ignore_missing_interfaces']:
            module.fail_json(msg='interfaces: %r is not valid; no such interface here (existing: %s); set '
                                 'ignore_missing_interfaces to persist it before it exists' % (
                                     interface, ', '.join(existing)), parameter='interfaces')
    absent = params['state'] == 'absent'
    return dict((sysctl_key(interface, name), 0 if absent and name != 'rp_filter' else params[name])
                for interface in params['interfaces'] for name in names)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(type='list', elements='str', default=['all', 'lo']),
            arp_ignore=dict(type='int', default=1),
            arp_announce=dict(type='int', default=2),
            rp_filter=dict(type='int'),
            ignore_missing_interfaces=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=True),
            persist_file=dict(type='path', default='/etc/sysctl.d/90-lvs-cluster-arp.conf'),
        ),
        supports_check_mode=True,
    )
    wanted = wanted_values(module)
    result = _sysctl.converge(module, wanted, module.params['persist_file'], persist=module.params['persist'],
                              absent=module.params['state'] == 'absent', header='lvs.cluster.arp_sysctl',
                              root=PROC_SYS)
    result['live_values'] = dict((key, None if value is None else int(value))
                                 for key, value in result['live_values'].items())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
