#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_table
short_description: Declare the whole IPVS table in one call
version_added: 0.1.0
description:
  - Takes every wanted virtual service with its real servers, reads the live table in one dump, computes the
    difference and applies only that. One call costs the same Ansible overhead whatever the table's size.
  - The netlink backend sends every change over one socket; the ipvsadm backend applies the whole plan with one
    C(ipvsadm -R) process.
  - Services are edited in place (C(ipvsadm -E)) when only their scheduling settings change, so their real servers
    and connections are kept.
  - With O(purge), services and real servers that are not declared are deleted; without it they are left alone.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.backend
  - lvs.cluster.ipvs.action_group
  - lvs.cluster.ipvs.attributes
options:
  services:
    description:
      - The wanted virtual services. Each takes the options of M(lvs.cluster.ipvs_service) (O(services[].realservers)
        included) and a O(services[].state).
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: Protocol of the service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP address. Mutually exclusive with O(services[].fwmark).
        type: str
      port:
        description: Port of the service.
        type: int
      fwmark:
        description: Firewall mark of the service. Mutually exclusive with O(services[].address).
        type: int
      family:
        description: Address family of a firewall-mark service.
        type: str
        choices: [ipv4, ipv6]
      scheduler:
        description: Scheduling algorithm, see M(lvs.cluster.ipvs_service).
        type: str
        default: wlc
      scheduler_flags:
        description: Scheduler flags (C(ipvsadm -b)).
        type: list
        elements: str
        choices: [sh-fallback, sh-port, mh-fallback, mh-port]
        default: []
      persistence_timeout:
        description: Persistence timeout in seconds; V(0) means not persistent.
        type: int
        default: 0
      persistence_netmask:
        description: Granularity of persistence, a netmask or prefix length.
        type: str
      one_packet:
        description: One-packet scheduling.
        type: bool
        default: false
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      realservers:
        description: Real servers of the service, see M(lvs.cluster.ipvs_realserver).
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: Address of the real server.
            type: str
            required: true
          port:
            description: Port of the real server; defaults to the service port.
            type: int
          forwarding:
            description: Forwarding method.
            type: str
            choices: [dr, nat, tun]
            default: dr
          weight:
            description: Weight, 0 to 65535.
            type: int
            default: 1
          upper_threshold:
            description: Upper connection threshold; V(0) means none.
            type: int
            default: 0
          lower_threshold:
            description: Lower connection threshold; V(0) means none.
            type: int
            default: 0
          tunnel_type:
            description: Tunnel type with O(services[].realservers[].forwarding=tun).
            type: str
            choices: [ipip, gue, gre]
          tunnel_port:
            description: Port of a GUE tunnel.
            type: int
          tunnel_checksum:
            description: Checksum of GUE and GRE tunnels.
            type: str
            choices: [nocsum, csum, remcsum]
          state:
            description: V(present), V(drained) (weight 0, connections kept) or V(absent).
            type: str
            choices: [present, drained, absent]
            default: present
  purge:
    description: Delete the services, and the real servers of declared services, that O(services) does not list.
    type: bool
    default: false
  exclude:
    description:
      - Services that this task leaves alone because another program owns them, for example keepalived, which does
        not restore entries changed behind its back. O(purge) keeps them, O(save_to) leaves them out, and declaring
        one of them in O(services) is an error.
      - Each names a service by O(exclude[].protocol), O(exclude[].address) and O(exclude[].port), or by
        O(exclude[].fwmark) and O(exclude[].family).
    type: list
    elements: dict
    default: []
    version_added: 0.1.0
    suboptions:
      protocol:
        description: Protocol of the service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP address.
        type: str
      port:
        description: Port of the service.
        type: int
      fwmark:
        description: Firewall mark of the service.
        type: int
      family:
        description: Address family of a firewall-mark service.
        type: str
        choices: [ipv4, ipv6]
  save_to:
    description:
      - Write the table that results, in C(ipvsadm -R) form (thresholds included), to this file, so that it can be
        restored at boot with C(ipvsadm -R < FILE). The file is replaced only when its content changes.
    type: path
  drain_timeout:
    description:
      - Drain before deleting. The real servers that this task deletes (with O(purge), with
        O(services[].realservers[].state=absent) or with their service) are first set to weight 0, so that no new
        connection goes to them, and deleted once they have no active connection, or after this many seconds.
      - V(0) deletes them at once. Check mode plans the same deletions and does not wait.
    type: int
    default: 0
    version_added: 0.1.0
