#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_table
short_description: Manage the IPVS table as one resource (merged, replaced, overridden, deleted, gathered, ...)
version_added: 0.1.0
description:
  - Manages the virtual services and real servers of the kernel's IPVS table as a resource module of
    C(ansible.netcommon) manages a resource, with the same O(state) values, O(config) and O(running_config) options
    and RV(before), RV(after), RV(commands), RV(gathered), RV(rendered) and RV(parsed) results.
  - The states that write (V(merged), V(replaced), V(overridden), V(deleted)) read the live table in one dump,
    compute the difference and apply only that. One call costs the same Ansible overhead whatever the table's size.
  - The netlink backend sends every change over one socket; the ipvsadm backend applies the whole plan with one
    C(ipvsadm -R) process.
  - Services are edited in place (C(ipvsadm -E)) when only their scheduling settings change, so their real servers
    and connections are kept.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.backend
  - lvs.cluster.ipvs.action_group
  - lvs.cluster.ipvs.attributes
options:
  state:
    description:
      - V(merged) adds or updates the services and real servers O(config) lists and touches nothing else.
      - V(replaced) makes each service O(config) lists exactly as given, so its real servers that O(config) does
        not list are removed; the other services are left alone.
      - V(overridden) makes the whole table exactly O(config) - services that O(config) does not list are
        removed, and so are the real servers of listed services that O(config) does not list.
      - V(deleted) removes the services O(config) lists (only what names them counts), or every service when
        O(config) is empty.
      - V(gathered) reads the live table and returns it as RV(gathered), in the form O(config) takes; it changes
        nothing.
      - V(rendered) returns O(config) as the rule lines C(ipvsadm -R) reads (RV(rendered)), without reading or
        writing any table; it needs neither the kernel module nor a backend, and runs anywhere.
      - V(parsed) reads O(running_config), the output of C(ipvsadm-save -n), and returns it as RV(parsed), in the
        form O(config) takes; like V(rendered), it needs no kernel and runs anywhere.
      - Inside O(config), O(config[].state=absent) and O(config[].realservers[].state=absent) remove a service or a
        real server with every writing state.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  config:
    description:
      - The virtual services. Each takes the options of M(lvs.cluster.ipvs_service) (O(config[].realservers)
        included) and a O(config[].state).
      - Not taken by O(state=gathered) and O(state=parsed).
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
        description: Virtual IP address. Mutually exclusive with O(config[].fwmark).
        type: str
      port:
        description: Port of the service.
        type: int
      fwmark:
        description: Firewall mark of the service. Mutually exclusive with O(config[].address).
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
            description: Tunnel type with O(config[].realservers[].forwarding=tun).
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
  running_config:
    description:
      - The output of C(ipvsadm-save -n) (or of C(ipvsadm -S -n)) to read with O(state=parsed), which requires it;
        no other state takes it.
    type: str
  exclude:
    description:
      - Services that this task leaves alone because another program owns them, for example keepalived, which does
        not restore entries changed behind its back. O(state=overridden) and O(state=deleted) keep them,
        O(state=gathered), RV(before), RV(after) and O(save_to) leave them out, and listing one of them in O(config)
        is an error.
      - Each names a service by O(exclude[].protocol), O(exclude[].address) and O(exclude[].port), or by
        O(exclude[].fwmark) and O(exclude[].family).
      - Taken by the states that read the live table - V(merged), V(replaced), V(overridden), V(deleted) and
        V(gathered).
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
      - Taken by the states that write the table - V(merged), V(replaced), V(overridden) and V(deleted).
    type: path
  restore_unit:
    description:
      - With O(save_to), also write the systemd unit of this name under C(/etc/systemd/system) that restores
        O(save_to) at boot (C(ipvsadm -R < FILE), after C(lvs-cluster-addresses.service) and before
        C(keepalived.service)), and enable it, in the same run. The file is rewritten only when its content differs,
        C(systemctl daemon-reload) runs only then, and a unit disabled by hand is enabled again. The role
        C(lvs.cluster.director) gives V(lvs-cluster-ipvs.service).
      - The unit needs C(ipvsadm) on the target at boot. Not set, the module installs no unit.
      - Taken by the states that write the table - V(merged), V(replaced), V(overridden) and V(deleted).
    type: str
    version_added: 0.1.0
  drain_timeout:
    description:
      - Drain before deleting. The real servers that this task deletes (left out with O(state=replaced) or
        O(state=overridden), with O(config[].realservers[].state=absent) or with their service) are first set to
        weight 0, so that no new connection goes to them, and deleted once they have no active connection, or after
        this many seconds.
      - V(0) deletes them at once. Check mode plans the same deletions and does not wait.
      - Taken by the states that write the table - V(merged), V(replaced), V(overridden) and V(deleted).
    type: int
    default: 0
    version_added: 0.1.0
notes:
  - Declared services are checked as a whole before anything is written; a bad item fails the task with its
    path (for example C(config[3].realservers[0].weight)) and the table is left as it was.
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
- name: The whole table of a director, nothing else in it, saved and restored at boot by the unit it installs
  lvs.cluster.ipvs_table:
    state: overridden
    save_to: /etc/lvs-cluster/ipvs.rules
    restore_unit: lvs-cluster-ipvs.service
    config:
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

