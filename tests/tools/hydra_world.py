#!/usr/bin/env python3
"""hydra_world.py - the responses a fake Hydra (fakehydra.py) serves, made
from a `cachegc gen` world, plus the same data as files for import-eval and
import-builds.

    hydra_world.py from-gen GENDIR OUT
    hydra_world.py synthetic OUT BUILDS EVALS

from-gen: two jobsets of project "cuda": "master-86" (gen's master x 8.6,
its last 25 evaluations: two pages) and "stable" (nixos-24.05 x 7.5,8.6,
every evaluation).  Each evaluation's jobs become Hydra builds (job
ATTR.x86_64-linux, buildoutputs, drvpath, nixname), with the outcome gen
recorded for the derivation (succeeded when none).  Two phases:

  OUT/phase1   without the newest 3 (master-86) and 2 (stable) evaluations;
               in the newest two evaluations of each jobset two thirds of the
               builds first seen there are queued (the first two finish failed and
               dependency-failed in phase 2)
  OUT/phase2   everything, every build finished

OUT/files: per Hydra evaluation ID, ID.jsonl (nix-eval-jobs lines of its
builds) and p1-ID.json / p2-ID.json (its builds as each phase serves
them); OUT/files/order.tsv lists ID, phase it appears in, jobset, branch,
rev, capabilities, time - in the order import-hydra records them.

synthetic: one jobset "bench:big" with EVALS evaluations of BUILDS builds
each (a fifth of the builds change per evaluation), into OUT/phase1 (and
OUT/current -> phase1); no files.
"""
import hashlib
import json
import os
import sys

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"
STATUS = {"succeeded": 0, "failed": 1, "dependency-failed": 2, "aborted": 3, "cancelled": 4,
          "failed-with-output": 6, "timed-out": 7, "cached-failure": 8, "unsupported": 9,
          "log-limit-exceeded": 10, "output-limit-exceeded": 11, "non-deterministic": 12}
PER_PAGE = 20
SYSTEM = "x86_64-linux"


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def build_json(b, state, project, jobset):
    """Hydra's Build as_json, for phase state ('queued' or the outcome)."""
    queued = state is None
    return {
        "id": b["id"], "project": project, "jobset": jobset, "job": b["job"],
        "nixname": b["nixname"], "system": SYSTEM, "drvpath": b["drv"],
        "finished": 0 if queued else 1,
        "buildstatus": None if queued else STATUS[state[0]],
        "timestamp": b["timestamp"],
        "starttime": None if queued else state[1] - 30,
        "stoptime": None if queued else state[1],
        "priority": 100, "releasename": None,
        "jobsetevals": b["evals"],
        "buildoutputs": {o: {"path": p} for o, p in sorted(b["outputs"].items())},
        "buildproducts": {}, "buildmetrics": {},
    }


def eval_json(e):
    return {
        "id": e["id"], "timestamp": e["time"], "checkouttime": 3, "evaltime": 120,
        "hasnewbuilds": 1, "flake": None, "builds": e["builds"],
        "jobsetevalinputs": {
            "nixpkgs": {"type": "git", "uri": "https://github.com/NixOS/nixpkgs.git",
                        "revision": e["rev"], "value": None, "dependency": None},
            "officialRelease": {"type": "boolean", "uri": None, "revision": None,
                                "value": "false", "dependency": None},
        },
    }


def jobset_json(project, name, branch):
    return {
        "name": name, "project": project, "description": "", "nixexprinput": "nixpkgs",
        "nixexprpath": "pkgs/top-level/release-cuda.nix", "errormsg": "", "errortime": None,
        "lastcheckedtime": 1714500000, "triggertime": None, "enabled": 1, "keepnr": 3,
        "checkinterval": 1800, "schedulingshares": 100, "starttime": None, "type": 0,
        "flake": "", "fetcherrormsg": "", "emailoverride": "", "enableemail": False,
        "enable_dynamic_run_command": False, "visible": True,
        "inputs": {
            "nixpkgs": {"name": "nixpkgs", "type": "git", "emailresponsible": False,
                        "value": "https://github.com/NixOS/nixpkgs.git " + branch},
            "officialRelease": {"name": "officialRelease", "type": "boolean",
                                "emailresponsible": False, "value": "false"},
        },
    }


