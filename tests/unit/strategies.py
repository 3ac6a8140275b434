"""Hypothesis strategies that build option values from an Ansible argument spec: valid ones, edge cases and junk."""

from __future__ import annotations

from hypothesis import strategies as st

ADDRESSES = ['192.0.2.10', '198.51.100.11', '2001:db8::10', 'fe80::1%eth0', 'fe80::1', '0.0.0.0', '224.0.0.1',
             '255.255.255.255', '::', '10.0.0.1/24', '192.0.2.10:80', ' 192.0.2.10', '', '01.2.3.4', '::ffff:1.2.3.4']
WORDS = ['wrr', 'sh', 'mh', 'nope!', 'eth0', 'eth0:8', 'lo', '255.255.255.0', '24', '129', '0.0.0.0', '/tmp/x', '~/x',
         '$HOME/x']
INTEGERS = [-1, 0, 1, 7, 80, 443, 6080, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 31 * 86400 + 1]


def junk(infinity):
    """Return a strategy of values of every type; infinity adds infinite floats (see test_random_input)."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.sampled_from(INTEGERS),
        st.floats(allow_nan=True, allow_infinity=infinity), st.text(max_size=12),
        st.sampled_from(['80', '0x10', 'yes', 'a=b', '1,2', '{"a": 1}']),
        st.lists(st.integers(0, 3) | st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
    )


def _valid(name, spec, infinity):
    """Return a strategy of values of the option's type (choices, addresses and boundary integers included)."""
    kind = spec.get('type', 'str')
    if spec.get('options') is not None:
        item = options_strategy(spec['options'], infinity) | st.sampled_from([None, False, 3, 'address=192.0.2.10', 'x'])
        return st.lists(item, max_size=3) if kind == 'list' else item
    if spec.get('choices') is not None:
        chosen = st.sampled_from(spec['choices'])
        return st.lists(chosen, max_size=3) if kind == 'list' else chosen
    if kind == 'int':
        return st.sampled_from(INTEGERS) | st.integers(-10, 70000)
    if kind == 'bool':
        return st.booleans()
    if kind == 'list':
        return st.lists(st.text(max_size=6) | st.sampled_from(['all', 'lo', 'eth0']), max_size=3)
    if 'address' in name:
        return st.sampled_from(ADDRESSES)
    return st.text(max_size=10) | st.sampled_from(WORDS)


def options_strategy(options, infinity=True):
    """Return a strategy of dicts for an argument spec: any subset of its options, sometimes an unknown key."""
    value = dict((name, _valid(name, spec, infinity) | junk(infinity)) for name, spec in options.items())
    result = st.fixed_dictionaries({}, optional=value)
    return st.one_of(result, st.builds(lambda item, key: dict(item, **{key: 1}), result,
                                       st.sampled_from(['bogus', 'wieght'])))


def valid_leaning(options, infinity=True):
    """Like options_strategy, but mostly with values of the right type, so that planning is reached too."""
    value = dict((name, _valid(name, spec, infinity)) for name, spec in options.items())
    return st.one_of(st.fixed_dictionaries({}, optional=value), options_strategy(options, infinity))