- name: Add a real server to a service, leave everything else as it is
  lvs.cluster.ipvs_table:
    state: merged
    config:
      - address: 192.0.2.10
        port: 80
        scheduler: wrr
        realservers: [{address: 198.51.100.13, weight: 1}]

- name: Give one service exactly these real servers (the others of that service go), other services untouched
  lvs.cluster.ipvs_table:
    state: replaced
    drain_timeout: 30
    config:
      - address: 192.0.2.10
        port: 443
        persistence_timeout: 300
        realservers: [{address: 198.51.100.11}]

- name: Remove one service
  lvs.cluster.ipvs_table:
    state: deleted
    config:
      - {address: 192.0.2.10, port: 443}

- name: Read the live table in the form config takes
  lvs.cluster.ipvs_table:
    state: gathered
  register: ipvs

- name: A restore file for ipvsadm -R, rendered on the controller without any kernel
  lvs.cluster.ipvs_table:
    state: rendered
    config: "{{ ipvs.gathered }}"
  delegate_to: localhost
  register: ipvs_rules

- name: The structured form of a saved table
  lvs.cluster.ipvs_table:
    state: parsed
    running_config: "{{ lookup('ansible.builtin.file', 'ipvs.rules') }}"
  delegate_to: localhost
"""

RETURN = r"""
backend:
  description: The backend that ran, V(netlink) or V(ipvsadm).
  returned: when the live table is read (every state but V(rendered) and V(parsed))
  type: str
  sample: netlink
commands:
  description:
    - The changes applied (or, in check mode, planned), as C(ipvsadm) command lines, in order.
    - Empty for O(state=gathered), which changes nothing.
  returned: when the live table is read (every state but V(rendered) and V(parsed))
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:80 -s wrr", "-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1"]
before:
  description:
    - The table before the task, O(exclude)d services left out, in the form O(config) takes.
    - Above 1000 entries (services plus real servers), the counts of services and real servers instead of the list,
      which would be too large to carry and show.
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: raw
  sample: [{address: 192.0.2.10, port: 80, protocol: tcp, family: ipv4, scheduler: wrr, scheduler_flags: [],
            persistence_timeout: 0, persistence_netmask: null, one_packet: false,
            realservers: [{address: 198.51.100.11, port: 80, forwarding: dr, weight: 1, upper_threshold: 0,
                           lower_threshold: 0}]}]
after:
  description:
    - The table after the task (in check mode, the table the task would leave), in the form of RV(before); above
      1000 entries, the counts.
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: raw
  sample: {services: 2284, realservers: 37298}
gathered:
  description: The live table, O(exclude)d services left out, in the form O(config) takes.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description:
    - O(config) as C(ipvsadm -R) rule lines, the services and real servers with O(config[].state=absent) and
      O(config[].realservers[].state=absent) left out. Joined with newlines, the lines are a file that
      C(ipvsadm -R < FILE) restores.
  returned: when O(state=rendered)
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:80 -s wrr", "-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1"]
parsed:
  description: O(running_config) in the form O(config) takes.
  returned: when O(state=parsed)
  type: list
  elements: dict
saved:
  description: Whether O(save_to) was written (or, in check mode, would be).
  returned: when O(save_to) is set
  type: bool
restore_unit_changed:
  description: Whether the unit of O(restore_unit) was written or enabled (or, in check mode, would be).
  returned: when O(restore_unit) is set
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
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_ipvsadm import parse_rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    BACKEND_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES, TABLE_SERVICE_OPTIONS, checked_options, service_key,
    wanted_table,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_table
from ansible_collections.lvs.cluster.plugins.module_utils._persist import (
    install_unit, oneshot_unit, valid_unit_name, write_if_changed,
)

WRITING_STATES = ('merged', 'replaced', 'overridden', 'deleted')
# What each state does with the services and real servers the live table has and config does not list.
PURGES = {  # state: (purge_services, purge_realservers)
    'merged': (False, False), 'replaced': (False, True), 'overridden': (True, True),
}
# The options that only some states take, with the value that means "not given".
STATE_OPTIONS = {
    'config': ([], WRITING_STATES + ('rendered',)),
    'exclude': ([], WRITING_STATES + ('gathered',)),
    'save_to': (None, WRITING_STATES),
    'restore_unit': (None, WRITING_STATES),
    'drain_timeout': (0, WRITING_STATES),
    'running_config': (None, ('parsed',)),
}
# Up to this many entries (services plus real servers), before and after list the table; above, they count it.
LISTED_ENTRIES = 1000


def restore_unit(save_to):
    """Return the boot unit of restore_unit: save_to back into the kernel before keepalived starts."""
    return oneshot_unit('lvs.cluster.ipvs_table (restore_unit)', 'Restore the IPVS table saved by lvs.cluster.ipvs_table',
                        "/bin/sh -c 'ipvsadm -R < %s'" % save_to,
                        ['After=network-pre.target lvs-cluster-addresses.service', 'Before=keepalived.service',
                         'ConditionPathExists=%s' % save_to])


