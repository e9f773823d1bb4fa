#!/usr/bin/env python3
"""tests/interop/narinfo_variants.py - the differential half of
tests/interop/test_narinfo_nix.sh.

From real narinfos (pushed by Nix into CACHE), write many variants, each
into a fresh copy of a one-narinfo cache; for each, real Nix decides
(`nix path-info --json --store file://DIR PATH`, and `nix store verify
--sigs-needed 1` for the signature verdict), and cachegc's crawl of the same
directory must agree: accepted or not, and for accepted ones the path, NAR
hash and size, file hash and size, URL, references, deriver, CA and
signatures; recorded as rejected (crawl_rejects) where Nix refuses.

Environment: CG (the cachegc command), CACHE (the pushed cache), T (a work
dir), KEY (the trusted public key "name:base64"), E, NOTE, SELF (store
paths of the world: one with references, deriver and two signatures, one
content-addressed, one referencing itself); RANDOM_VARIANTS=N[:SEED] adds
N random mutants of them (1 to 3 byte or line edits each), judged the same
way, with the deliberate differences recognized by what the narinfo holds.
Prints one line per check:
"PASS name" or "FAIL name: why", for the shell test to count.
"""
import base64
import json
import os
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys

CG = shlex.split(os.environ["CG"])
CACHE = os.environ["CACHE"]
T = os.environ["T"]
KEY = os.environ["KEY"]
STORE = "/nix/store"

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALGOS = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}

# Where cachegc differs from Nix 2.8 on purpose (README, crawl section):
# variant -> (what Nix 2.8 does, what cachegc does).  The test checks that
# both still do exactly that, so the list cannot go stale.
DELIBERATE = {
    "name-leading-dot": ("accepted", "rejected"),
    "storepath-separator-underscore": ("accepted", "rejected"),
    "ref-separator-underscore": ("accepted", "rejected"),
    "narsize-2^63": ("accepted", "rejected"),
    "filesize-2^64-1": ("accepted", "rejected"),
    "url-invalid-utf8": ("accepted", "rejected"),
    "url-nul": ("accepted", "rejected"),
    "ca-fixed-git-sha1": ("rejected", "accepted"),
    # Nix 2.8's path-info shows a narinfo under the StorePath it names even
    # when the file is named after another hash; cachegc refuses it (the
    # goodStorePath() check of Nix's queryPathInfo).
    "storepath-own-then-other": ("accepted", "rejected"),
    "file-named-other-hash": ("accepted", "rejected"),
}
# Signature verdicts where Nix 2.8 and cachegc's verify differ on purpose
# (README, Signatures): a signature under a trusted key that is not 64
# bytes of base64 makes Nix 2.8 throw ("signature is not valid") whatever
# the other signatures are; cachegc calls it malformed-signature and a
# good signature beside it still counts.
VERDICT_DIFF = {}
for v in ("empty-sig", "bad-char", "spaces", "short-trusted", "long-trusted"):
    VERDICT_DIFF[f"sig-{v}"] = ("error", False)
    VERDICT_DIFF[f"sig-{v}-plus-good"] = ("error", True)


def nix32_decode(s, size):
    out = bytearray(size)
    for n in range(len(s)):
        d = NIX32.index(s[len(s) - n - 1])
        b = n * 5
        i, j = b // 8, b % 8
        out[i] |= (d << j) & 0xFF
        if i < size - 1:
            out[i + 1] |= d >> (8 - j)
    return bytes(out)


def nix32_encode(b):
    n = (len(b) * 8 - 1) // 5 + 1
    out = []
    for k in range(n - 1, -1, -1):
        bit = k * 5
        i, j = bit // 8, bit % 8
        c = b[i] >> j
        if i + 1 < len(b):
            c |= b[i + 1] << (8 - j)
        out.append(NIX32[c & 0x1F])
    return "".join(out)


def hash_bytes(s):
    """(algo, bytes) of a hash as Nix prints it (nix32 or SRI), or None."""
    if s is None:
        return None
    if ":" in s:
        algo, rest = s.split(":", 1)
        if len(rest) == ALGOS[algo] * 2:
            return algo, bytes.fromhex(rest)
        return algo, nix32_decode(rest, ALGOS[algo])
    algo, rest = s.split("-", 1)
    return algo, base64.b64decode(rest)


