"""A boolean option of the playbooks and roles works when given on the command line (-e name=false is the string
'false'): every `NAME | default(true/false)` in a condition is turned into a boolean with `| bool`. ansible-core 2.19
and later refuse a condition whose result is a string ("Conditionals must have a boolean result"), and before that
the string 'false' counted as true. Registered results (`.changed`) and the become keyword, which ansible-core turns
into a boolean itself, are not options.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEFAULTED = re.compile(r'\b([a-z_][a-z0-9_.]*) \| default\((?:true|false)\)(?! \| bool)')
FILES = sorted(path for folder in ('playbooks', 'roles') for path in (ROOT / folder).rglob('*.yml')
               if 'defaults' not in path.parts)


@pytest.mark.parametrize('path', FILES, ids=[str(path.relative_to(ROOT)) for path in FILES])
def test_boolean_options_go_through_bool(path):
    unconverted = ['%d: %s' % (number, line.strip()) for number, line in enumerate(path.read_text().splitlines(), 1)
                   for name in DEFAULTED.findall(line)
                   if not name.endswith('.changed') and not line.lstrip().startswith('become:')]
    assert unconverted == []


def test_the_check_finds_an_unconverted_option():
    assert DEFAULTED.findall("when: verify_check_drift | default(true)") == ['verify_check_drift']
    assert DEFAULTED.findall("when: verify_check_drift | default(true) | bool") == []
