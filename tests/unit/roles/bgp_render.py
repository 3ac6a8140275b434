"""Render the bgp_director role's templates as the role does (model -> bgp_director filter -> template)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os

import jinja2
import yaml

from ansible_collections.lvs.cluster.plugins.filter.lvs_model import bgp_director

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'bgp_director')
HOSTVARS = {'director1': {'ansible_facts': {'default_ipv4': {'address': '192.0.2.2'}}}}


def role_defaults():
    """Return the role's defaults, as Ansible would load them (those the templates read)."""
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        return yaml.safe_load(handle)


def render(services, bgp, template='frr.conf.j2', **overrides):
    """Return the template rendered for director1 with these services, lvs_bgp and role variables."""
    variables = role_defaults()
    variables.update(inventory_hostname='director1', ansible_managed='Ansible managed',
                     bgp_director_settings=bgp_director(services, HOSTVARS, 'director1', bgp))
    variables.update(overrides)
    # The template module's defaults: trim_blocks on, trailing newline kept; Ansible's to_nice_json.
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, 'templates')),
                                     trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    environment.filters['to_nice_json'] = lambda value: json.dumps(value, indent=4, sort_keys=True)
    return environment.get_template(template).render(variables)


def load_gate():
    """Return the role's health gate script (files/lvs-cluster-bgp-gate) as a module."""
    loader = importlib.machinery.SourceFileLoader('lvs_cluster_bgp_gate', os.path.join(ROLE, 'files',
                                                                                       'lvs-cluster-bgp-gate'))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module