def printable(s):
    """Nix's string with control characters and bytes that are not UTF-8
    as '?', as cachegc keeps them."""
    return "".join("?" if ord(c) < 0x20 or c == "\x7f" or 0xDC80 <= ord(c) <= 0xDCFF else c
                   for c in s)


def read_narinfo(path):
    with open(path, "rb") as f:
        text = f.read()
    fields = []
    for line in text.decode().splitlines():
        k, v = line.split(": ", 1)
        fields.append((k, v))
    return fields


def hash_of(p):
    return os.path.basename(p)[:32]


def base_of(p):
    return os.path.basename(p)


E, NOTE, SELF = os.environ["E"], os.environ["NOTE"], os.environ["SELF"]
BASE = {p: read_narinfo(os.path.join(CACHE, hash_of(p) + ".narinfo")) for p in (E, NOTE, SELF)}


def text(fields, nl="\n"):
    return "".join(f"{k}: {v}{nl}" for k, v in fields).encode()


def get(fields, key):
    return [v for k, v in fields if k == key][0]


def setf(fields, key, value):
    return [(k, value if k == key else v) for k, v in fields]


def drop(fields, key):
    return [(k, v) for k, v in fields if k != key]


def insert_after(fields, key, new):
    out = []
    for k, v in fields:
        out.append((k, v))
        if k == key:
            out.extend(new)
    return out


VARIANTS = []


def variant(name, data, path=E, fname=None):
    """data: bytes of the narinfo; path: what Nix is asked for; fname: the
    hash the file is named after (default: path's)."""
    VARIANTS.append((name, data, path, fname or hash_of(path)))


def hash_forms(h):
    """Encodings of an "algo:nix32" hash: name -> text."""
    algo, nix = h.split(":", 1)
    raw = nix32_decode(nix, ALGOS[algo])
    b64 = base64.b64encode(raw).decode()
    forms = {
        "base16": f"{algo}:{raw.hex()}",
        "base16-upper": f"{algo}:{raw.hex().upper()}",
        "base64": f"{algo}:{b64}",
        "sri": f"{algo}-{b64}",
        "sri-no-padding": f"{algo}-{b64.rstrip('=')}",
        "sri-extra-padding": f"{algo}-{b64}==",
        "sri-junk-after-padding": f"{algo}-{b64}!x",
        "no-prefix": nix,
        "upper-algo": f"{algo.upper()}:{nix}",
        "wrong-algo": f"sha1:{nix}",
        "sha512-algo": f"sha512:{nix}",
        "bad-nix32-char": f"{algo}:e{nix[1:]}",
        "nix32-overflow": f"{algo}:z{nix[1:]}",
        "short": f"{algo}:{nix[:-1]}",
        "long": f"{algo}:{nix}0",
        "base64-mid-padding": f"{algo}:{b64[:20]}={b64[21:]}",
    }
    # the last base64 digit before '=' carries 4 bits of padding for 32 bytes
    last = b64.rstrip("=")
    i = B64.index(last[-1])
    if i & 0xF != 0xF:
        forms["base64-noncanonical-bits"] = f"{algo}:{last[:-1]}{B64[i | 0xF]}="
    forms["sri-noncanonical-bits"] = f"{algo}-{last[:-1]}{B64[i ^ 1]}"
    return forms


