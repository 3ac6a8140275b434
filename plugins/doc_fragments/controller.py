# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by the lvs.cluster checks that run on the controller only."""

from __future__ import annotations


class ModuleDocFragment:
    """Attributes of an action plugin that checks the host's variables on the controller and changes nothing."""

    DOCUMENTATION = r"""
attributes:
  action:
    description: Runs as an action plugin on the controller.
    support: full
  async:
    description: Cannot run asynchronously.
    support: none
  bypass_host_loop:
    description: Runs for each host of the play, with that host's variables.
    support: none
  check_mode:
    description: Changes nothing in any mode; check mode checks the same.
    support: full
  diff_mode:
    description: Has nothing to show a diff of.
    support: none
  platform:
    description: Runs on the controller, whatever the hosts are.
    support: full
    platforms: all
"""
