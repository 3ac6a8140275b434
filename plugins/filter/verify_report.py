# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The judgement of playbooks/verify.yml: what it observed against the model."""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.parsing.convert_bool import boolean

DOCUMENTATION = r"""
name: verify_report
short_description: Judge what playbooks/verify.yml observed on a cluster against the model
version_added: 0.1.0
description:
  - Compares the IPVS counters that C(lvs.cluster.ipvs_info) read on the directors before and after a load sent
    from a client, service by service, with the model, and gathers every failed check in one sentence each.
  - "Balance: each real server's share of the new connections against its share of the weights, within
    O(tolerance)."
  - "Reply path: in DR and TUN no reply byte passes the director (the service's C(out_bytes) stay the same); in NAT
    the replies do (they grow)."
  - "ARP: every IPv4 VIP is answered only by the MAC of the director interface that holds it."
  - "The directors hold no TCP socket on a VIP and list connections in their IPVS table; each real server's access
    log has requests from the client's own address; no host has drift (what the roles would change)."
  - "VRRP: every keepalived instance is MASTER on exactly one director."
  - "Metrics, on the directors whose node_exporter verify.yml scraped (C(director_metrics)): a
    C(node_ipvs_backend_connections_active) series for every real server of every service (SCTP services aside:
    node_exporter does not read them), and with keepalived's metrics a C(keepalived_vrrp_state) series for every
    VRRP instance, V(1) (MASTER) on exactly one director (at most one when some director does not export it)."
author:
  - lvs.cluster developers (@lvs-cluster)
positional: ipvs, observed
options:
  _input:
    description: C(lvs_virtual_services).
    type: list
    elements: dict
    required: true
  ipvs:
    description: The same services as C(lvs.cluster.ipvs_services(hostvars, owner='all')) returns them.
    type: list
    elements: dict
    required: true
  observed:
    description:
      - What verify.yml read. C(before) and C(after), the C(services) of C(lvs.cluster.ipvs_info) on each director
        (a list per director); C(client), the client's lines C(answers VIP OK FAILED) and C(arp VIP MAC...);
        C(directors), every director's lines C(holds VIP MAC), C(sockets VIP N), C(connections HOST N) and, for
        each VRRP instance of keepalived, C(vrrp INSTANCE HOST STATE) (STATE as keepalived's notify recorded it, or
        C(STOPPED) when keepalived does not run);
        C(seen), for each real server the requests from the client's address in its access log (None to skip);
        C(drift), for each host what the roles would change there.
      - C(metrics), for each director the result of C(ansible.builtin.uri) on its node_exporter's C(/metrics)
        (C(status), C(content), C(url), C(msg); skipped or absent when it has no metrics);
        C(keepalived_metrics), for each director whether its keepalived exports C(keepalived_vrrp_state).
    type: dict
    required: true
  tolerance:
    description: How far a real server's share of the connections may be from its share of the weights (0 to 1).
    type: float
    default: 0.1
"""

EXAMPLES = r"""
- name: Judge what was observed
  ansible.builtin.set_fact:
    report: "{{ lvs_virtual_services | lvs.cluster.verify_report(ipvs, observed, tolerance=0.05) }}"
"""

RETURN = r"""
_value:
  description:
    - C(rows), one per real server of each service (service, mode, vip, realserver, weight, connections, share,
      expected, reply_bytes_via_director, metrics - how many scraped directors export its series, as C(1/2), or
      C(-)); C(table), the same as text lines, then the figures of the checks done by hand on a wiki's LVS (the
      entries of each director's C(ipvsadm -Lnc), the TCP connections the directors hold on each VIP, the client's
      requests in each real server's access log), then the scraped directors and their VRRP states; C(failures), one
      sentence per failed check.
  type: dict
"""

COLUMNS = ('%-14s %-4s %-20s %-12s %6s %11s %6s %8s %7s %s',
           ('service', 'mode', 'VIP', 'real server', 'weight', 'connections', 'share', 'expected', 'metrics',
            'reply bytes via director'))
BACKEND_SERIES = 'node_ipvs_backend_connections_active'
VRRP_SERIES = 'keepalived_vrrp_state'
VRRP_STATES = {0: 'BACKUP', 1: 'MASTER', 2: 'FAULT', 3: 'STOP'}
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r'\\(.)')