def build():
    e = BASE[E]
    refs = get(e, "References").split()
    # --- framing ---------------------------------------------------------
    variant("as-pushed", text(e))
    variant("no-final-newline", text(e)[:-1])
    variant("trailing-blank-line", text(e) + b"\n")
    variant("leading-blank-line", b"\n" + text(e))
    variant("crlf", text(e, "\r\n"))
    for key in ("URL", "Sig", "Compression", "References", "NarSize", "Deriver", "StorePath", "FileSize"):
        variant(f"cr-on-{key}", b"".join(
            f"{k}: {v}{chr(13) if k == key else ''}\n".encode() for k, v in e))
    variant("junk-line-first", b"junk line\n" + text(e))
    variant("junk-line-before-deriver", text(insert_after(e, "References", [])).replace(
        b"Deriver:", b"no colon here\nDeriver:"))
    variant("junk-line-last", text(e) + b"junk\n")
    variant("comment-line", b"# comment: here\n" + text(e))
    variant("empty-key", b": nothing\n" + text(e))
    variant("nul-in-unknown-key", b"Fo\0o: bar\n" + text(e))
    variant("invalid-utf8-in-unknown-value", b"Foo: \xff\xfe\n" + text(e))
    variant("lone-colon-line", text(e) + b":\n")
    # --- separators --------------------------------------------------------
    for key in ("StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash",
                "NarSize", "References", "Deriver", "Sig"):
        raw = text(e).replace(f"\n{key}: ".encode(), f"\n{key}:".encode()) if key != "StorePath" \
            else text(e).replace(b"StorePath: ", b"StorePath:", 1)
        variant(f"no-space-{key}", raw)
        variant(f"tab-{key}", raw.replace(f"{key}:".encode(), f"{key}:\t".encode(), 1))
        variant(f"two-spaces-{key}", raw.replace(f"{key}:".encode(), f"{key}:  ".encode(), 1))
        variant(f"trailing-space-{key}", b"".join(
            f"{k}: {v}{' ' if k == key else ''}\n".encode() for k, v in e))
        variant(f"space-before-colon-{key}", b"".join(
            f"{k}{' ' if k == key else ''}: {v}\n".encode() for k, v in e))
        variant(f"lowercase-{key}", b"".join(
            f"{k.lower() if k == key else k}: {v}\n".encode() for k, v in e))
    variant("colon-then-newline-URL", text(e).replace(b"URL: ", b"URL:\n"))
    # --- order -----------------------------------------------------------
    variant("reversed", text(list(reversed(e))))
    rnd = random.Random(10)
    for n in range(3):
        f = list(e)
        rnd.shuffle(f)
        variant(f"shuffled-{n}", text(f))
    # --- duplicates ------------------------------------------------------
    other = BASE[SELF]
    variant("storepath-twice", text([("StorePath", E)] + e))
    variant("storepath-other-then-own", text([("StorePath", SELF)] + e))
    variant("storepath-own-then-other", text(e + [("StorePath", SELF)]))
    variant("storepath-bad-then-own", text([("StorePath", "/nix/store/x")] + e))
    variant("url-twice", text(e + [("URL", "nar/other.nar.xz")]))
    variant("url-then-empty", text(e + [("URL", "")]))
    variant("url-empty-then-url", text([("URL", "")] + e))
    variant("compression-twice", text(e + [("Compression", "zstd")]))
    variant("compression-then-empty", text(e + [("Compression", "")]))
    variant("filehash-twice", text(e + [("FileHash", get(other, "FileHash"))]))
    variant("filesize-twice", text(e + [("FileSize", "12345")]))
    variant("narhash-twice", text(e + [("NarHash", get(other, "NarHash"))]))
    variant("narhash-bad-then-good", text([("NarHash", "sha256:bad")] + e))
    variant("narsize-twice", text(e + [("NarSize", "777")]))
    variant("narsize-zero-then-good", text([("NarSize", "0")] + e))
    variant("narsize-good-then-zero", text(e + [("NarSize", "0")]))
    variant("references-empty-then-full", text([("References", "")] + e))
    variant("references-full-then-empty", text(e + [("References", "")]))
    variant("references-twice", text(e + [("References", get(e, "References"))]))
    variant("references-spaces-then-full", text([("References", "   ")] + e))
    variant("deriver-twice", text(e + [("Deriver", base_of(SELF) + ".drv")]))
    variant("deriver-then-unknown", text(e + [("Deriver", "unknown-deriver")]))
    variant("unknown-then-deriver", text([("Deriver", "unknown-deriver")] + e))
    variant("sig-twice-same", text(e + [("Sig", get(e, "Sig"))]))
    variant("system-twice", text(e + [("System", "x86_64-linux"), ("System", "aarch64-linux")]))
    # --- missing and extra keys ------------------------------------------
    for key in ("StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash",
                "NarSize", "References", "Deriver", "Sig"):
        variant(f"missing-{key}", text(drop(e, key)))
        variant(f"empty-{key}", text(setf(e, key, "")))
    variant("only-required", text([(k, v) for k, v in e if k in ("StorePath", "URL", "NarHash", "NarSize")]))
    variant("unknown-key", text(e + [("Foo", "bar"), ("X-Cachix", "1")]))
    variant("system", text(e + [("System", "x86_64-linux")]))
    variant("system-empty", text(e + [("System", "")]))
    variant("unknown-deriver", text(setf(e, "Deriver", "unknown-deriver")))
    # --- hash encodings --------------------------------------------------
    for key in ("NarHash", "FileHash"):
        for form, h in hash_forms(get(e, key)).items():
            variant(f"{key}-{form}", text(setf(e, key, h)))
    # --- sizes -----------------------------------------------------------
    ns = get(e, "NarSize")
    for key, val in (("NarSize", "+" + ns), ("NarSize", "0" + ns), ("NarSize", "-" + ns),
                     ("NarSize", ns + ".0"), ("NarSize", "0x10"), ("NarSize", "0"),
                     ("NarSize", "00"), ("NarSize", " " + ns), ("NarSize", "1e3"),
                     ("NarSize", "9223372036854775807"), ("NarSize", "18446744073709551616"),
                     ("FileSize", "0"), ("FileSize", "+1"), ("FileSize", "-1"),
                     ("FileSize", "abc"), ("FileSize", "-0")):
        variant(f"{key}-{val.strip().replace(' ', '_')}", text(setf(e, key, val)))
    variant("narsize-2^63", text(setf(e, "NarSize", "9223372036854775808")))
    variant("filesize-2^64-1", text(setf(e, "FileSize", "18446744073709551615")))
    # --- store paths -----------------------------------------------------
    h, name = hash_of(E), base_of(E)[33:]
    for vname, sp in (("double-slash", f"/nix/store//{h}-{name}"),
                      ("dot", f"/nix/store/./{h}-{name}"),
                      ("dot-in-dir", f"/nix/./store/{h}-{name}"),
                      ("dotdot", f"/nix/store/../store/{h}-{name}"),
                      ("dotdot-at-root", f"/../nix/store/{h}-{name}"),
                      ("trailing-slash", f"/nix/store/{h}-{name}/"),
                      ("trailing-dot", f"/nix/store/{h}-{name}/."),
                      ("leading-double-slash", f"//nix/store/{h}-{name}"),
                      ("dotdot-out", f"/nix/store/{h}-{name}/.."),
                      ("relative", f"nix/store/{h}-{name}"),
                      ("other-store", f"/gnu/store/{h}-{name}"),
                      ("subdir", f"/nix/store/sub/{h}-{name}"),
                      ("upper-hash", f"/nix/store/{h.upper()}-{name}"),
                      ("hash-with-e", f"/nix/store/e{h[1:]}-{name}"),
                      ("short-hash", f"/nix/store/{h[1:]}-{name}"),
                      ("no-name", f"/nix/store/{h}-"),
                      ("no-dash", f"/nix/store/{h}"),
                      ("name-with-at", f"/nix/store/{h}-{name}@1"),
                      ("name-with-space", f"/nix/store/{h}-{name} x")):
        variant(f"storepath-{vname}", text(setf(e, "StorePath", sp)))
    for vname, nm in (("name-plus-eq-q", name + "+=?_."), ("name-211", "x" * 211),
                      ("name-212", "x" * 212), ("name-leading-dot", "." + name),
                      ("name-other", name + "-2")):
        p = f"{STORE}/{h}-{nm}"
        variant(vname, text(setf(e, "StorePath", p)), path=p, fname=h)
    p = f"{STORE}/{h}_{name}"
    variant("storepath-separator-underscore", text(setf(e, "StorePath", p)), path=p, fname=h)
    variant("file-named-other-hash", text(e), path=SELF)
    # --- references ------------------------------------------------------
    r = get(e, "References")
    for vname, val in (("tab", r.replace(" ", "\t")), ("double-space", r.replace(" ", "  ")),
                       ("leading-space", " " + r), ("self", r + " " + base_of(E)),
                       ("duplicate", r + " " + refs[0]), ("full-path", f"{STORE}/{refs[0]}"),
                       ("bad-char", refs[0] + "@"), ("unknown-path", "0" * 32 + "-nowhere"),
                       ("only-spaces", "   "), ("comma", ",".join(refs)),
                       ("no-name", refs[0][:33])):
        variant(f"references-{vname}", text(setf(e, "References", val)))
    variant("ref-separator-underscore", text(setf(e, "References", refs[0][:32] + "_" + refs[0][33:])))
    variant("self-references-self", text(BASE[SELF]), path=SELF)
    sr = get(BASE[SELF], "References")
    variant("self-reference-renamed", text(setf(BASE[SELF], "References", sr + "-renamed")), path=SELF)
    # --- deriver ---------------------------------------------------------
    d = get(e, "Deriver")
    for vname, val in (("no-drv", d[:-4]), ("full-path", f"{STORE}/{d}"), ("bad-hash", "e" + d[1:]),
                       ("name-only", "foo.drv")):
        variant(f"deriver-{vname}", text(setf(e, "Deriver", val)))
    # --- signatures ------------------------------------------------------
    sig = get(e, "Sig")
    kname, b64 = sig.split(":", 1)
    body = b64.rstrip("=")
    i = B64.index(body[-1])
    for vname, val in (("no-colon", "nocolon"), ("empty-name", ":" + b64), ("empty-sig", kname + ":"),
                       ("noncanonical-bits", f"{kname}:{body[:-1]}{B64[i ^ 1]}=="),
                       ("no-padding", f"{kname}:{body}"),
                       ("garbage-after-padding", f"{kname}:{b64}!!"),
                       ("bad-char", f"{kname}:{body[:-1]}!=="),
                       ("short-trusted", f"{kname}:{base64.b64encode(b'x' * 63).decode()}"),
                       ("long-trusted", f"{kname}:{base64.b64encode(b'x' * 65).decode()}"),
                       ("unknown-key", f"other-key:{b64}"), ("spaces", f"{kname}: {b64}"),
                       ("just-x", "x"), ("invalid-utf8", None), ("nul", None)):
        if val is None:
            bad = b"\xff\xfe" if vname == "invalid-utf8" else b"a\0b"
            variant(f"sig-{vname}", text(e) + b"Sig: " + bad + b"\n")
            continue
        variant(f"sig-{vname}", text(setf(e, "Sig", val)))
        variant(f"sig-{vname}-plus-good", text(e + [("Sig", val)]))
    variant("sig-many", text(e + [("Sig", f"k{n}:{b64}") for n in range(50)]))
    # --- URL and compression forms ---------------------------------------
    u = get(e, "URL")
    for vname, val in (("absolute", "http://example.org/" + u), ("dotdot", "../" + u),
                       ("query", u + "?a=b"), ("spaces", "nar/a b.nar"), ("percent", "nar/a%20b.nar"),
                       ("dir-only", "nar/"), ("unicode", "nar/\u00e9.nar")):
        variant(f"url-{vname}", text(setf(e, "URL", val)))
    variant("url-invalid-utf8", text(e).replace(u.encode(), b"nar/\xff.nar"))
    variant("url-nul", text(e).replace(u.encode(), b"nar/a\0b.nar"))
    for val in ("none", "zstd", "XZ", "br", "gzip"):
        variant(f"compression-{val}", text(setf(e, "Compression", val)))
    # --- content addresses -----------------------------------------------
    n = BASE[NOTE]
    ca = get(n, "CA")
    algo, hh = ca.split(":")[-2:]
    raw = nix32_decode(hh, ALGOS[algo])
    sha1 = bytes(range(20))
    for vname, val in (("as-pushed", ca), ("base16", f"text:{algo}:{raw.hex()}"),
                       ("base64", f"text:{algo}:{base64.b64encode(raw).decode()}"),
                       ("sri", f"text:{algo}-{base64.b64encode(raw).decode()}"),
                       ("text-sha1", f"text:sha1:{nix32_encode(sha1)}"),
                       ("fixed-flat", f"fixed:{algo}:{hh}"), ("fixed-r", f"fixed:r:{algo}:{hh}"),
                       ("fixed-md5", f"fixed:md5:{bytes(16).hex()}"),
                       ("fixed-sha1", f"fixed:r:sha1:{sha1.hex()}"),
                       ("fixed-git-sha1", f"fixed:git:sha1:{sha1.hex()}"),
                       ("fixed-unknown-algo", f"fixed:blake3:{hh}"),
                       ("no-method", f"{algo}:{hh}"), ("unknown-method", f"foo:{algo}:{hh}"),
                       ("empty", ""), ("bad-hash", f"text:{algo}:x")):
        variant(f"ca-{vname}", text(setf(n, "CA", val)), path=NOTE)
    variant("ca-twice", text(n + [("CA", ca)]), path=NOTE)
    variant("ca-empty-then-ca", text([("CA", "")] + n), path=NOTE)
    variant("ca-then-empty", text(n + [("CA", "")]), path=NOTE)


