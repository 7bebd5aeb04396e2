#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_zip to tests/fuzz/corpus/fuzz_zip/.

Each seed is a small zip written byte by byte here (not with a zip library), so that seeds can
hold exactly the hostile structures the sanitizer must refuse: overlapping entries, lying sizes,
local headers that disagree with the central directory, junk, ZIP64 records, legacy names,
symbolic links, encryption flags and unsupported methods, beside benign archives to rebuild.
Run from the repository root: python3 sanitizers/zip/make_zip_seeds.py
"""
import os
import struct
import sys
import zlib

OUT = os.path.join("tests", "fuzz", "corpus", "fuzz_zip")


class Member:
    def __init__(self, name, data=b"", method=8, flags=0, external=0o100644 << 16, made_by=0x031E,
                 extra=b"", descriptor=False, local_name=None, usize=None, csize=None, crc=None,
                 local_extra=b""):
        self.name = name if isinstance(name, bytes) else name.encode("utf-8")
        if isinstance(name, str) and not name.isascii():
            flags |= 0x800
        self.data = data
        self.method = method
        self.flags = flags | (0x08 if descriptor else 0)
        self.external = external
        self.made_by = made_by
        self.extra = extra
        self.local_extra = local_extra
        self.descriptor = descriptor
        self.local_name = self.name if local_name is None else local_name
        self.usize = usize
        self.csize = csize
        self.crc = crc


def compress(m):
    if m.method == 8:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(m.data) + c.flush()
    return m.data


def build(members, prefix=b"", suffix=b"", comment=b"", gap=b""):
    body = bytearray(prefix)
    central = bytearray()
    base = len(prefix)
    for i, m in enumerate(members):
        comp = compress(m)
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        usize = len(m.data) if m.usize is None else m.usize
        csize = len(comp) if m.csize is None else m.csize
        offset = len(body) - base
        lcrc, lcs, lus = (0, 0, 0) if m.descriptor else (crc, csize, usize)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.flags, m.method, 0, 0x21, lcrc, lcs,
                            lus, len(m.local_name), len(m.local_extra))
        body += m.local_name + m.local_extra + comp
        if m.descriptor:
            body += struct.pack("<IIII", 0x08074B50, crc, csize, usize)
        if i == 0:
            body += gap
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, m.made_by, 20, m.flags, m.method, 0,
                               0x21, crc, csize, usize, len(m.name), len(m.extra), 0, 0, 0,
                               m.external, offset)
        central += m.name + m.extra
    cd_offset = len(body) - base
    body += central
    body += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                        cd_offset, len(comment))
    return bytes(body) + comment + suffix


def zip64(members):
    """Like build(), with a ZIP64 end record and locator (sizes still fit in 32 bits)."""
    z = build(members)
    eocd = z.rfind(b"PK\x05\x06")
    n, cd_size, cd_offset = struct.unpack_from("<HII", z, eocd + 10)
    rec = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x2D, 0x2D, 0, 0, n, n, cd_size, cd_offset)
    loc = struct.pack("<IIQI", 0x07064B50, 0, eocd, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return z[:eocd] + rec + loc + end


def unicode_path(raw_name, utf8_name):
    body = b"\x01" + struct.pack("<I", zlib.crc32(raw_name)) + utf8_name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def seeds():
    text = b"hello from a zip\n" * 4
    pe = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40) + b"PE\0\0" + b"\x90" * 32
    inner = build([Member("inner.txt", b"inside")])
    s = {}
    s["empty.zip"] = build([])
    s["stored.zip"] = build([Member("a.txt", text, method=0)])
    s["deflated.zip"] = build([Member("a.txt", text)])
    s["folders.zip"] = build([Member("d/", method=0, external=(0o40755 << 16) | 0x10),
                              Member("d/e/", method=0), Member("d/e/f.txt", text)])
    s["nested.zip"] = build([Member("inner.zip", inner, method=0), Member("b.txt", b"b")])
    s["nested_deep.zip"] = build([Member("l1.zip", build([Member("l2.zip", build(
        [Member("l3.zip", build([Member("l4.zip", inner, method=0)]), method=0)]), method=0)]),
        method=0)])
    s["exe_member.zip"] = build([Member("setup.exe", pe), Member("readme.txt", text)])
    s["utf8_names.zip"] = build([Member("資料/", method=0), Member("資料/報告書.txt", text)])
    s["cp932_names.zip"] = build([Member("見積書.txt".encode("cp932"), text),
                                  Member("ｱｲｳ/".encode("cp932"), method=0)])
    s["cp437_names.zip"] = build([Member(b"caf\x82.txt", text)])
    s["gbk_names.zip"] = build([Member("审计压缩包文件.txt".encode("gbk"), text)])
    s["unicode_path.zip"] = build([Member(b"plain.txt", text,
                                          extra=unicode_path(b"plain.txt", "../evil.txt"))])
    up = unicode_path("r\u00e9sum\u00e9.txt".encode("cp437"), "履歴書.txt")
    s["unicode_path_ok.zip"] = build([Member("r\u00e9sum\u00e9.txt".encode("cp437"), text, extra=up,
                                             local_extra=up)])
    s["traversal.zip"] = build([Member("../evil.txt", text)])
    s["absolute.zip"] = build([Member("/etc/passwd", text)])
    s["backslash.zip"] = build([Member("a\\..\\b.txt", text)])
    s["drive.zip"] = build([Member("C:/x.txt", text)])
    s["control_name.zip"] = build([Member(b"a\x01b.txt", text)])
    s["nul_name.zip"] = build([Member(b"a\x00.txt", text)])
    s["bidi_name.zip"] = build([Member("x\u202etxt.exe", text)])
    s["dup_exact.zip"] = build([Member("a.txt", b"1"), Member("a.txt", b"2")])
    s["dup_case.zip"] = build([Member("a.txt", b"1"), Member("A.TXT", b"2")])
    s["dup_nfd.zip"] = build([Member("\u304c.txt", b"1"), Member("\u304b\u3099.txt", b"2")])
    s["file_and_dir.zip"] = build([Member("x", b"1"), Member("x/y.txt", b"2")])
    s["symlink.zip"] = build([Member("link", b"/etc/passwd", method=0, external=0o120777 << 16)])
    s["encrypted_flag.zip"] = build([Member("a.txt", text, flags=1)])
    s["aes_method.zip"] = build([Member("a.txt", text, method=99, flags=1)])
    s["bzip2_method.zip"] = build([Member("a.txt", text, method=12)])
    s["descriptor.zip"] = build([Member("a.txt", text, descriptor=True), Member("b.txt", b"b")])
    s["zip64.zip"] = zip64([Member("a.txt", text), Member("b.txt", b"b", method=0)])
    s["junk_prefix.zip"] = build([Member("a.txt", text)], prefix=b"MZ stub")
    s["junk_suffix.zip"] = build([Member("a.txt", text)], suffix=b"trailing bytes")
    s["junk_gap.zip"] = build([Member("a.txt", text), Member("b.txt", b"b")], gap=b"hidden")
    s["comment.zip"] = build([Member("a.txt", text)], comment=b"a comment")
    s["comment_fake_eocd.zip"] = build([Member("a.txt", text)],
                                       comment=b"PK\x05\x06" + b"\0" * 18)
    s["local_name_mismatch.zip"] = build([Member("a.txt", text, local_name=b"a.exe")])
    s["crc_mismatch.zip"] = build([Member("a.txt", text, crc=0x12345678)])
    s["lying_usize.zip"] = build([Member("zeros.bin", b"\0" * 200000, usize=100)])
    s["ratio_bomb.zip"] = build([Member("zeros.bin", b"\0" * 2000000)])
    s["dir_with_data.zip"] = build([Member("d/", b"data", method=0)])
    many = [Member("f%03d.txt" % i, b"x", method=0) for i in range(80)]
    s["too_many.zip"] = build(many)
    # Overlap: every entry's data is the same single deflate stream (zbsm in miniature).
    stream = Member("x", b"A" * 5000)
    comp = compress(stream)
    overlap = bytearray()
    central = bytearray()
    headers = []
    for i in range(3):
        name = b"%d" % i
        headers.append((len(overlap), name))
        overlap += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21,
                               zlib.crc32(b"A" * 5000), len(comp) + 30 * (2 - i) + (2 - i),
                               5000, 1, 0) + name
    overlap += comp
    for off, name in headers:
        i = int(name)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 8, 0, 0x21,
                               zlib.crc32(b"A" * 5000), len(comp) + 31 * (2 - i), 5000, 1, 0, 0,
                               0, 0, 0o100644 << 16, off) + name
    cd = len(overlap)
    overlap += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 3, 3, len(central), cd, 0)
    s["overlap.zip"] = bytes(overlap)
    multidisk = bytearray(build([Member("a.txt", text, method=0)]))
    struct.pack_into("<HH", multidisk, len(multidisk) - 18, 1, 1)
    s["multidisk.zip"] = bytes(multidisk)
    s["truncated.zip"] = build([Member("a.txt", text)])[:-30]
    s["garbage.zip"] = b"PK\x03\x04" + bytes(range(256))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds()), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