def parse_lines(lines):
    """Return {word: {first argument: the rest}} for lines such as "answers 10.0.0.1 300 0"."""
    parsed = {}
    for line in lines:
        words = line.split()
        if len(words) >= 2:
            parsed.setdefault(words[0], {}).setdefault(words[1], []).extend(words[2:])
    return parsed


def service_label(service, resolved):
    """The service as the failures name it: 'web (DR 10.0.0.1:80)', or 'mail (fwmark 10)'."""
    if 'fwmark' in resolved:
        return '%s (fwmark %s)' % (service['name'], resolved['fwmark'])
    return '%s (%s %s:%s)' % (service['name'], service.get('forwarding', 'dr').upper(), service['vip'], resolved['port'])


def parse_metrics(text, names):
    """Return {name: [(labels, value)]}: the samples of the metrics names in Prometheus' text format."""
    samples = dict((name, []) for name in names)
    for line in (text or '').splitlines():
        match = _SAMPLE.match(line) if line.startswith(tuple(names)) else None
        if not match or match.group(1) not in samples:
            continue
        labels = dict((key, _ESCAPE.sub(lambda escaped: '\n' if escaped.group(1) == 'n' else escaped.group(1), value))
                      for key, value in _LABEL.findall(match.group(2) or ''))
        try:
            samples[match.group(1)].append((labels, float(match.group(3))))
        except ValueError:
            continue
    return samples


def canonical(address):
    """The address as node_exporter prints it (IPv6 compressed, lower case)."""
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return str(address).lower()


def backend_keys(samples):
    """Return the set of (service, (real server address, port)) of node_ipvs_backend_connections_active's series."""
    keys = set()
    for labels, _value in samples:
        if labels.get('proto') == 'FWM':
            service = ('FWM', labels.get('local_mark', '').upper())
        else:
            service = (labels.get('proto'), canonical(labels.get('local_address', '')), labels.get('local_port'))
        keys.add((service, (canonical(labels.get('remote_address', '')), labels.get('remote_port'))))
    return keys


def scraped_metrics(observed):
    """Return ({director: samples}, failures) of the directors whose node_exporter verify.yml scraped."""
    scraped, failures = {}, []
    for host, result in sorted((observed.get('metrics') or {}).items()):
        if not result or result.get('skipped'):
            continue
        if result.get('status') != 200:
            failures.append('%s: node_exporter did not answer at %s (%s)' % (
                host, result.get('url', '/metrics'), result.get('msg') or 'status %s' % result.get('status')))
            continue
        scraped[host] = parse_metrics(result.get('content'), (BACKEND_SERIES, VRRP_SERIES))
    return scraped, failures


def judge_backend_metrics(service, resolved, scraped):
    """Return (for each real server, how many scraped directors export its series or None, failures) of a service."""
    members = list(zip(service.get('realservers', []), resolved.get('realservers', [])))
    if not scraped or resolved.get('protocol') == 'sctp':
        return [None] * len(members), []
    if 'fwmark' in resolved:
        key = ('FWM', '%08X' % resolved['fwmark'])
    else:
        key = (resolved.get('protocol', 'tcp').upper(), canonical(resolved['address']), str(resolved['port']))
    label = service_label(service, resolved)
    exported = dict((host, backend_keys(samples[BACKEND_SERIES])) for host, samples in scraped.items())
    counts, failures = [], []
    for entry, member in members:
        if member.get('state') == 'absent':
            counts.append(None)
            continue
        address, port = canonical(member['address']), member.get('port', resolved.get('port'))
        missing = [host for host, keys in sorted(exported.items()) if not any(
            found_service == key and found_rs[0] == address and (port is None or found_rs[1] == str(port))
            for found_service, found_rs in keys)]
        counts.append(len(exported) - len(missing))
        named = '%s (%s)' % (entry['host'], member['address']) if entry.get('host') else member['address']
        failures.extend('%s: node_exporter on %s has no %s series for %s' % (label, host, BACKEND_SERIES, named)
                        for host in missing)
    return counts, failures


def vrrp_states(directors):
    """Return {instance: {director: state}} from the directors' VRRP words (director, state, director, state...)."""
    return dict((instance, dict(zip(words[0::2], words[1::2]))) for instance, words in directors.get('vrrp', {}).items())


