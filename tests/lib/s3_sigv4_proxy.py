#!/usr/bin/env python3
"""tests/lib/s3_sigv4_proxy.py PORT UPSTREAM_PORT ACCESS_KEY SECRET [REGION]

An HTTP proxy on 127.0.0.1:PORT that checks the AWS Signature V4 of every
request the way S3 does (canonical request, string to sign, HMAC chain
over date, region and service) and forwards the good ones to the S3 server
on 127.0.0.1:UPSTREAM_PORT (s3rver, which does not check V4 signatures
itself).  A bad signature gets S3's 403 SignatureDoesNotMatch, an unknown
key id 403 InvalidAccessKeyId, both as S3's XML error document.  Written
for the tests from AWS's description of Signature V4; it prints "ready"
once listening.
"""
import hashlib
import hmac
import http.client
import http.server
import sys
import urllib.parse

PORT, UP, KEY, SECRET = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
REGION = sys.argv[5] if len(sys.argv) > 5 else "us-east-1"


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(raw):
    if not raw:
        return ""
    pairs = []
    for part in raw.split("&"):
        k, _, v = part.partition("=")
        pairs.append((enc(urllib.parse.unquote(k)), enc(urllib.parse.unquote(v))))
    pairs.sort()
    return "&".join(k + "=" + v for k, v in pairs)


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def error(self, code, s3code, msg):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                "<Message>%s</Message></Error>" % (s3code, msg)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def check(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "AccessDenied", "no V4 signature"
        f = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            f[k] = v
        cred = f.get("Credential", "").split("/")
        if len(cred) != 5 or cred[0] != KEY:
            return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        date, region, service = cred[1], cred[2], cred[3]
        if region != REGION:
            return "AuthorizationHeaderMalformed", "the region '%s' is wrong; expecting '%s'" % (region, REGION)
        signed = f.get("SignedHeaders", "").split(";")
        amzdate = self.headers.get("x-amz-date", "")
        payload = self.headers.get("x-amz-content-sha256")
        if not payload or "host" not in signed or "x-amz-date" not in signed:
            return "AccessDenied", "host, x-amz-date and x-amz-content-sha256 are needed"
        path, _, query = self.path.partition("?")
        hdrs = "".join("%s:%s\n" % (h, " ".join(self.headers.get(h, "").split())) for h in signed)
        creq = "\n".join([self.command, path, canonical_query(query), hdrs, ";".join(signed), payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, "/".join(cred[1:]),
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = sign(sign(sign(sign(("AWS4" + SECRET).encode(), date), region), service), "aws4_request")
        if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != f.get("Signature"):
            return "SignatureDoesNotMatch", ("The request signature we calculated does not match "
                                             "the signature you provided. Check your key and signing method.")
        return None

    def forward(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else None
        bad = self.check()
        if bad:
            self.error(403, *bad)
            return
        c = http.client.HTTPConnection("127.0.0.1", UP)
        h = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        c.request(self.command, self.path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = forward


srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H)
print("ready", flush=True)
srv.serve_forever()
