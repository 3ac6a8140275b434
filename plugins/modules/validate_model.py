#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: validate_model
short_description: Check the lvs_virtual_services model on the controller before any host is touched
version_added: 0.1.0
description:
  - Checks every value of every service of the C(lvs_virtual_services) model (see docs/data-model.md) with the
    checks the IPVS modules run on the host (ports, weights, thresholds, schedulers and their flags, persistence,
    forwarding and tunnels, protocols and firewall marks, address syntax and families, the kernel's own rules)
    and the model's own keys, for the services of the director role and of keepalived alike.
  - Runs on the controller only; it does not connect to the host, so it can run before facts are gathered, as the
    first play of C(playbooks/site.yml) does.
  - "The first bad value fails the task with its path in the model, for example
    C(lvs_virtual_services[3].realservers[1].weight: 70000 is not valid; expected an integer from 0 to 65535)."
  - On a host of the C(directors) group, also checks C(lvs_bgp) (the upstream routers of the services with
    C(announce=bgp)) and the host's C(lvs_bgp_asn) and C(lvs_bgp_router_id).
  - Real servers named by an inventory host whose address is not known yet (before facts are gathered) are checked
    as an IPv4 address; the roles check the model again with the gathered addresses.
extends_documentation_fragment:
  - lvs.cluster.controller
author:
  - lvs.cluster developers (@lvs-cluster)
options:
  services:
    description: The model to check. Defaults to the host's C(lvs_virtual_services).
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Check the model on the controller, before facts are gathered
  hosts: directors:realservers
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Check every service and real server of lvs_virtual_services
      lvs.cluster.validate_model:
"""

RETURN = r"""
services:
  description: The number of services checked.
  returned: success
  type: int
  sample: 3
realservers:
  description: The number of real servers checked, over all services.
  returned: success
  type: int
  sample: 8
"""