def judge_vrrp_metrics(states, scraped, exporting):
    """Return (lines, failures): keepalived_vrrp_state of each VRRP instance on the directors that export it."""
    lines, failures = [], []
    for instance, instance_states in sorted(states.items()):
        hosts = sorted(instance_states)
        exporters = [host for host in hosts if host in scraped and boolean(exporting.get(host, True), strict=False)]
        if not exporters:
            continue
        values = {}
        for host in exporters:
            found = [value for labels, value in scraped[host][VRRP_SERIES] if labels.get('instance') == instance]
            if found:
                values[host] = int(found[-1])
            else:
                failures.append('VRRP instance %s: node_exporter on %s has no %s series' % (instance, host, VRRP_SERIES))
        masters = [host for host, value in sorted(values.items()) if value == 1]
        described = ', '.join('%s %s' % (host, VRRP_STATES.get(value, value)) for host, value in sorted(values.items()))
        lines.append('metrics VRRP %s: %s' % (instance, described or 'no series'))
        if len(masters) > 1 or (not masters and len(exporters) == len(hosts)):
            failures.append('VRRP instance %s: %s is 1 (MASTER) on %d directors (%s); expected exactly one' % (
                instance, VRRP_SERIES, len(masters), described or 'no series'))
    return lines, failures


def check_lines(directors, seen):
    """Return the figures of the by-hand checks: connection entries per director, TCP sockets per VIP, the client's
    requests in each real server's access log."""
    entries = sorted((host, counts[0]) for host, counts in directors.get('connections', {}).items() if counts)
    sockets = sorted((vip, sum(int(count) for count in counts)) for vip, counts in directors.get('sockets', {}).items())
    logged = sorted((host, count) for host, count in seen.items() if count is not None)
    return [line for line in (
        'entries in ipvsadm -Lnc: %s' % ', '.join('%s %s' % entry for entry in entries) if entries else None,
        'TCP connections a director holds on the VIP: %s' % ', '.join('%s %d' % pair for pair in sockets)
        if sockets else None,
        "requests from the client's own address in the access log: %s" % ', '.join('%s %s' % pair for pair in logged)
        if logged else None) if line]


def counters(tables):
    """Return {(protocol, address, port): (service stats, {(address, port): stats})} summed over the directors."""
    total = {}
    for table in tables:
        for service in table:
            stats, members = total.setdefault((service.get('protocol'), service.get('address'), service.get('port')),
                                              ({}, {}))
            for name, value in service.get('stats', {}).items():
                stats[name] = stats.get(name, 0) + value
            for member in service.get('realservers', []):
                counts = members.setdefault((member['address'], member['port']), {})
                for name, value in member.get('stats', {}).items():
                    counts[name] = counts.get(name, 0) + value
    return total