def write_phase(out, jobsets, evals, builds, states):
    """evals: {jobset: [eval, ...]} of this phase; states: build id -> state."""
    for (project, name, branch), evs in jobsets.items():
        write(os.path.join(out, "jobset", project, name, "jobset.json"),
              jobset_json(project, name, branch))
        newest = sorted(evals[name], key=lambda e: -e["id"])
        pages = max(1, (len(newest) + PER_PAGE - 1) // PER_PAGE)
        for pg in range(1, pages + 1):
            ent = {"evals": [eval_json(e) for e in newest[(pg - 1) * PER_PAGE:pg * PER_PAGE]],
                   "first": "?page=1", "last": "?page=%d" % pages}
            if pg > 1:
                ent["previous"] = "?page=%d" % (pg - 1)
            if pg < pages:
                ent["next"] = "?page=%d" % (pg + 1)
            write(os.path.join(out, "jobset", project, name, "evals-%d.json" % pg), ent)
        for e in evals[name]:
            write(os.path.join(out, "eval", str(e["id"]), "eval.json"), eval_json(e))
            write(os.path.join(out, "eval", str(e["id"]), "builds.json"),
                  [build_json(builds[i], states[i], project, name) for i in e["builds"]])
            for i in e["builds"]:
                write(os.path.join(out, "build", "%d.json" % i),
                      build_json(builds[i], states[i], project, name))


def from_gen(gendir, out):
    outcome = {}
    with open(os.path.join(gendir, "builds.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r["drvPath"] not in outcome or r["time"] >= outcome[r["drvPath"]][1]:
                outcome[r["drvPath"]] = (r["status"], r["time"])
    series = {("cuda", "master-86", "master"): ("master", "8.6", 25),
              ("cuda", "stable", "nixos-24.05"): ("nixos-24.05", "7.5,8.6", 1000)}
    manifest = []
    with open(os.path.join(gendir, "evals", "manifest.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                manifest.append(line.rstrip("\n").split("\t"))
    chosen = []
    for key, (branch, caps, keep) in series.items():
        rows = [m for m in manifest if m[1] == branch and m[3] == caps]
        rows.sort(key=lambda m: m[5])
        for m in rows[-keep:]:
            chosen.append((m[5], key, m))
    chosen.sort(key=lambda c: c[0])
    evals = {k[1]: [] for k in series}
    builds, by_drv, next_build = {}, {}, 5001
    import datetime
    for n, (t, key, m) in enumerate(chosen):
        ts = int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
                 .replace(tzinfo=datetime.timezone.utc).timestamp())
        e = {"id": 101 + n, "time": ts, "rev": m[2], "builds": [], "jobset": key, "caps": m[3]}
        with open(os.path.join(gendir, "evals", m[0])) as f:
            for line in f:
                j = json.loads(line)
                if "error" in j or not j.get("outputs"):
                    continue
                k = (key[1], j["drvPath"])
                if k not in by_drv:
                    st = outcome.get(j["drvPath"], ("succeeded", ts + 600))
                    by_drv[k] = next_build
                    builds[next_build] = {
                        "id": next_build, "job": j["attr"] + "." + SYSTEM, "attr": j["attr"],
                        "nixname": j["name"], "drv": j["drvPath"], "outputs": j["outputs"],
                        "timestamp": ts, "evals": [], "final": (st[0], max(st[1], ts + 60)),
                        "first_eval": e["id"]}
                    next_build += 1
                b = by_drv[k]
                if b not in e["builds"]:
                    e["builds"].append(b)
                    builds[b]["evals"].append(e["id"])
        evals[key[1]].append(e)
    hold = {"master-86": 3, "stable": 2}
    p1 = {name: evs[:len(evs) - hold[name]] for name, evs in evals.items()}
    final = {i: b["final"] for i, b in builds.items()}
    s1 = dict(final)
    nq = 0
    for name, evs in p1.items():
        last = [e["id"] for e in evs[-2:]]
        fresh = sorted(set(i for e in evs[-2:] for i in e["builds"]
                           if builds[i]["first_eval"] in last))
        for k, i in enumerate(fresh):
            if k % 3 != 2:
                s1[i] = None
                if nq < 2:
                    final[i] = (["failed", "dependency-failed"][nq], final[i][1])
                nq += 1
    write_phase(os.path.join(out, "phase1"), series, p1, builds, s1)
    write_phase(os.path.join(out, "phase2"), series, evals, builds, final)
    files = os.path.join(out, "files")
    os.makedirs(files, exist_ok=True)
    order = []
    for phase, evsets in ((1, p1), (2, evals)):
        for key in series:
            for e in evsets[key[1]]:
                if phase == 2 and e in p1[key[1]]:
                    continue
                order.append((e, phase, key))
    with open(os.path.join(files, "order.tsv"), "w") as f:
        for e, phase, key in order:
            f.write("%d\t%d\t%s:%s\t%s\t%s\t%s\t@%d\n" % (
                e["id"], phase, key[0], key[1], series[key][0], e["rev"], series[key][1],
                e["time"]))
            with open(os.path.join(files, "%d.jsonl" % e["id"]), "w") as j:
                for i in e["builds"]:
                    b = builds[i]
                    j.write(json.dumps({"attr": b["attr"], "drvPath": b["drv"],
                                        "name": b["nixname"], "system": SYSTEM,
                                        "outputs": b["outputs"]}) + "\n")
            for ph, st in ((1, s1), (2, final)):
                if ph == 1 and phase == 2:
                    continue
                with open(os.path.join(files, "p%d-%d.json" % (ph, e["id"])), "w") as j:
                    json.dump([build_json(builds[i], st[i], key[0], key[1])
                               for i in e["builds"]], j)
    os.symlink("phase1", os.path.join(out, "current"))
    print("evaluations %d, builds %d, queued in phase 1 %d" % (len(chosen), len(builds), nq))


def nix32(seed):
    h = hashlib.sha256(seed.encode()).digest()
    return "".join(NIX32[b % 32] for b in h[:32])


def synthetic(out, nbuilds, nevals):
    series = {("bench", "big", "master"): None}
    builds, evals, bid = {}, [], 1
    current = []
    for n in range(nevals):
        ts = 1714521600 + n * 1800
        e = {"id": n + 1, "time": ts, "rev": hashlib.sha1(str(n).encode()).hexdigest(),
             "builds": []}
        for k in range(nbuilds):
            if n == 0 or k % 5 == n % 5:
                name = "pkg%d-1.%d" % (k, n)
                h = nix32("%d/%d" % (n, k))
                b = {"id": bid, "job": "pkgs.pkg%d.%s" % (k, SYSTEM), "nixname": name,
                     "drv": "/nix/store/%s-%s.drv" % (nix32("d" + h), name),
                     "outputs": {"out": "/nix/store/%s-%s" % (h, name)},
                     "timestamp": ts, "evals": [],
                     "final": (["succeeded", "failed", "dependency-failed"][k % 7 % 3]
                               if k % 7 < 3 else "succeeded", ts + 600)}
                builds[bid] = b
                if n == 0:
                    current.append(bid)
                else:
                    current[k] = bid
                bid += 1
            e["builds"].append(current[k])
            builds[current[k]]["evals"].append(e["id"])
        evals.append(e)
    write_phase(os.path.join(out, "phase1"), series, {"big": evals}, builds,
                {i: b["final"] for i, b in builds.items()})
    os.symlink("phase1", os.path.join(out, "current"))


if __name__ == "__main__":
    if sys.argv[1] == "from-gen":
        from_gen(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "synthetic":
        synthetic(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: hydra_world.py from-gen GENDIR OUT | synthetic OUT BUILDS EVALS")
