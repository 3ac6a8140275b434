#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_realserver
short_description: Manage one real server of an IPVS virtual service, as C(ipvsadm -a/-e/-d)
version_added: 0.1.0
description:
  - Adds, edits, drains or removes one destination (real server) of an existing IPVS virtual service.
  - O(state=drained) sets the weight to 0, so new connections go to the other real servers while the existing
    ones finish; the result carries the live connection counts, so a playbook can wait for zero before
    O(state=absent).
  - Every parameter is checked before the kernel is touched; the plan is computed next, and only then written.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.backend
  - lvs.cluster.ipvs.action_group
  - lvs.cluster.ipvs.attributes
options:
  service:
    description: The virtual service, which must exist (see M(lvs.cluster.ipvs_service)).
    type: dict
    required: true
    suboptions:
      protocol:
        description: Protocol of the service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP address of the service. Mutually exclusive with O(service.fwmark).
        type: str
      port:
        description: Port of the service.
        type: int
      fwmark:
        description: Firewall mark of the service. Mutually exclusive with O(service.address).
        type: int
      family:
        description: Address family of a O(service.fwmark) service.
        type: str
        choices: [ipv4, ipv6]
  address:
    description: Address of the real server (IPv4 or IPv6, the family of the service unless O(forwarding=tun)).
    type: str
    required: true
  port:
    description:
      - Port of the real server, 1 to 65535 (0 to 65535 under a firewall-mark service).
      - Defaults to the service port. With O(forwarding=dr) or O(forwarding=tun) the packets arrive on the service
        port unchanged, so any other port is an error.
    type: int
  forwarding:
    description:
      - Forwarding method. V(dr) is direct routing (C(ipvsadm -g)), the real server answers the client itself and
        needs the VIP on a non-ARPing interface (M(lvs.cluster.arp_sysctl), M(lvs.cluster.vip_alias)).
      - V(nat) is masquerading (C(-m)), replies go back through the director.
      - V(tun) is IP-in-IP tunnelling (C(-i)), the real server decapsulates on C(tunl0).
    type: str
    choices: [dr, nat, tun]
    default: dr
  weight:
    description: Weight, 0 to 65535. A weight of 0 takes no new connections. O(state=drained) forces 0.
    type: int
    default: 1
  upper_threshold:
    description: Upper connection threshold (C(ipvsadm -x)); the real server takes no new connections above it.
      V(0) means no limit.
    type: int
    default: 0
  lower_threshold:
    description: Lower connection threshold (C(ipvsadm -y)); below it a real server over its upper threshold takes
      connections again. V(0) means unset. At most O(upper_threshold).
    type: int
    default: 0
  tunnel_type:
    description: Encapsulation with O(forwarding=tun) (C(--tun-type)). Defaults to V(ipip).
    type: str
    choices: [ipip, gue, gre]
  tunnel_port:
    description: Destination UDP port of a V(gue) tunnel (C(--tun-port)); required with O(tunnel_type=gue).
    type: int
  tunnel_checksum:
    description: Checksum of V(gue) and V(gre) tunnels (C(--tun-nocsum), C(--tun-csum), C(--tun-remcsum)).
      Defaults to V(nocsum).
    type: str
    choices: [nocsum, csum, remcsum]
  state:
    description:
      - V(present) adds or edits the real server.
      - V(drained) adds or edits it with weight 0, keeping its connections.
      - V(absent) removes it (its connections are dropped, or expire with C(net.ipv4.vs.expire_nodest_conn)).
    type: str
    choices: [present, drained, absent]
    default: present
notes:
  - "IPVS needs root or C(CAP_NET_ADMIN) on the target; run the task with C(become: true)."
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_table
"""

EXAMPLES = r"""
- name: Add a direct-routing real server with weight 2
  lvs.cluster.ipvs_realserver:
    service: {address: 192.0.2.10, port: 80}
    address: 198.51.100.12
    weight: 2

- name: A NAT real server listening on another port, at most 500 connections
  lvs.cluster.ipvs_realserver:
    service: {protocol: tcp, address: 192.0.2.10, port: 80}
    address: 10.89.1.21
    port: 8080
    forwarding: nat
    upper_threshold: 500
    lower_threshold: 400

- name: A GUE-tunnelled real server
  lvs.cluster.ipvs_realserver:
    service: {address: 192.0.2.10, port: 80}
    address: 198.51.100.13
    forwarding: tun
    tunnel_type: gue
    tunnel_port: 6080
    tunnel_checksum: csum

- name: Drain a real server and wait until its connections are gone
  lvs.cluster.ipvs_realserver:
    service: {address: 192.0.2.10, port: 80}
    address: 198.51.100.12
    state: drained
  register: drain
  until: drain.realserver.active_connections == 0
  retries: 30
  delay: 10

- name: Then remove it
  lvs.cluster.ipvs_realserver:
    service: {address: 192.0.2.10, port: 80}
    address: 198.51.100.12
    state: absent
"""

RETURN = r"""
backend:
  description: The backend that ran, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: ipvsadm
commands:
  description: The changes applied (or, in check mode, planned), as ipvsadm command lines.
  returned: always
  type: list
  elements: str
  sample: ["-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0"]
realserver:
  description:
    - The real server after the task, with its live connection counts; V(null) when absent.
    - In check mode the counts are the live ones (a real server about to be added shows 0).
  returned: always
  type: dict
  sample:
    address: 198.51.100.12
    port: 80
    forwarding: dr
    weight: 0
    upper_threshold: 0
    lower_threshold: 0
    active_connections: 3
    inactive_connections: 12
    persistent_connections: 0
"""

from dataclasses import replace

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_client import run, validated
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    BACKEND_OPTIONS, REALSERVER_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES, checked_options, realserver,
    service_key,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_realservers, plan_service


def main():
    argument_spec = dict(
        REALSERVER_OPTIONS, **BACKEND_OPTIONS,
        # Its suboptions are checked by checked_options below: AnsibleModule's own check of a dict option's
        # suboptions raises TypeError (a traceback, not a failed task) when the value is false or a number.
        service=dict(type='dict', required=True),
        state=dict(type='str', choices=['present', 'drained', 'absent'], default='present'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    key = validated(module, lambda: service_key(
        checked_options(params['service'], SERVICE_KEY_OPTIONS, 'service.', SERVICE_KEY_RULES), 'service.'))
    wanted = validated(module, lambda: realserver(params, key))

    def plan(live):
        service = live.get(key)
        if service is None:
            raise ParameterError('service', key.switches(), 'no such virtual service exists; create it first with '
                                                            'lvs.cluster.ipvs_service')
        if params['state'] == 'absent':
            return plan_service(service, service, manage_realservers=False, absent_realservers=[wanted.key]), [key]
        return plan_realservers(service, replace(service, realservers={wanted.key: wanted}), purge=False), [key]

    def describe(table):
        member = table[key].realservers.get(wanted.key)
        return dict(realserver=member.to_result() if member else None)

    run(module, plan, describe)


if __name__ == '__main__':
    main()
