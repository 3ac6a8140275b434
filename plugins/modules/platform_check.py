#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: platform_check
short_description: Check the host's platform against a role's tested platforms, on the controller
version_added: 0.1.0
description:
  - The first task of the roles of this collection. It compares the gathered facts (C(distribution),
    C(distribution_release), C(os_family)) with the platforms the role is tested on, and runs on the controller
    only, so it costs no round trip to the host.
  - On a tested platform it passes quietly.
  - Elsewhere, when one of O(names) is null (the role knows no name for the host's OS family and the user set none),
    it fails with one sentence naming the tested platforms and the variables to set, before the role changes
    anything.
  - When every name is set (by the role for the host's OS family, or by the user), it passes with one warning that
    the platform is untested, naming the values the role runs with.
extends_documentation_fragment:
  - lvs.cluster.controller
author:
  - lvs.cluster developers (@lvs-cluster)
options:
  names:
    description:
      - The variables that hold the role's package and service names, each with its value; null where the role has
        no name for the host's OS family and the user set none.
    type: dict
    default: {}
  platforms:
    description:
      - The tested platforms, as C(galaxy_info.platforms) of a role's C(meta/main.yml) lists them (C(name) of the
        distribution, C(versions) its releases' code names, or C(all)).
      - Defaults to the platforms of the role the task runs in; required outside a role.
    type: list
    elements: dict
notes:
  - Needs gathered facts (the C(min) subset is enough).
"""

EXAMPLES = r"""
- name: The platform is tested, or the package and service names are set for it
  lvs.cluster.platform_check:
    names:
      httpd_backend_packages: "{{ httpd_backend_packages }}"
      httpd_backend_service: "{{ httpd_backend_service }}"

- name: Outside a role, with the platforms given
  lvs.cluster.platform_check:
    platforms:
      - {name: Debian, versions: [bookworm]}
"""

RETURN = r"""
tested:
  description: Whether the host's distribution and release are among the tested platforms.
  returned: when the facts were gathered and the arguments are valid
  type: bool
  sample: false
"""