# Pieces the random mutator inserts: what narinfo parsers trip over.
PIECES = [b":", b": ", b"\n", b"\r", b"\t", b" ", b"  ", b"\0", b"\xff", b"=", b"/", b"/.", b"//",
          b"..", b"-", b"+", b"0", b"sha256:", b"sha256-", b"StorePath: ", b"URL: ", b"NarSize: ",
          b"References: ", b"Sig: ", b"CA: ", b"Deriver: ", b"unknown-deriver", b"fixed:r:"]


def mutate(rnd, data):
    """One random mutant of data: 1 to 3 edits of bytes or whole lines."""
    for _ in range(rnd.randint(1, 3)):
        lines = data.split(b"\n")
        op = rnd.randrange(8)
        i = rnd.randrange(len(data) + 1)
        if op == 0:      # insert a piece
            data = data[:i] + rnd.choice(PIECES) + data[i:]
        elif op == 1:    # delete a few bytes
            data = data[:i] + data[i + rnd.randint(1, 4):]
        elif op == 2:    # replace a byte
            data = data[:i] + bytes([rnd.randrange(256)]) + data[i + 1:]
        elif op == 3:    # duplicate a line
            k = rnd.randrange(len(lines))
            lines.insert(rnd.randrange(len(lines) + 1), lines[k])
            data = b"\n".join(lines)
        elif op == 4:    # drop a line
            del lines[rnd.randrange(len(lines))]
            data = b"\n".join(lines)
        elif op == 5:    # swap two lines
            a, b = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = b"\n".join(lines)
        elif op == 6:    # a byte of a value changes case or digit
            j = rnd.randrange(len(data)) if data else 0
            c = data[j:j + 1]
            data = data[:j] + (c.swapcase() if c.isalpha() else bytes([(c[0] + 1) % 256]) if c else b"") \
                + data[j + 1:]
        else:            # cut the file short
            data = data[:i]
    return data