def judge_service(service, resolved, old, new, client, directors, tolerance):
    """Return (rows, failures) of one service."""
    vip, mode, port = service['vip'], service.get('forwarding', 'dr'), resolved['port']
    label = service_label(service, resolved)
    key = (resolved.get('protocol', 'tcp'), resolved['address'], port)
    if key not in new:
        return [], ['%s: no director has this service in its IPVS table' % label]
    (old_stats, old_members), (new_stats, new_members) = old.get(key, ({}, {})), new[key]
    failures = []
    ok, failed = (int(count) for count in (client.get('answers', {}).get(vip) or ['0', '0'])[:2])
    if failed or not ok:
        failures.append('%s: %d of %d requests failed' % (label, failed, ok + failed))
    sockets = sum(int(count) for count in directors.get('sockets', {}).get(vip, []))
    if sockets:
        failures.append('%s: a director holds %d TCP connections on the VIP; IPVS forwards them, so it must hold none'
                        % (label, sockets))
    reply_bytes = new_stats.get('out_bytes', 0) - old_stats.get('out_bytes', 0)
    if mode in ('dr', 'tun') and reply_bytes:
        failures.append('%s: %d reply bytes passed the director; %s replies must go straight to the client'
                        % (label, reply_bytes, mode.upper()))
    if mode == 'nat' and reply_bytes <= 0:
        failures.append('%s: no reply byte passed the director; NAT replies must come back through it' % label)
    members = [(entry, member, (member['address'], member.get('port', port)))
               for entry, member in zip(service.get('realservers', []), resolved.get('realservers', []))]
    weights = sum(member.get('weight', 1) for _entry, member, _key in members) or 1
    connections = dict((rs_key, new_members.get(rs_key, {}).get('connections', 0)
                        - old_members.get(rs_key, {}).get('connections', 0)) for _entry, _member, rs_key in members)
    total = sum(connections.values()) or 1
    rows = []
    for entry, member, rs_key in members:
        expected = float(member.get('weight', 1)) / weights
        share = float(connections[rs_key]) / total
        rows.append({'service': service['name'], 'mode': mode, 'vip': '%s:%s' % (vip, port),
                     'realserver': entry.get('host', member['address']), 'weight': member.get('weight', 1),
                     'connections': connections[rs_key], 'share': round(share, 3), 'expected': round(expected, 3),
                     'reply_bytes_via_director': reply_bytes})
        if abs(share - expected) > tolerance:
            failures.append('%s: %s got %.1f%% of %d connections; its weight gives %.1f%% (tolerance %.1f%%)' % (
                label, rows[-1]['realserver'], 100 * share, total, 100 * expected, 100 * tolerance))
    answered = sorted(set(mac.lower() for mac in client.get('arp', {}).get(vip, [])))
    owners = sorted(set(mac.lower() for mac in directors.get('holds', {}).get(vip, [])))
    if ':' not in vip and (not owners or answered != owners):
        failures.append('%s: ARP for %s answered by %s; expected only the director that holds it (%s)' % (
            label, vip, ', '.join(answered) or 'nobody', ', '.join(owners) or 'no director holds it'))
    return rows, failures


def verify_report(model, ipvs, observed, tolerance=0.1):
    """Return {rows, table, failures} (see DOCUMENTATION)."""
    old, new = counters(observed['before']), counters(observed['after'])
    client, directors = parse_lines(observed['client']), parse_lines(observed['directors'])
    rows, failures = [], []
    for host, changes in sorted(observed.get('drift', {}).items()):
        failures.extend('%s: %s' % (host, change) for change in changes or [])
    scraped, metrics_failures = scraped_metrics(observed)
    for service, resolved in zip(model, ipvs):
        exported, backend_failures = judge_backend_metrics(service, resolved, scraped)
        metrics_failures += backend_failures
        if 'fwmark' not in resolved:
            service_rows, service_failures = judge_service(service, resolved, old, new, client, directors, tolerance)
            for row, count in zip(service_rows, exported):
                row['metrics'] = '-' if count is None else '%d/%d' % (count, len(scraped))
            rows += service_rows
            failures += service_failures
    vrrp = vrrp_states(directors)
    vrrp_lines, vrrp_failures = judge_vrrp_metrics(vrrp, scraped, observed.get('keepalived_metrics') or {})
    if not sum(int(counts[0]) for counts in directors.get('connections', {}).values() if counts):
        failures.append('the directors list no connection (ipvsadm -Lnc) after the load')
    for instance, states in sorted(vrrp.items()):
        masters = sorted(host for host, state in states.items() if state == 'MASTER')
        if len(masters) != 1:
            failures.append('VRRP instance %s is MASTER on %d directors (%s); expected exactly one' % (
                instance, len(masters), ', '.join('%s %s' % item for item in sorted(states.items()))))
    for host, count in sorted(observed.get('seen', {}).items()):
        if count is not None and int(count or 0) == 0:
            failures.append("%s: its access log has no request from the client's own address" % host)
    failures += metrics_failures + vrrp_failures
    table = [COLUMNS[0] % COLUMNS[1]] + [COLUMNS[0] % (
        row['service'], row['mode'], row['vip'], row['realserver'], row['weight'], row['connections'],
        '%.3f' % row['share'], '%.3f' % row['expected'], row.get('metrics', '-'), row['reply_bytes_via_director'])
        for row in rows] + check_lines(directors, observed.get('seen', {}))
    table += ['metrics scraped on %s (node_exporter of each director with director_metrics)' % ', '.join(sorted(scraped))
              ] if scraped else []
    return {'rows': rows, 'table': table + vrrp_lines, 'failures': failures}


class FilterModule:
    """The judgement of playbooks/verify.yml."""

    def filters(self):
        return {'verify_report': verify_report}
