#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: teardown
short_description: Stop and disable systemd units and remove files and directories, in one task
version_added: 0.1.0
description:
  - Stops each unit of O(units) that is running and disables each one that is enabled, removes each path of
    O(paths) (a file, a symbolic link, or a directory with everything in it), then reloads systemd when a unit file
    under C(/etc/systemd/system) went. One task, one module run, with one C(systemctl show) for all the units,
    whatever their number.
  - A unit or a path that is not there is already gone, not an error, so a second run changes nothing.
  - The roles end their teardown (C(state=absent)) with it, listing the units and files they install.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
options:
  units:
    description:
      - The systemd service units, such as V(lvs-cluster-ipvs.service) or V(keepalived.service); a name without
        the suffix, such as V(keepalived), is that name's C(.service), as for C(systemctl).
    type: list
    elements: str
    default: []
  paths:
    description:
      - The files, links and directories to remove, as absolute paths. A directory goes with everything in it.
      - Removing a unit's file does not stop the unit; list the unit in O(units) too.
    type: list
    elements: path
    default: []
notes:
  - "Needs root on the target for anything under C(/etc); run the task with C(become: true)."
  - Needs systemd (C(systemctl)) on the target when O(units) is not empty.
seealso:
  - module: ansible.builtin.systemd_service
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: The restore units of the director role, its saved table and its sysctl file
  lvs.cluster.teardown:
    units: [lvs-cluster-ipvs.service, lvs-cluster-addresses.service]
    paths:
      - /etc/lvs-cluster
      - /etc/systemd/system/lvs-cluster-ipvs.service
      - /etc/systemd/system/lvs-cluster-addresses.service
      - /etc/sysctl.d/90-lvs-cluster-director.conf
"""

RETURN = r"""
stopped:
  description: The units that were running and were stopped (or, in check mode, would be).
  returned: always
  type: list
  elements: str
  sample: [keepalived.service]
disabled:
  description: The units that were enabled and were disabled (or would be).
  returned: always
  type: list
  elements: str
  sample: [keepalived.service, lvs-cluster-ipvs.service]
removed:
  description: The paths that existed and were removed (or would be).
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/lvs-cluster-ipvs.service]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._persist import remove_units_and_paths, valid_unit_name

# A name that ends in one of systemd's unit types is not given .service.
UNIT_SUFFIX = re.compile(r'\.(service|socket|timer|path|mount|automount|swap|target|slice|scope|device)$')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type='list', elements='str', default=[]),
            paths=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    module.params['units'] = [name if UNIT_SUFFIX.search(name) or '/' in name else name + '.service'
                              for name in module.params['units']]
    for option, valid, expected in (('units', valid_unit_name, 'a service unit name such as keepalived.service'),
                                    ('paths', lambda path: os.path.isabs(path) and path.rstrip('/') != '',
                                     'an absolute path other than /')):
        for index, value in enumerate(module.params[option]):
            if not valid(value):
                module.fail_json(msg='%s[%d]: %r is not valid; expected %s' % (option, index, value, expected),
                                 parameter='%s[%d]' % (option, index))
    stopped, disabled, removed = remove_units_and_paths(module, module.params['units'], module.params['paths'])
    result = dict(changed=bool(stopped or disabled or removed), stopped=stopped, disabled=disabled, removed=removed)
    if module._diff:
        result['diff'] = {'before_header': 'units and paths', 'after_header': 'units and paths',
                          'before': ''.join('%s (%s)\n' % (name, ', '.join(
                              (['running'] if name in stopped else []) + (['enabled'] if name in disabled else [])))
                              for name in module.params['units'] if name in stopped or name in disabled)
                          + ''.join('%s\n' % path for path in removed),
                          'after': ''}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