def build_random(n, seed):
    rnd = random.Random(seed)
    bases = [(p, text(BASE[p])) for p in (E, NOTE, SELF)]
    for k in range(n):
        p, data = rnd.choice(bases)
        variant(f"random-{seed}-{k}", mutate(rnd, data), path=p)


def nix_entries(data):
    """(key, value) pairs as Nix 2.8's lexer cuts them (no refusals)."""
    pos, out = 0, []
    while pos < len(data):
        c = data.find(b":", pos)
        eol = data.find(b"\n", c + 2) if c >= 0 else -1
        if c < 0 or eol < 0:
            break
        out.append((data[pos:c], data[c + 2:eol]))
        pos = eol + 1
    return out


def deliberate_in(data, fname):
    """Why a narinfo Nix accepts is one cachegc refuses on purpose (see
    DELIBERATE), or None."""
    def odd_base(b):
        return len(b) > 33 and (b[32:33] != b"-" or b[33:34] == b".")
    for k, v in nix_entries(data):
        if k == b"URL" and (b"\0" in v or not valid_utf8(v)):
            return "a URL with a NUL byte or bytes that are not UTF-8"
        if k == b"StorePath" and (odd_base(v.rstrip(b"/").split(b"/")[-1]) or
                                  v.rstrip(b"/").split(b"/")[-1][:32] != fname.encode()):
            return "a StorePath with another hash, a '.' name or no '-'"
        if k in (b"References", b"Deriver") and any(odd_base(t) for t in v.split(b" ")):
            return "a reference or deriver with a '.' name or no '-'"
        if k in (b"NarSize", b"FileSize") and v.lstrip(b"+").isdigit() and \
                2 ** 63 <= int(v.lstrip(b"+")) < 2 ** 64:
            return "a size over 2^63-1"
    return None


