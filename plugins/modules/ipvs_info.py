#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_info
short_description: Read the live IPVS table
version_added: 0.1.0
description:
  - Returns the kernel's IP Virtual Server table - services, real servers, connection counters, traffic counters
    and rates - as structured data and in C(ipvsadm-save) form, with the connection timeouts and the
    connection-synchronization daemons. Changes nothing.
author:
  - lvs.cluster developers (@lvs-cluster)
extends_documentation_fragment:
  - lvs.cluster.ipvs.backend
  - lvs.cluster.ipvs.action_group
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: This module changes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: This module changes nothing.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
options: {}
notes:
  - "IPVS needs root or C(CAP_NET_ADMIN) on the target; run the task with C(become: true)."
seealso:
  - module: lvs.cluster.ipvs_table
"""

EXAMPLES = r"""
- name: Read the table
  lvs.cluster.ipvs_info:
  register: ipvs

- name: Show the rules as ipvsadm-save prints them
  ansible.builtin.debug:
    msg: "{{ ipvs.rules }}"

- name: Count the active connections of every real server
  ansible.builtin.debug:
    msg: "{{ ipvs.services | map(attribute='realservers') | flatten | map(attribute='active_connections') | sum }}"
"""

RETURN = r"""
backend:
  description: The backend that ran, V(netlink) or V(ipvsadm).
  returned: always
  type: str
  sample: netlink
services:
  description: Every virtual service, sorted, with its real servers.
  returned: always
  type: list
  elements: dict
  contains:
    protocol:
      description: V(tcp), V(udp) or V(sctp); absent for firewall-mark services.
      type: str
    address:
      description: Virtual IP address; absent for firewall-mark services.
      type: str
    port:
      description: Port; absent for firewall-mark services.
      type: int
    fwmark:
      description: Firewall mark, for firewall-mark services.
      type: int
    family:
      description: V(ipv4) or V(ipv6).
      type: str
    scheduler:
      description: Scheduler name.
      type: str
    scheduler_flags:
      description: Scheduler flags such as V(sh-fallback).
      type: list
      elements: str
    persistence_timeout:
      description: Persistence timeout in seconds, V(0) when not persistent.
      type: int
    persistence_netmask:
      description: Persistence granularity when persistent.
      type: str
    one_packet:
      description: One-packet scheduling.
      type: bool
    stats:
      description:
        - Traffic counters (connections, in_packets, out_packets, in_bytes, out_bytes) and rates
          (connections_per_second, in_packets_per_second, out_packets_per_second, in_bytes_per_second,
          out_bytes_per_second).
      type: dict
    realservers:
      description: Real servers with their settings, active/inactive/persistent connection counts and stats.
      type: list
      elements: dict
  sample:
    - protocol: tcp
      address: 192.0.2.10
      port: 80
      family: ipv4
      scheduler: wrr
      scheduler_flags: []
      persistence_timeout: 0
      persistence_netmask: null
      one_packet: false
      stats: {connections: 310, in_packets: 1860, out_packets: 0, in_bytes: 124000, out_bytes: 0}
      realservers:
        - {address: 198.51.100.11, port: 80, forwarding: dr, weight: 1, upper_threshold: 0, lower_threshold: 0,
           active_connections: 0, inactive_connections: 100, persistent_connections: 0}
rules:
  description: The table in C(ipvsadm-save -n) form, thresholds included (C(ipvsadm -R) accepts it).
  returned: always
  type: list
  elements: str
  sample: ["-A -t 192.0.2.10:80 -s wrr", "-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1"]
timeouts:
  description: Connection timeouts in seconds, as C(ipvsadm -L --timeout) shows them.
  returned: always
  type: dict
  sample: {tcp: 900, tcp_fin: 120, udp: 300}
daemons:
  description: Running connection-synchronization daemons.
  returned: always
  type: list
  elements: dict
  sample: [{state: master, interface: eth0, sync_id: 1}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_client import connected, disable_cyclic_gc
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import BACKEND_OPTIONS


def main():
    disable_cyclic_gc()
    module = AnsibleModule(argument_spec=dict(BACKEND_OPTIONS), supports_check_mode=True)
    with connected(module) as backend:
        table = backend.read_table()
        module.exit_json(
            changed=False, backend=backend.name,
            services=[table[key].to_result() for key in sorted(table)],
            rules=rules(table.values()), timeouts=backend.read_timeouts(), daemons=backend.read_daemons(),
        )


if __name__ == '__main__':
    main()