def check_state_options(module):
    """Fail, naming the option, when an option is given with a state that does not take it."""
    state = module.params['state']
    for name, (unset, states) in STATE_OPTIONS.items():
        value = module.params[name]
        if value != unset and state not in states:
            if isinstance(value, list):
                shown = 'a list of %d services' % len(value)
            elif name == 'running_config':
                shown = 'a text of %d lines' % len(value.splitlines())
            else:
                shown = repr(value)
            module.fail_json(msg='%s: %s is not valid with state %s, which does not take it; expected it only with '
                                 'state %s' % (name, shown, state, ' or '.join(states)), parameter=name)
    unit = module.params['restore_unit']
    if unit is not None and (module.params['save_to'] is None or not valid_unit_name(unit)):
        module.fail_json(msg='restore_unit: %r is not valid; expected a unit name such as lvs-cluster-ipvs.service, '
                             'with save_to (the file it restores)' % unit, parameter='restore_unit')
    if module.params['drain_timeout'] < 0:
        module.fail_json(msg='drain_timeout: %d is not valid; expected 0 or more seconds' % module.params['drain_timeout'],
                         parameter='drain_timeout')


def listed(services):
    """Return services (VirtualService objects) in the form config takes, or their counts above LISTED_ENTRIES."""
    realservers = sum(len(service.realservers) for service in services)
    if len(services) + realservers > LISTED_ENTRIES:
        return dict(services=len(services), realservers=realservers)
    return [service.to_config() for service in services]


def parsed(module):
    """Exit with running_config in the form config takes."""
    try:
        table = parse_rules(module.params['running_config'])
    except IPVSError as error:
        module.fail_json(msg='running_config: %s; expected the output of ipvsadm-save -n' % error,
                         parameter='running_config')
    module.exit_json(changed=False, parsed=[table[key].to_config() for key in sorted(table)])


def main():
    disable_cyclic_gc()
    argument_spec = dict(
        BACKEND_OPTIONS,
        state=dict(type='str', default='merged',
                   choices=['merged', 'replaced', 'overridden', 'deleted', 'gathered', 'rendered', 'parsed']),
        # The items are checked by checked_options below, against TABLE_SERVICE_OPTIONS: the same checks, 10x faster.
        config=dict(type='list', elements='dict', default=[]),
        running_config=dict(type='str'),
        exclude=dict(type='list', elements='dict', default=[], options=SERVICE_KEY_OPTIONS, **SERVICE_KEY_RULES),
        save_to=dict(type='path'),
        restore_unit=dict(type='str'),
        drain_timeout=dict(type='int', default=0),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_if=[('state', 'parsed', ['running_config'])],
                           supports_check_mode=True)
    check_state_options(module)
    state = module.params['state']
    if state == 'parsed':
        parsed(module)
    excluded = validated(module, lambda: set(service_key(params, 'exclude[%d].' % index)
                                             for index, params in enumerate(module.params['exclude'])))
    services = validated(module, lambda: [
        checked_options(item, TABLE_SERVICE_OPTIONS, 'config[%d].' % index, SERVICE_KEY_RULES)
        for index, item in enumerate(module.params['config'])])
    keep, delete, absent_realservers = validated(module, lambda: wanted_table(services, excluded, where='config'))
    if state == 'rendered':
        module.exit_json(changed=False, rendered=rules(keep))

    def managed(table):
        return [table[key] for key in sorted(table) if key not in excluded]

    if state == 'gathered':
        run(module, lambda live: ([], set()),
            lambda table: dict(gathered=[service.to_config() for service in managed(table)]), stats=False)
    live_services = []  # the live table's services that plan() saw, for before
    touched = set()  # the services the changes name: the diff shows only them

    def plan(live):
        current = dict((key, service) for key, service in live.items() if key not in excluded)
        live_services.extend(managed(current))
        if state == 'deleted':
            named = set(service.key for service in keep).union(delete) if services else set(current)
            changes = plan_table(current, [], absent_services=named)
        else:
            purge_services, purge_realservers = PURGES[state]
            changes = plan_table(current, keep, purge_services=purge_services, purge_realservers=purge_realservers,
                                 absent_services=delete, absent_realservers=absent_realservers)
        touched.update(change.service.key for change in changes)
        return changes, touched

    def describe(table):
        after = managed(table)
        result = dict(before=listed(live_services), after=listed(after))
        if module.params['save_to']:
            result['saved'] = result['changed'] = write_if_changed(
                module, module.params['save_to'], '\n'.join(rules(after)) + '\n')
        if module.params['restore_unit']:
            result['restore_unit_changed'], _diffs = install_unit(
                module, module.params['restore_unit'], restore_unit(module.params['save_to']))
            result['changed'] = result['changed'] or result['restore_unit_changed']
        return result

    run(module, plan, describe, stats=False, drain_timeout=module.params['drain_timeout'])


if __name__ == '__main__':
    main()