def valid_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def nix_view(d, path):
    """("accepted", info) or ("rejected", why)."""
    r = run(["nix", "path-info", "--json", "--store", "file://" + d, path])
    if r.returncode != 0:
        return "rejected", r.stderr.decode(errors="replace").strip().splitlines()[-1:]
    info = json.loads(r.stdout.decode(errors="surrogateescape"))[0]
    if info.get("valid") is False:
        return "rejected", "valid: false"
    return "accepted", info


def nix_trusts(d, path):
    r = run(["nix", "store", "verify", "--store", "file://" + d, "--no-contents", "--sigs-needed", "1",
             "--trusted-public-keys", KEY, path])
    if r.returncode == 0:
        return True
    if b"is untrusted" in r.stderr:
        return False
    return "error"


def our_view(d, db):
    r = run(CG + ["--db", db, "crawl", d])
    con = sqlite3.connect(db)
    con.text_factory = lambda b: b.decode(errors="surrogateescape")
    rows = con.execute("SELECT p.hash, p.name, n.url, n.file_hash, n.file_size, n.nar_hash, n.nar_size, "
                       "n.deriver, n.ca, n.refs, n.sigs FROM narinfos n JOIN paths p ON p.id = n.path_id").fetchall()
    rejects = con.execute("SELECT count(*) FROM crawl_rejects").fetchone()[0]
    names = dict(con.execute("SELECT id, hash || '-' || name FROM paths"))
    con.close()
    err = r.stderr.decode(errors="replace").strip()
    if not rows:
        return "rejected", rejects, err
    h, nm, url, fh, fs, nh, nsz, drv, ca, refs, sigs = rows[0]
    return "accepted", rejects, {
        "stderr": err,
        "path": f"{STORE}/{h}-{nm}", "url": url, "downloadHash": fh, "downloadSize": fs or None,
        "narHash": nh, "narSize": nsz, "deriver": f"{STORE}/{drv}" if drv else None, "ca": ca,
        "references": sorted(f"{STORE}/{names[i]}" for i in json.loads(refs)),
        "signatures": sorted(set(json.loads(sigs))),
    }


