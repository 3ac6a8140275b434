"""platform_check's rules on their own: which platforms count as tested, and how they read in its sentences."""

from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.action import platform_check

BOOKWORM = {'distribution': 'Debian', 'distribution_release': 'bookworm'}


@pytest.mark.parametrize('facts, platforms, tested', [
    (BOOKWORM, [{'name': 'Debian', 'versions': ['bookworm']}], True),
    (dict(BOOKWORM, distribution_release='trixie'), [{'name': 'Debian', 'versions': ['bookworm']}], False),
    ({'distribution': 'Ubuntu', 'distribution_release': 'noble'}, [{'name': 'Debian', 'versions': ['bookworm']}], False),
    ({'distribution': 'Ubuntu', 'distribution_release': 'noble'}, [{'name': 'Ubuntu', 'versions': ['all']}], True),
    (BOOKWORM, [{'name': 'Debian'}], False),
    (BOOKWORM, [], False),
])
def test_a_platform_is_tested_when_its_distribution_lists_its_release(facts, platforms, tested):
    assert platform_check.is_tested(facts, platforms) is tested


def test_the_tested_platforms_read_as_one_phrase():
    assert platform_check.tested_platforms([{'name': 'Debian', 'versions': ['bookworm', 'trixie']},
                                            {'name': 'Ubuntu', 'versions': ['noble']}]) == 'Debian bookworm and trixie, Ubuntu noble'
