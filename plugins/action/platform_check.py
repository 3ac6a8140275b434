# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the host's platform against a role's tested platforms, from gathered facts; nothing runs on the host."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

FACTS = ('distribution', 'distribution_version', 'distribution_release', 'os_family')


def tested_platforms(platforms):
    """Return the platforms of a role's galaxy_info as text: 'Debian bookworm and trixie, Ubuntu noble'."""
    return ', '.join('%s %s' % (platform['name'], ' and '.join(str(version) for version in platform.get('versions', [])))
                     for platform in platforms)


def is_tested(facts, platforms):
    return any(platform['name'] == facts['distribution']
               and set(['all', facts['distribution_release']]).intersection(platform.get('versions', []))
               for platform in platforms)


def described(names):
    return ' and '.join('%s %r' % (name, value) for name, value in sorted(names.items()))


class ActionModule(ActionBase):
    """Pass quietly on a tested platform; elsewhere fail when a name is missing, else warn once that it is untested."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('names', 'platforms'))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        role = self._task._role
        who = role.get_name() if role else 'This play'
        names = self._task.args.get('names') or {}
        platforms = self._task.args.get('platforms')
        if platforms is None and role:
            platforms = (role._metadata.galaxy_info or {}).get('platforms', [])
        if not isinstance(names, dict) or not isinstance(platforms, list) or not all(
                isinstance(item, dict) and isinstance(item.get('name'), str) for item in platforms):
            return dict(result, failed=True, msg='platform_check: names must be a dict of variables and platforms a '
                                                 'list of {name, versions} (as in galaxy_info of meta/main.yml)')
        facts = task_vars.get('ansible_facts', {})
        if not all(facts.get(fact) for fact in FACTS):
            return dict(result, failed=True, msg='%s needs the host\'s facts (ansible_facts.distribution and os_family): '
                                                 'gather them first (gather_facts: true; the min subset is enough)' % who)
        host = '%s %s (OS family %s)' % (facts['distribution'], facts['distribution_version'], facts['os_family'])
        if is_tested(facts, platforms):
            return dict(result, changed=False, tested=True, msg='%s is tested on %s' % (who, host))
        missing = sorted(name for name, value in names.items() if value is None)
        if missing:
            refusal = '%s is tested on %s and has no package or service names for %s: set %s' % (
                who, tested_platforms(platforms), host, ' and '.join(missing))
            return dict(result, failed=True, tested=False, msg=refusal)
        warning = '%s is tested on %s, not on %s: it runs %s' % (
            who, tested_platforms(platforms), host, 'with %s' % described(names) if names else 'untested')
        return dict(result, changed=False, tested=False, msg=warning, warnings=[warning])
