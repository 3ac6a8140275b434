# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by the lvs.cluster IPVS modules."""

from __future__ import annotations


class ModuleDocFragment:
    """Options and attributes common to the modules that talk to IPVS."""

    BACKEND = r"""
options:
  backend:
    description:
      - How the module talks to the kernel's IP Virtual Server.
      - V(netlink) speaks the IPVS generic-netlink family with Python's standard library alone, with one socket for
        every change.
      - V(ipvsadm) runs the C(ipvsadm) command; a whole plan is applied by one C(ipvsadm -R) process. Choose it to
        have the table written by the tool operators use, or on a kernel whose IPVS has no generic-netlink family
        (older than 2.6.28), where C(ipvsadm) falls back to socket options.
      - V(auto) is V(netlink).
      - Both backends give the same table for the same input; the result's RV(backend) says which one ran.
    type: str
    choices: [auto, netlink, ipvsadm]
    default: auto
requirements:
  - Linux with the C(ip_vs) kernel module (C(modprobe ip_vs)) and the C(ip_vs_<scheduler>) modules in use.
  - The C(ipvsadm) command on the target for O(backend=ipvsadm); O(backend=netlink) needs only Python's standard
    library.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description:
      - Member of the C(lvs.cluster.ipvs) action group (with ipvs_service, ipvs_realserver, ipvs_table and ipvs_info),
        so that C(module_defaults) for C(group/lvs.cluster.ipvs) set its options, such as O(backend), once for all
        of them.
    support: full
    membership:
      - lvs.cluster.ipvs
"""

    SYSCTL = r"""
options:
  persist:
    description: Write the values to O(persist_file), so that C(systemd-sysctl) sets them at boot. V(false) sets them live
      only.
    type: bool
    default: true
notes:
  - Inside a container the C(net.*) keys belong to the container's network namespace; the container must be
    privileged to write them.
  - "Writing the keys and O(persist_file) needs root on the target; run the task with C(become: true). A read or
    write that fails ends the task with one sentence naming the key or file."
"""
