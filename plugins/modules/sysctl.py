#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl
short_description: Several kernel parameters in one task, live and persisted in one file
version_added: 0.1.0
description:
  - Sets each key of O(settings) in the running kernel (under C(/proc/sys)) when its value differs, and writes all of
    them to one file under C(/etc/sysctl.d) so that C(systemd-sysctl) sets them at boot. One task, one module run,
    whatever the number of keys.
  - Reads every key first and fails, before any write, when one does not exist here (for example
    C(net.ipv4.vs.*) before the C(ip_vs) kernel module is loaded).
  - The file is the module's own; it is rewritten whole when its content differs, so a key dropped from
    O(settings) leaves the file (its live value stays until the next boot).
  - Reports exactly which keys changed. The director role sets its IPVS and forwarding keys with it; the ARP keys of
    real servers have their own module, M(lvs.cluster.arp_sysctl), which shares this module's code.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
  - lvs.cluster.ipvs.sysctl
options:
  settings:
    description:
      - The keys in C(sysctl.conf) form (dots between the parts, a slash for a dot inside a name, as in
        C(net.ipv4.conf.eth0/100.rp_filter)) and their values. Values are compared as the kernel prints them, with
        runs of whitespace taken as one space.
    type: dict
    required: true
  state:
    description:
      - V(present) sets the values live and in O(persist_file).
      - V(absent) removes O(persist_file) and leaves the live values alone (the kernel keeps them until the next boot).
    type: str
    choices: [present, absent]
    default: present
  persist_file:
    description: The file under C(/etc/sysctl.d) that holds the values; give each task its own.
    type: path
    required: true
seealso:
  - module: lvs.cluster.arp_sysctl
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: A director's IPVS keys, and forwarding for NAT, in one call
  lvs.cluster.sysctl:
    settings:
      net.ipv4.vs.expire_nodest_conn: 1
      net.ipv4.vs.expire_quiescent_template: 1
      net.ipv4.ip_forward: 1
    persist_file: /etc/sysctl.d/90-lvs-cluster-director.conf

- name: Forget them at the next boot
  lvs.cluster.sysctl:
    settings: {}
    state: absent
    persist_file: /etc/sysctl.d/90-lvs-cluster-director.conf
"""

RETURN = r"""
changed_keys:
  description: The keys whose live value changed (or, in check mode, would change).
  returned: always
  type: list
  elements: str
  sample: [net.ipv4.vs.expire_nodest_conn]
live_values:
  description: The live value of every key of O(settings) after the task, as the kernel prints it.
  returned: always
  type: dict
  sample: {net.ipv4.vs.expire_nodest_conn: "1", net.ipv4.ip_forward: "1"}
persisted_changed:
  description: Whether O(persist_file) was written or removed (or would be).
  returned: always
  type: bool
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import _sysctl
from ansible_collections.lvs.cluster.plugins.module_utils._sysctl import step

# The live keys; the unit tests point it at a fake tree.
PROC_SYS = _sysctl.PROC_SYS
KEY = re.compile(r'^[A-Za-z0-9_-]+(\.[A-Za-z0-9_/:@+-]+)+$')


def wanted_values(module):
    """Return {key: value} after checking every key and value; fail before any write."""
    wanted = {}
    for key, value in module.params['settings'].items():
        parts = key.split('.')
        if not KEY.match(key) or any(part.strip('/') in ('', '..') or '//' in part for part in parts):
            module.fail_json(msg='settings: %r is not valid; expected a key in sysctl.conf form, such as '
                                 'net.ipv4.ip_forward' % key, parameter='settings')
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)) \
                or not _sysctl.normal(value) or '\n' in str(value):
            module.fail_json(msg='settings.%s: %r is not valid; expected a number or a line of text' % (key, value),
                             parameter='settings')
        wanted[key] = _sysctl.normal(value)
    if module.params['state'] == 'present':
        with step(module, 'reading %s' % PROC_SYS):
            missing = [key for key in wanted if not os.path.isfile(_sysctl.key_path(key, PROC_SYS))]
        if missing:
            module.fail_json(msg='settings: %s %s not exist here (under %s); load the kernel module that provides '
                                 '%s first (net.ipv4.vs.* come with ip_vs)' % (
                                     ', '.join(missing), 'does' if len(missing) == 1 else 'do', PROC_SYS,
                                     'it' if len(missing) == 1 else 'them'), parameter='settings')
    return wanted


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=True),
            persist_file=dict(type='path', required=True),
        ),
        supports_check_mode=True,
    )
    absent = module.params['state'] == 'absent'
    wanted = wanted_values(module)
    result = _sysctl.converge(module, {} if absent else wanted, module.params['persist_file'],
                              persist=module.params['persist'], absent=absent, header='lvs.cluster.sysctl',
                              root=PROC_SYS)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
