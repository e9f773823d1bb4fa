#!/usr/bin/env python3
"""fakehydra.py - a fake Hydra on a loopback port, for tests and benchmarks.

    fakehydra.py ROOT PORTFILE

Serves the recorded responses under ROOT/current/ (a directory or a
symbolic link the test re-points between runs), shaped like Hydra's JSON
API (hydra-api.yaml; Hydra's Jobset, JobsetEval and Build controllers):

    GET /jobset/P/J                 ROOT/current/jobset/P/J/jobset.json
    GET /jobset/P/J/evals[?page=N]  ROOT/current/jobset/P/J/evals-N.json
    GET /eval/ID                    ROOT/current/eval/ID/eval.json
    GET /eval/ID/builds             ROOT/current/eval/ID/builds.json
    GET /build/ID                   ROOT/current/build/ID.json

Like Hydra, it answers HTML unless the request accepts application/json,
and a 404 with {"error": ...} for what it does not have.  Faults come from
ROOT/faults.json, read on every request: {"PATH": SPEC, ...} where PATH is
the request path with its query ("/jobset/p/j/evals?page=2") and SPEC one of

    {"mode": "status", "code": 500}                  that status, no body
    {"mode": "status", "code": 429, "retry_after": 1}
    {"mode": "html"}                                 a 200 HTML page
    {"mode": "body", "body": "..."}                  a 200 with that body
    {"mode": "delay", "seconds": 5}                  then the real answer

with "times": N to apply it to the first N requests only.  Also
"*": {"mode": "html"} for every path.  Every request is appended to
ROOT/requests.log ("PATH ACCEPT").  The port it listens on is written to
PORTFILE once it listens.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
COUNTS = {}
LOCK = threading.Lock()

HTML = b"<!DOCTYPE html>\n<html><head><title>Hydra</title></head><body>Overview</body></html>\n"


def faults():
    try:
        with open(os.path.join(ROOT, "faults.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def file_for(path):
    """The response file for a request path, or None."""
    p, _, query = path.partition("?")
    parts = [x for x in p.split("/") if x]
    cur = os.path.join(ROOT, "current")
    if any(x in (".", "..") for x in parts):
        return None
    if len(parts) == 3 and parts[0] == "jobset":
        return os.path.join(cur, "jobset", parts[1], parts[2], "jobset.json")
    if len(parts) == 4 and parts[0] == "jobset" and parts[3] == "evals":
        page = 1
        for kv in query.split("&"):
            if kv.startswith("page="):
                try:
                    page = int(kv[5:])
                except ValueError:
                    page = 1
        return os.path.join(cur, "jobset", parts[1], parts[2], "evals-%d.json" % page)
    if len(parts) == 2 and parts[0] == "eval":
        return os.path.join(cur, "eval", parts[1], "eval.json")
    if len(parts) == 3 and parts[0] == "eval" and parts[2] == "builds":
        return os.path.join(cur, "eval", parts[1], "builds.json")
    if len(parts) == 2 and parts[0] == "build":
        return os.path.join(cur, "build", parts[1] + ".json")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype, extra=()):
        # One write per response: headers and body apart would meet
        # Nagle's algorithm and the client's delayed ACK (40 ms each).
        head = ["HTTP/1.1 %d %s" % (code, self.responses.get(code, ("",))[0]),
                "Content-Type: " + ctype, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in extra]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode()
        self.wfile.write(raw + (body if self.command != "HEAD" else b""))

    def do_GET(self):
        path = self.path
        accept = self.headers.get("Accept", "")
        with LOCK:
            with open(os.path.join(ROOT, "requests.log"), "a") as log:
                log.write("%s %s\n" % (path, accept or "-"))
        fs = faults()
        spec = fs.get(path) or fs.get("*")
        if spec:
            key = path + json.dumps(spec, sort_keys=True)
            with LOCK:
                n = COUNTS.get(key, 0)
                COUNTS[key] = n + 1
            if "times" in spec and n >= spec["times"]:
                spec = None
        if spec:
            mode = spec.get("mode")
            if mode == "status":
                extra = []
                if "retry_after" in spec:
                    extra.append(("Retry-After", str(spec["retry_after"])))
                return self.send(spec["code"], b"", "text/plain", extra)
            if mode == "html":
                return self.send(200, HTML, "text/html; charset=utf-8")
            if mode == "body":
                return self.send(200, spec["body"].encode(), "application/json")
            if mode == "delay":
                time.sleep(spec.get("seconds", 1))
        if "application/json" not in accept:
            return self.send(200, HTML, "text/html; charset=utf-8")
        f = file_for(path)
        if f and os.path.isfile(f):
            with open(f, "rb") as fh:
                return self.send(200, fh.read(), "application/json")
        body = json.dumps({"error": "Page not found."}).encode()
        return self.send(404, body, "application/json")

    do_HEAD = do_GET


class Server(ThreadingHTTPServer):
    request_queue_size = 1024   # a window of connections at once


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[2])
    srv.serve_forever()


if __name__ == "__main__":
    main()
