#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_service
short_description: Manage one IPVS virtual service, as C(ipvsadm -A/-E/-D)
version_added: 0.1.0
description:
  - Creates, edits or deletes one virtual service of the Linux kernel's IP Virtual Server (IPVS), keyed by
    protocol, address and port, or by firewall mark, for IPv4 and IPv6.
  - Changing the scheduler, its flags or the persistence edits the service in place (C(ipvsadm -E)), so its real
    servers and live connections are kept; the service is never deleted and added again.
  - With O(realservers), one task declares a whole service; with O(purge_realservers) the real servers not listed
    are removed.
  - Every parameter is checked before the kernel is touched; the plan (the difference between the live table and
    the wanted one) is computed next, and only then written. In diff mode the before and after are shown as
    C(ipvsadm-save) lines.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.backend
  - lvs.cluster.ipvs.action_group
  - lvs.cluster.ipvs.attributes
options:
  protocol:
    description: Protocol of the service. Ignored for O(fwmark) services.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  address:
    description:
      - Virtual IP address (IPv4 or IPv6) of the service, as in C(ipvsadm -t ADDRESS:PORT).
      - Mutually exclusive with O(fwmark).
    type: str
  port:
    description: Port of the service, 1 to 65535. Required with O(address).
    type: int
  fwmark:
    description:
      - Firewall mark (1 to 4294967295) that selects the packets of the service, as in C(ipvsadm -f MARK).
      - Mutually exclusive with O(address).
    type: int
  family:
    description:
      - Address family of a O(fwmark) service (C(ipvsadm -6) for V(ipv6)).
      - For an O(address) service the family follows the address; a different value is an error.
    type: str
    choices: [ipv4, ipv6]
  scheduler:
    description:
      - Scheduling algorithm. The kernel offers V(rr), V(wrr), V(lc), V(wlc), V(lblc), V(lblcr), V(dh), V(sh),
        V(sed), V(nq), V(fo), V(ovf), V(mh), and V(twos) on kernels that build it.
      - The kernel module C(ip_vs_<scheduler>) must be loaded or installed; the module checks this first.
    type: str
    default: wlc
  scheduler_flags:
    description:
      - Scheduler flags, as in C(ipvsadm -b). V(sh-fallback) and V(sh-port) need O(scheduler=sh);
        V(mh-fallback) and V(mh-port) need O(scheduler=mh).
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
    default: []
  persistence_timeout:
    description:
      - Persistence timeout in seconds (C(ipvsadm -p)); V(0) means the service is not persistent.
      - At most 2678400 (31 days).
    type: int
    default: 0
  persistence_netmask:
    description:
      - Granularity of persistence (C(ipvsadm -M)) - a netmask such as V(255.255.255.0) or a prefix length for IPv4,
        a prefix length for IPv6. Needs O(persistence_timeout).
      - Defaults to the whole address (/32 or /128).
    type: str
  one_packet:
    description: One-packet scheduling (C(ipvsadm -o)), for UDP services whose every datagram is scheduled alone.
    type: bool
    default: false
  realservers:
    description:
      - Real servers of the service. When given, each one is added or edited to match; when omitted, the real
        servers are left as they are.
      - See M(lvs.cluster.ipvs_realserver) for what each option means.
    type: list
    elements: dict
    suboptions:
      address:
        description: Address of the real server.
        type: str
        required: true
      port:
        description:
          - Port of the real server. Defaults to the service port (V(0) for O(fwmark) services).
          - With O(realservers[].forwarding=dr) or V(tun) it must be the service port.
        type: int
      forwarding:
        description: Forwarding method - V(dr) (direct routing, C(-g)), V(nat) (masquerading, C(-m)), V(tun) (C(-i)).
        type: str
        choices: [dr, nat, tun]
        default: dr
      weight:
        description: Weight, 0 to 65535.
        type: int
        default: 1
      upper_threshold:
        description: Upper connection threshold (C(-x)); V(0) means none.
        type: int
        default: 0
      lower_threshold:
        description: Lower connection threshold (C(-y)); V(0) means none.
        type: int
        default: 0
      tunnel_type:
        description: Tunnel type with O(realservers[].forwarding=tun). Defaults to V(ipip).
        type: str
        choices: [ipip, gue, gre]
      tunnel_port:
        description: Destination port of the GUE tunnel; required with O(realservers[].tunnel_type=gue).
        type: int
      tunnel_checksum:
        description: Checksum of GUE and GRE tunnels. Defaults to V(nocsum).
        type: str
        choices: [nocsum, csum, remcsum]
      state:
        description: V(present), V(drained) (weight 0, connections kept) or V(absent).
        type: str
        choices: [present, drained, absent]
        default: present
  purge_realservers:
    description: Remove the real servers of the service that O(realservers) does not list.
    type: bool
    default: false
  state:
    description: V(present) creates or edits the service; V(absent) deletes it with its real servers.
    type: str
    choices: [present, absent]
    default: present
