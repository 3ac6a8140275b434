"""checked_options gives what AnsibleModule's own argument checker gives, for every option of the specs it checks.

ArgumentSpecValidator is the checker AnsibleModule runs. For random input (valid values, edge cases
and junk of every type) both accept with the same result, or both refuse, and checked_options names
an option that AnsibleModule's errors name too.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import ParameterError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import (
    REALSERVER_OPTIONS, SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES, TABLE_SERVICE_OPTIONS, checked_options,
)
from ansible_collections.lvs.cluster.plugins.plugin_utils._lvs_model import FORWARDING_OPTIONS

from ansible_collections.lvs.cluster.tests.unit.strategies import options_strategy, valid_leaning

# Every spec the collection checks with checked_options, with the rules of its dict; a path option
# (which crashed checked_options once) and the other types AnsibleModule converts are added.
EVERY_TYPE = dict(path=dict(type='path'), number=dict(type='float'), raw=dict(type='raw'), settings=dict(type='dict'),
                  size=dict(type='bytes'), json=dict(type='jsonarg'), ports=dict(type='list', elements='int'),
                  required=dict(type='str', required=True), defaulted=dict(type='int', default=3))
SPECS = {
    'ipvs_table services': (TABLE_SERVICE_OPTIONS, SERVICE_KEY_RULES),
    'service key': (SERVICE_KEY_OPTIONS, SERVICE_KEY_RULES),
    'real server': (REALSERVER_OPTIONS, {}),
    'model forwarding': (FORWARDING_OPTIONS, {}),
    'every type': (EVERY_TYPE, {}),
}


def ansible_module_check(item, options, rules):
    """Return (validated item, error messages) as AnsibleModule checks an item of a list of such dicts.

    AnsibleModule raises OverflowError for an infinite float given to an int option (ansible-core's
    check_type_int): errors are None then, and checked_options must fail the task instead.
    """
    spec = {'items': dict(type='list', elements='dict', options=options, **rules)}
    try:
        result = ArgumentSpecValidator(spec).validate({'items': [item]})
    except OverflowError:
        return None, None
    return result.validated_parameters['items'][0], [str(error) for error in result.errors]


def ours(item, options, rules):
    try:
        return checked_options(item, options, 'items[0].', rules), None
    except ParameterError as error:
        return None, error


@settings(max_examples=200)
@example(('every type', {'required': 'x', 'defaulted': float('inf')}))
@example(('ipvs_table services', {'address': '192.0.2.10', 'port': 80, 'realservers': [False, 'address=192.0.2.1']}))
@example(('service key', {'address': None, 'fwmark': 7}))
@given(st.sampled_from(sorted(SPECS)).flatmap(lambda name: st.tuples(
    st.just(name), valid_leaning(SPECS[name][0]) if name != 'every type' else options_strategy(EVERY_TYPE))))
def test_checked_options_agrees_with_ansible_module(case):
    name, item = case
    options, rules = SPECS[name]
    expected, errors = ansible_module_check(item, options, rules)
    result, error = ours(item, options, rules)
    if errors is None:
        assert error is not None, '%s: AnsibleModule raises OverflowError for %r, checked_options accepts it' % (
            name, item)
        return
    if not errors:
        assert error is None, '%s: AnsibleModule accepts %r, checked_options says %s' % (name, item, error)
        assert result == expected
        return
    assert error is not None, '%s: AnsibleModule refuses %r (%s), checked_options accepts it' % (name, item, errors)
    named = error.name.rsplit('.', 1)[-1].split('[')[0]
    said = ' '.join(errors)
    if named == 'items':  # a rule of the item: the options of the group it names
        assert any(option in said for option in options if option in error.accepted), (error, errors)
    else:
        assert named in said, (error, errors)


def test_a_path_option_is_expanded_as_ansible_module_expands_it(monkeypatch):
    monkeypatch.setenv('HOME', '/home/someone')
    assert checked_options({'path': '~/rules', 'required': 'x'}, EVERY_TYPE)['path'] == '/home/someone/rules'
    assert ansible_module_check({'path': '~/rules', 'required': 'x'}, EVERY_TYPE, {})[0]['path'] == '/home/someone/rules'
