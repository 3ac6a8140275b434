#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: default_route
short_description: The default route through one gateway, now and at boot, in one task
version_added: 0.1.0
description:
  - Reads the default route of the gateway's address family (C(ip route show default)) and, unless the route the
    kernel uses (the first one listed) goes through O(gateway), replaces it (C(ip route replace default via
    GATEWAY)).
  - With O(restore_unit), installs and enables a systemd unit that sets the same route at boot, after the host's own
    network configuration (C(network-online.target)), in the same run.
  - The realserver role points the default route of NAT real servers at the director with it, so that replies go
    back through the director.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
options:
  gateway:
    description:
      - The gateway's IPv4 or IPv6 address, such as V(10.89.1.10) (for a NAT real server, the director's inside
        address). Required with O(state=present).
    type: str
  interface:
    description: The interface towards O(gateway); needed for an IPv6 link-local gateway, such as V(fe80::1).
    type: str
  state:
    description:
      - V(present) sets the route now and, with O(restore_unit), at boot.
      - V(absent) stops, disables and removes O(restore_unit) and leaves the live route alone (removing it would cut
        the host off; at the next boot the host's own network configuration sets its gateway).
    type: str
    choices: [present, absent]
    default: present
  restore_unit:
    description:
      - The name of the systemd unit under C(/etc/systemd/system) that sets the route at boot, such as
        V(lvs-cluster-nat-route.service); unset, the route is set live only. Required with O(state=absent).
    type: str
notes:
  - "Changing the route and writing the unit need root on the target; run the task with C(become: true)."
  - Needs C(ip) (iproute2) on the target, and systemd with O(restore_unit).
seealso:
  - module: lvs.cluster.vip_alias
"""

EXAMPLES = r"""
- name: NAT - replies go back through the director, now and at boot
  lvs.cluster.default_route:
    gateway: 10.89.1.10
    restore_unit: lvs-cluster-nat-route.service

- name: Forget it at the next boot
  lvs.cluster.default_route:
    state: absent
    restore_unit: lvs-cluster-nat-route.service
"""

RETURN = r"""
gateway_before:
  description: The gateway of the default route the kernel used before the task, or null when there was none.
  returned: when O(state=present)
  type: str
  sample: 10.89.1.1
route_changed:
  description: Whether the live default route was replaced (or, in check mode, would be).
  returned: when O(state=present)
  type: bool
restore_unit_changed:
  description: Whether the unit of O(restore_unit) was written, enabled or removed (or would be).
  returned: when O(restore_unit) is set
  type: bool
"""

import ipaddress
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    install_unit, oneshot_unit, remove_units_and_paths, unit_path, valid_unit_name,
)

INTERFACE = re.compile(r'^[^\s/:]{1,15}$')


def ip_route(module, *args):
    """Run `ip -4|-6 route ARGS` in the C locale; return (rc, stdout, stderr). The one place the module runs ip."""
    return module.run_command([module.get_bin_path('ip', required=True)] + list(args),
                              environ_update={'LANG': 'C', 'LC_ALL': 'C'})


def current_gateway(module, family):
    """Return (gateway address of the default route the kernel uses or None, that route's line or None)."""
    rc, out, err = ip_route(module, family, 'route', 'show', 'default')
    if rc != 0:
        module.fail_json(msg='ip %s route show default failed (rc %d): %s' % (family, rc, err.strip()))
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ['default'] and 'via' in words[:-1]:
            return ipaddress.ip_address(words[words.index('via') + 1].split('%')[0]), line.strip()
        if words[:1] == ['default']:
            return None, line.strip()
    return None, None


def checked_gateway(module):
    """The gateway as an ipaddress address, after checking it and the interface; fail naming the option otherwise."""
    gateway, interface = module.params['gateway'], module.params['interface']
    try:
        address = ipaddress.ip_address(gateway)
    except ValueError:
        module.fail_json(msg='gateway: %r is not valid; expected an IPv4 or IPv6 address such as 10.89.1.10'
                             % gateway, parameter='gateway')
    if interface is not None and not INTERFACE.match(interface):
        module.fail_json(msg='interface: %r is not valid; expected an interface name such as eth1' % interface,
                         parameter='interface')
    if address.version == 6 and address.is_link_local and interface is None:
        module.fail_json(msg='interface: a link-local gateway (%s) needs the interface towards it; set interface, '
                             'such as eth1' % gateway, parameter='interface')
    return address


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gateway=dict(type='str'),
            interface=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            restore_unit=dict(type='str'),
        ),
        required_if=[('state', 'present', ['gateway']), ('state', 'absent', ['restore_unit'])],
        supports_check_mode=True,
    )
    unit = module.params['restore_unit']
    if unit is not None and not valid_unit_name(unit):
        module.fail_json(msg='restore_unit: %r is not valid; expected a unit name such as '
                             'lvs-cluster-nat-route.service' % unit, parameter='restore_unit')
    if module.params['state'] == 'absent':
        path = unit_path(unit)
        stopped, disabled, removed = remove_units_and_paths(module, [unit], [path])
        changed = bool(stopped or disabled or removed)
        result = dict(changed=changed, restore_unit_changed=changed)
        if module._diff:
            result['diff'] = {'before_header': path, 'after_header': path,
                              'before': 'installed\n' if changed else '', 'after': ''}
        module.exit_json(**result)

    gateway = checked_gateway(module)
    family = '-%d' % gateway.version
    via = ['via', str(gateway)] + (['dev', module.params['interface']] if module.params['interface'] else [])
    replace = [family, 'route', 'replace', 'default'] + via  # now, and by the restore unit at boot
    before, line = current_gateway(module, family)
    route_changed = before != gateway
    if route_changed and not module.check_mode:
        rc, _out, err = ip_route(module, *replace)
        if rc != 0:
            module.fail_json(msg='ip %s route replace default %s failed (rc %d): %s%s' % (
                family, ' '.join(via), rc, err.strip(),
                '; run the task with become: true' if 'not permitted' in err else ''))
    result = dict(gateway_before=str(before) if before else None, route_changed=route_changed)
    diffs = [{'before_header': 'default route', 'after_header': 'default route',
              'before': line + '\n' if line else '', 'after': ' '.join(['default'] + via) + '\n'}]
    if unit is not None:
        result['restore_unit_changed'], unit_diffs = install_unit(module, unit, oneshot_unit(
            'lvs.cluster.default_route (restore_unit)', 'lvs-cluster: default route via %s' % gateway,
            ' '.join([module.get_bin_path('ip', required=True)] + replace),
            ['Wants=network-online.target', 'After=network-online.target']), changed=route_changed)
        diffs += unit_diffs
    result['changed'] = route_changed or result.get('restore_unit_changed', False)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
