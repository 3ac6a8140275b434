#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_modules
short_description: Kernel modules loaded now and at boot, in one task
version_added: 0.1.0
description:
  - Loads each module of O(names) that is not loaded (no C(/sys/module/NAME)) with C(modprobe), and lists them all in
    one file under C(/etc/modules-load.d) so that C(systemd-modules-load) loads them at boot. One task, one module
    run, whatever the number of modules.
  - A module that is loaded already, or built into the kernel, is left alone and C(modprobe) is not run, so the task
    also works inside a container that shares a host kernel which has the module.
  - The file is the module's own; it is rewritten whole when its content differs.
  - The realserver role loads C(ipip) with it for TUN services (C(tunl0) comes with C(ipip)).
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.attributes
options:
  names:
    description: The kernel modules, such as V(ipip) or V(ip_vs).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) loads the modules and writes O(persist_file).
      - V(absent) removes O(persist_file) and leaves the loaded modules alone (unloading one in use would break
        what uses it).
    type: str
    choices: [present, absent]
    default: present
  persist:
    description: Write the modules to O(persist_file). V(false) loads them now only.
    type: bool
    default: true
  persist_file:
    description: The file under C(/etc/modules-load.d) that lists the modules; give each task its own.
    type: path
    required: true
notes:
  - "Loading a module and writing O(persist_file) need root on the target; run the task with C(become: true)."
seealso:
  - module: community.general.modprobe
"""

EXAMPLES = r"""
- name: TUN - ipip now and at boot (tunl0 comes with it)
  lvs.cluster.kernel_modules:
    names: [ipip]
    persist_file: /etc/modules-load.d/lvs-cluster-ipip.conf
"""

RETURN = r"""
loaded:
  description: The modules the task loaded (or, in check mode, would load).
  returned: always
  type: list
  elements: str
  sample: [ipip]
persisted_changed:
  description: Whether O(persist_file) was written or removed (or would be).
  returned: always
  type: bool
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    file_diff, read_text, remove_if_present, write_if_changed,
)
from ansible_collections.lvs.cluster.plugins.module_utils._sysctl import step

# The loaded modules; the unit tests point it at a fake tree.
SYS_MODULE = '/sys/module'
NAME = re.compile(r'^[A-Za-z0-9_-]+$')


def loaded(name):
    """Return whether the kernel has the module (loaded, or built in with parameters): /sys/module/NAME, - as _."""
    return os.path.isdir(os.path.join(SYS_MODULE, name.replace('-', '_')))


def modprobe(module, name):
    """Load the module; return (rc, stderr). The one place the module runs a command."""
    rc, _out, err = module.run_command([module.get_bin_path('modprobe', required=True), name],
                                       environ_update={'LANG': 'C', 'LC_ALL': 'C'})
    return rc, err


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=True),
            persist_file=dict(type='path', required=True),
        ),
        supports_check_mode=True,
    )
    names = module.params['names']
    for index, name in enumerate(names):
        if not NAME.match(name):
            module.fail_json(msg='names[%d]: %r is not valid; expected a kernel module name such as ipip' % (index, name),
                             parameter='names[%d]' % index)
    present = module.params['state'] == 'present'
    missing = [name for name in names if present and not loaded(name)]
    done = []
    if not module.check_mode:
        for name in missing:
            rc, err = modprobe(module, name)
            if rc != 0:
                module.fail_json(msg='modprobe %s failed (rc %d): %s%s' % (
                    name, rc, err.strip(), '; run the task with become: true' if 'ermission' in err else ''),
                    changed=bool(done), loaded=done)
            done.append(name)

    path = module.params['persist_file']
    with step(module, 'reading %s' % path, changed=bool(missing), loaded=missing):
        before = after = read_text(path)
    persisted = False
    if not present:
        after = None
        with step(module, 'removing %s' % path, changed=False, loaded=[]):
            persisted = remove_if_present(module, path)
    elif module.params['persist']:
        after = '# Managed by lvs.cluster.kernel_modules\n' + ''.join('%s\n' % name for name in names)
        with step(module, 'writing %s' % path, changed=bool(missing), loaded=missing):
            persisted = write_if_changed(module, path, after)
    result = dict(changed=bool(missing) or persisted, loaded=missing, persisted_changed=persisted)
    if module._diff:
        result['diff'] = [{'before_header': 'loaded', 'after_header': 'loaded',
                           'before': ''.join('%s\n' % name for name in names if name not in missing),
                           'after': ''.join('%s\n' % name for name in names if present or name not in missing)},
                          file_diff(path, before, after)]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