notes:
  - Declared services are checked as a whole before anything is written; a bad item fails the task with its
    path (for example C(services[3].realservers[0].weight)) and the table is left as it was.
  - All or nothing - if the kernel refuses a change, the changes the task had made are undone, the last first, and
    the services the task names are read back; the failed task reports C(changed=false) only if they are as before,
    and returns C(applied) (the changes it had made) and C(undone) (the changes that undid them).
  - "IPVS needs root or C(CAP_NET_ADMIN) on the target; run the task with C(become: true)."
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_realserver
  - module: lvs.cluster.ipvs_info
"""

EXAMPLES = r"""
- name: The whole table of a director, nothing else in it
  lvs.cluster.ipvs_table:
    purge: true
    save_to: /etc/lvs-cluster/ipvs.rules
    services:
      - address: 192.0.2.10
        port: 80
        scheduler: wrr
        realservers:
          - {address: 198.51.100.11, weight: 1}
          - {address: 198.51.100.12, weight: 2}
      - address: 192.0.2.10
        port: 443
        scheduler: wlc
        persistence_timeout: 300
        realservers:
          - {address: 198.51.100.11}
          - {address: 198.51.100.12, state: drained}
"""

RETURN = r"""
backend:
  description: The backend that ran, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: netlink
changes:
  description: The changes applied (or, in check mode, planned), as ipvsadm command lines, in order.
  returned: always
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:80 -s wrr", "-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1"]
table:
  description: The size of the table after the task, O(exclude)d services not counted.
  returned: always
  type: dict
  contains:
    services:
      description: Number of virtual services.
      type: int
      sample: 2284
    realservers:
      description: Number of real servers, over all services.
      type: int
      sample: 37298
saved:
  description: Whether O(save_to) was written (or, in check mode, would be).
  returned: when O(save_to) is set
  type: bool
drained:
  description: The real servers drained before their deletion, in ipvsadm's words.
  returned: when O(drain_timeout) is set and the task deleted real servers
  type: list
  elements: str
  sample: ["-t 192.0.2.10:80 -r 198.51.100.12:80"]
drain_seconds:
  description: How long the task waited for the drained real servers' connections to end.
  returned: when O(drain_timeout) is set and the task deleted real servers
  type: float
  sample: 4.2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_client import disable_cyclic_gc, run, validated
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    BACKEND_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES, TABLE_SERVICE_OPTIONS, checked_options, service_key,
    wanted_table,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_table
from ansible_collections.lvs.cluster.plugins.module_utils._persist import write_if_changed


def main():
    disable_cyclic_gc()
    argument_spec = dict(
        BACKEND_OPTIONS,
        # The items are checked by checked_options below, against TABLE_SERVICE_OPTIONS: the same checks, 10x faster.
        services=dict(type='list', elements='dict', default=[]),
        purge=dict(type='bool', default=False),
        exclude=dict(type='list', elements='dict', default=[], options=SERVICE_KEY_OPTIONS, **SERVICE_KEY_RULES),
        save_to=dict(type='path'),
        drain_timeout=dict(type='int', default=0),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params['drain_timeout'] < 0:
        module.fail_json(msg='drain_timeout: %d is not valid; expected 0 or more seconds' % module.params['drain_timeout'],
                         parameter='drain_timeout')
    excluded = validated(module, lambda: set(service_key(params, 'exclude[%d].' % index)
                                             for index, params in enumerate(module.params['exclude'])))
    services = validated(module, lambda: [
        checked_options(item, TABLE_SERVICE_OPTIONS, 'services[%d].' % index, SERVICE_KEY_RULES)
        for index, item in enumerate(module.params['services'])])
    keep, delete, absent_realservers = validated(module, lambda: wanted_table(services, excluded))

    touched = set()  # the services the changes name: the diff shows only them

    def plan(live):
        managed = dict((key, service) for key, service in live.items() if key not in excluded)
        changes = plan_table(managed, keep, purge=module.params['purge'], absent_services=delete,
                             absent_realservers=absent_realservers)
        touched.update(change.service.key for change in changes)
        return changes, touched

    def describe(table):
        managed = [table[key] for key in sorted(table) if key not in excluded]
        size = dict(services=len(managed), realservers=sum(len(service.realservers) for service in managed))
        result = dict(table=size)
        if module.params['save_to']:
            result['saved'] = result['changed'] = write_if_changed(
                module, module.params['save_to'], '\n'.join(rules(managed)) + '\n')
        return result

    run(module, plan, describe, stats=False, drain_timeout=module.params['drain_timeout'])


if __name__ == '__main__':
    main()