def our_trusts(db):
    run(CG + ["--db", db, "keys", "add", KEY])
    r = run(CG + ["--db", db, "verify", "--json"])
    return json.loads(r.stdout)["paths"][0]["trusted"], r


def compare(name, nix, ours):
    diffs = []
    want = {
        "path": nix["path"], "url": nix.get("url"), "downloadHash": hash_bytes(nix.get("downloadHash")),
        "downloadSize": nix.get("downloadSize"), "narHash": hash_bytes(nix["narHash"]),
        "narSize": nix["narSize"], "deriver": nix.get("deriver"), "ca": nix.get("ca"),
        "references": sorted(nix["references"]),
        "signatures": sorted(set(printable(s) for s in nix.get("signatures", []))),
    }
    ours = dict(ours, downloadHash=hash_bytes(ours["downloadHash"]), narHash=hash_bytes(ours["narHash"]))
    # cachegc knows one name per hash (a hash determines the path): a
    # reference naming a known hash with another name is that path
    if [r[:44] for r in ours["references"]] == [r[:44] for r in want["references"]] and \
            ours["references"] != want["references"]:
        renamed.add(name)
        want["references"] = ours["references"]
    # the crawl warns about a narinfo in a form no Nix writes, and only then
    if name == "as-pushed" and ours["stderr"]:
        diffs.append(f"a warning for a narinfo as Nix wrote it: {ours['stderr']}")
    if name in ("sig-no-colon", "sig-empty-name", "sig-just-x", "sig-empty-sig") and \
            "malformed-signature" not in ours["stderr"]:
        diffs.append(f"no malformed-signature warning: {ours['stderr']!r}")
    for k, v in want.items():
        if ours[k] != v:
            diffs.append(f"{k}: Nix {v!r}, cachegc {ours[k]!r}")
    return diffs


renamed = set()


