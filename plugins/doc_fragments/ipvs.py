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
      - V(netlink) speaks the IPVS generic-netlink family through the Python library C(pyroute2) (0.6 or newer,
        Debian 12's C(python3-pyroute2) is enough), with one socket for every change.
      - V(ipvsadm) runs the C(ipvsadm) command; a whole plan is applied by one C(ipvsadm -R) process.
      - V(auto) picks V(netlink) when C(pyroute2) imports on the target and V(ipvsadm) otherwise.
      - Both backends give the same table for the same input; the result's RV(backend) says which one ran.
    type: str
    choices: [auto, netlink, ipvsadm]
    default: auto
requirements:
  - Linux with the C(ip_vs) kernel module (C(modprobe ip_vs)) and the C(ip_vs_<scheduler>) modules in use.
  - C(pyroute2) >= 0.6 on the target for O(backend=netlink), or the C(ipvsadm) command for O(backend=ipvsadm).
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
