# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the lvs_virtual_services model on the controller; nothing runs on the host."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import validated_bgp, validated_model


class ActionModule(ActionBase):
    """Fail on the first bad value of the model, naming its path; report the size of a good one."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('services',))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        services = self._task.args.get('services', task_vars.get('lvs_virtual_services'))
        if services is None:
            return dict(result, failed=True, msg='lvs_virtual_services: None is not valid; define the list of services '
                                                 '(see docs/data-model.md) or pass services')
        try:
            checked = validated_model(services, task_vars.get('hostvars', {}), resolve=False)
            if task_vars.get('inventory_hostname') in task_vars.get('groups', {}).get('directors', []):
                validated_bgp(checked, task_vars.get('lvs_bgp'), task_vars['inventory_hostname'], task_vars,
                              resolve=False)
        except AnsibleError as error:
            return dict(result, failed=True, msg=error.message)
        return dict(result, changed=False, msg='%d services and %d real servers are valid' % (
            len(checked), sum(len(item.service.get('realservers', [])) for item in checked)),
            services=len(checked), realservers=sum(len(item.service.get('realservers', [])) for item in checked))
