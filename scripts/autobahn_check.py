#!/usr/bin/env python3
"""Check Autobahn|Testsuite reports for rfc6455.

Reads REPORTS/servers/index.json (wstest -m fuzzingclient) and
REPORTS/clients/index.json (wstest -m fuzzingserver) and exits 1 unless every
case of every expected agent has `behavior` and `behaviorClose` in the allowed
set (default: OK, INFORMATIONAL). Also fails when an expected agent is missing
or lacks cases (for example a client that crashed half way).

Usage:
  autobahn_check.py [--reports DIR] [--servers A,B] [--clients C,D]
                    [--expected-cases FILE] [--min-cases N] [--allow X,Y]

Without --servers/--clients every agent found in the existing index files is
checked. Without --expected-cases the expected case set of a report is the union
of the cases of all agents in it (plus --min-cases if given).
"""

import argparse
import json
import os
import sys
from collections import Counter

BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def case_key(case_id):
    out = []
    for part in case_id.split("."):
        try:
            out.append((0, int(part), ""))
        except ValueError:
            out.append((1, 0, part))
    return out


def split_list(value):
    return [x.strip() for x in value.split(",") if x.strip()] if value else []


def load_index(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise SystemExit("autobahn_check: cannot read %s: %s" % (path, e))
    if not isinstance(data, dict):
        raise SystemExit("autobahn_check: %s is not a JSON object" % path)
    return data


def check_report(kind, path, agents, expected, min_cases, allowed):
    """Return a list of problem strings for one index.json."""
    problems = []
    index = load_index(path)
    label = "%s (%s)" % (kind, path)
    if index is None:
        if agents:
            return ["%s: report missing, expected agents %s" % (label, ", ".join(agents))]
        print("%s: no report, nothing to check" % label)
        return []
    if not agents:
        agents = sorted(index)
        if not agents:
            return ["%s: report contains no agents" % label]

    exp = set(expected) if expected is not None else set()
    if expected is None:
        for agent in agents:
            exp.update(index.get(agent, {}))
    want = max(len(exp), min_cases)

    print("== %s: %d expected cases, allowed behaviors: %s" % (label, want, ", ".join(sorted(allowed))))
    cols = BEHAVIORS + ["bad-close", "missing"]
    header = "%-28s %6s " % ("agent", "cases") + " ".join("%13s" % c for c in cols)
    print(header)
    print("-" * len(header))
    for agent in agents:
        results = index.get(agent)
        if results is None:
            print("%-28s %6s  MISSING FROM REPORT" % (agent, "-"))
            problems.append("%s: agent %s is missing (it did not run, crashed, or never called "
                            "/updateReports)" % (kind, agent))
            continue
        counts = Counter()
        bad_close = 0
        failing = []
        for case_id in sorted(results, key=case_key):
            r = results[case_id] or {}
            b = r.get("behavior", "?")
            bc = r.get("behaviorClose", "?")
            counts[b] += 1
            if bc not in allowed:
                bad_close += 1
            if b not in allowed or bc not in allowed:
                failing.append((case_id, b, bc, r.get("remoteCloseCode"), r.get("duration"),
                                r.get("reportfile")))
        missing = sorted(exp - set(results), key=case_key)
        unexpected = sorted(set(results) - exp, key=case_key) if expected is not None else []
        row = "%-28s %6d " % (agent, len(results)) + " ".join(
            "%13d" % ({"missing": len(missing), "bad-close": bad_close}.get(c, counts.get(c, 0))) for c in cols)
        others = sorted(set(counts) - set(BEHAVIORS))
        if others:
            row += "  other: " + ", ".join("%s=%d" % (o, counts[o]) for o in others)
        print(row)
        for case_id, b, bc, code, dur, rep in failing:
            problems.append("%s: %s case %s: behavior=%s behaviorClose=%s remoteCloseCode=%s "
                            "duration=%sms report=%s" % (
                                kind, agent, case_id, b, bc, code, dur,
                                os.path.join(os.path.dirname(path), rep) if rep else "-"))
        if missing:
            shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
            problems.append("%s: %s is missing %d of %d cases: %s" % (
                kind, agent, len(missing), len(exp), shown))
        if len(results) < min_cases:
            problems.append("%s: %s has only %d cases, expected at least %d" % (
                kind, agent, len(results), min_cases))
        if unexpected:
            print("   note: %s ran %d cases not in the expected list: %s" % (
                agent, len(unexpected), ", ".join(unexpected[:10])))
    print("(bad-close: cases whose behaviorClose is not allowed; missing: expected cases not in the report)")
    print()
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", default="reports",
                    help="directory holding servers/index.json and clients/index.json (default: reports)")
    ap.add_argument("--servers", default=None, help="comma-separated server agents expected")
    ap.add_argument("--clients", default=None, help="comma-separated client agents expected")
    ap.add_argument("--expected-cases", default=None,
                    help="file with one expected case id per line (e.g. 1.1.1)")
    ap.add_argument("--min-cases", type=int, default=0, help="minimum number of cases per agent")
    ap.add_argument("--allow", default="OK,INFORMATIONAL",
                    help="comma-separated accepted behaviors (default: OK,INFORMATIONAL)")
    args = ap.parse_args()

    allowed = set(split_list(args.allow))
    expected = None
    if args.expected_cases:
        with open(args.expected_cases, encoding="utf-8") as f:
            expected = [line.strip() for line in f if line.strip()]
        if not expected:
            raise SystemExit("autobahn_check: %s lists no cases" % args.expected_cases)

    servers = split_list(args.servers)
    clients = split_list(args.clients)
    explicit = args.servers is not None or args.clients is not None

    problems = []
    checked = 0
    for kind, agents, flag in (("servers", servers, args.servers), ("clients", clients, args.clients)):
        if explicit and flag is None:
            continue
        path = os.path.join(args.reports, kind, "index.json")
        if not explicit and not os.path.exists(path):
            continue
        checked += 1
        problems += check_report(kind, path, agents, expected, args.min_cases, allowed)

    if checked == 0:
        problems.append("no reports found under %s (expected servers/index.json or clients/index.json)"
                        % args.reports)

    if problems:
        print("AUTOBAHN CHECK FAILED: %d problem(s)" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("AUTOBAHN CHECK PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