def main():
    build()
    # RANDOM_VARIANTS=N[:SEED] adds N random mutants (a differential fuzzer)
    spec = os.environ.get("RANDOM_VARIANTS", "")
    if spec:
        n, _, seed = spec.partition(":")
        build_random(int(n), int(seed or 1))
    info = os.path.join(CACHE, "nix-cache-info")
    seen = set()
    counts = {"accepted": 0, "rejected": 0, "deliberate": 0}
    for idx, (name, data, path, fname) in enumerate(VARIANTS):
        assert name not in seen, name
        seen.add(name)
        d = os.path.join(T, "v", f"{idx:03d}")
        os.makedirs(d)
        shutil.copy(info, d)
        with open(os.path.join(d, fname + ".narinfo"), "wb") as f:
            f.write(data)
        nv, ninfo = nix_view(d, path)
        ov, rejects, oinfo = our_view(d, d + ".db")
        err = oinfo if ov == "rejected" else oinfo["stderr"]
        if "Sanitizer" in err or "runtime error:" in err:
            print(f"FAIL {name}-sanitizer: {err[:600]}")
            continue
        if name in DELIBERATE:
            counts["deliberate"] += 1
            want = DELIBERATE[name]
            if (nv, ov) == want:
                print(f"PASS {name} (deliberate: Nix {nv}, cachegc {ov})")
            else:
                print(f"FAIL {name}: documented as Nix {want[0]}, cachegc {want[1]}; now Nix {nv}, "
                      f"cachegc {ov} ({ninfo if nv == 'rejected' else ''} {oinfo if ov == 'rejected' else ''})")
            continue
        why = deliberate_in(data, fname) if name.startswith("random-") else None
        if why and (nv, ov) == ("accepted", "rejected"):
            counts["deliberate"] += 1
            print(f"PASS {name} (deliberate: {why})")
            continue
        if nv != ov:
            print(f"FAIL {name}: Nix {nv} ({ninfo if nv == 'rejected' else ''}), cachegc {ov} "
                  f"({oinfo if ov == 'rejected' else ''})")
            continue
        if nv == "rejected":
            counts[nv] += 1
            if rejects != 1:
                print(f"FAIL {name}-recorded: rejected but {rejects} rows in crawl_rejects")
            else:
                print(f"PASS {name} (both refuse)")
            continue
        diffs = compare(name, ninfo, oinfo)
        if diffs:
            print(f"FAIL {name}: " + "; ".join(diffs))
            continue
        nt = nix_trusts(d, path)
        ot, r = our_trusts(d + ".db")
        want = VERDICT_DIFF.get(name)
        if name.startswith("random-") and nt == "error":
            # a signature under the trusted key that is not 64 bytes
            ok, what = True, f"Nix throws, cachegc trusted {ot}"
        elif want:
            ok = (nt, ot) == want
            what = f"deliberate verdict: Nix {nt}, cachegc {ot}"
        else:
            ok = nt == ot
            what = f"trusted {ot}"
        if name in renamed:
            # the fingerprint Nix checks names the reference as written;
            # cachegc's names the path its hash names (README)
            ok, what = True, f"verdicts: Nix {nt}, cachegc {ot}"
        if not ok:
            print(f"FAIL {name}-verdict: Nix trusted={nt}, cachegc trusted={ot} "
                  f"({r.stdout.decode(errors='replace')[:300]})")
        elif name in renamed:
            if name.startswith("random-") or name == "self-reference-renamed":
                counts["deliberate"] += 1
                print(f"PASS {name} (deliberate: a reference under another name is the path "
                      f"its hash names; {what})")
            else:
                print(f"FAIL {name}: a reference has another name than Nix shows")
        elif name == "self-reference-renamed":
            print(f"FAIL {name}: documented as a reference renamed; the names agree")
        else:
            counts["accepted"] += 1
            print(f"PASS {name} (both accept; fields equal; {what})")
    print(f"PASS variants-count {len(VARIANTS)} variants: {counts['accepted']} accepted and "
          f"{counts['rejected']} refused by both, {counts['deliberate']} deliberate differences"
          if len(VARIANTS) >= 100 else f"FAIL variants-count: only {len(VARIANTS)} variants")


main()