notes:
  - IPVS tables are per network namespace; inside a container the module manages the container's own table.
  - Deleting a service drops its connections; drain its real servers first (M(lvs.cluster.ipvs_realserver)).
  - All or nothing - if the kernel refuses a change, the changes the task had made are undone, the last first, and
    the services the task names are read back; the failed task reports C(changed=false) only if they are as before,
    and returns C(applied) (the changes it had made) and C(undone) (the changes that undid them).
  - "IPVS needs root or C(CAP_NET_ADMIN) on the target; run the task with C(become: true)."
seealso:
  - module: lvs.cluster.ipvs_realserver
  - module: lvs.cluster.ipvs_table
  - module: lvs.cluster.ipvs_info
  - name: ipvsadm(8)
    description: The manual page of ipvsadm.
    link: https://man7.org/linux/man-pages/man8/ipvsadm.8.html
"""

EXAMPLES = r"""
- name: A web service balanced by weighted round robin over two DR real servers
  lvs.cluster.ipvs_service:
    address: 192.0.2.10
    port: 80
    scheduler: wrr
    realservers:
      - address: 198.51.100.11
        weight: 1
      - address: 198.51.100.12
        weight: 2
    purge_realservers: true

- name: Switch to source hashing with fallback, keeping every real server and connection
  lvs.cluster.ipvs_service:
    address: 192.0.2.10
    port: 80
    scheduler: sh
    scheduler_flags: [sh-fallback, sh-port]

- name: A persistent IPv6 service, clients grouped by /64
  lvs.cluster.ipvs_service:
    address: "2001:db8::10"
    port: 443
    scheduler: lc
    persistence_timeout: 600
    persistence_netmask: "64"

- name: A firewall-mark service (packets marked 7 by nftables or iptables)
  lvs.cluster.ipvs_service:
    fwmark: 7
    scheduler: rr

- name: Remove the service
  lvs.cluster.ipvs_service:
    address: 192.0.2.10
    port: 80
    state: absent
"""

RETURN = r"""
backend:
  description: The backend that ran, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: netlink
commands:
  description: The changes applied (or, in check mode, planned), as ipvsadm command lines.
  returned: always
  type: list
  elements: str
  sample: ["-E -t 192.0.2.10:80 -s sh -b sh-fallback,sh-port"]
service:
  description: The service after the task (its configuration, counters and real servers); V(null) when absent.
  returned: always
  type: dict
  sample:
    protocol: tcp
    address: 192.0.2.10
    port: 80
    family: ipv4
    scheduler: wrr
    scheduler_flags: []
    persistence_timeout: 0
    persistence_netmask: null
    one_packet: false
    realservers:
      - address: 198.51.100.11
        port: 80
        forwarding: dr
        weight: 1
        upper_threshold: 0
        lower_threshold: 0
        active_connections: 0
        inactive_connections: 0
        persistent_connections: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_client import run, validated
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    BACKEND_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES, SERVICE_SETTINGS_OPTIONS, realservers_option,
    service_with_realservers,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_service


def main():
    argument_spec = dict(
        SERVICE_KEY_OPTIONS, **SERVICE_SETTINGS_OPTIONS, **BACKEND_OPTIONS,
        realservers=realservers_option(['present', 'drained', 'absent']),
        purge_realservers=dict(type='bool', default=False),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **SERVICE_KEY_RULES)
    params = module.params
    wanted, absent = validated(module, lambda: service_with_realservers(params))

    def plan(live):
        current = live.get(wanted.key)
        if params['state'] == 'absent':
            return plan_service(current, None), [wanted.key]
        return plan_service(current, wanted, manage_realservers=params['realservers'] is not None,
                            purge_realservers=params['purge_realservers'], absent_realservers=absent), [wanted.key]

    def describe(table):
        service = table.get(wanted.key)
        return dict(service=service.to_result() if service else None)

    run(module, plan, describe)


if __name__ == '__main__':
    main()
