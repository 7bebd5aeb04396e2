#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_sniff (tests/fuzz/corpus/fuzz_sniff/).

Small crafted files: one per magic number, tiny OOXML/ODF/JAR/APK/encrypted zips, tiny OLE2
compound files (including broken ones), text-like samples, and adversarial inputs (a compression
bomb in [Content_Types].xml, a cyclic OLE2 directory, a zip claiming more entries than it has).
Run it from anywhere; it is deterministic (fixed zip timestamps) and rewrites every seed.
"""
import io
import os
import struct
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_sniff")
STAMP = (2024, 1, 1, 0, 0, 0)


def zip_bytes(entries, store_first=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, (name, data) in enumerate(entries):
            info = zipfile.ZipInfo(name, STAMP)
            stored = store_first and i == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def content_types(main):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/main.xml" ContentType="%s"/></Types>' % main)


def ooxml(main):
    return zip_bytes([("[Content_Types].xml", content_types(main)),
                      ("_rels/.rels", "<Relationships/>"), ("main.xml", "<x/>")])


def set_encrypted_flag(data):
    """Sets general-purpose bit 0 in every local and central header (a fake PKWARE zip)."""
    b = bytearray(data)
    for sig, flag_off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = b.find(sig)
        while pos >= 0:
            b[pos + flag_off] |= 1
            pos = b.find(sig, pos + 4)
    return bytes(b)


NOSTREAM = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE


def cfb(entries):
    """entries: (name, type, left, right, child); 512-byte sectors, FAT in sector 0."""
    dir_sectors = (len(entries) + 3) // 4
    header = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + bytes(16)
    header += struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096,
                          ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header += struct.pack("<I", 0) + b"\xFF" * (512 - len(header) - 4)
    fat = struct.pack("<I", 0xFFFFFFFD)
    for i in range(1, dir_sectors + 1):
        fat += struct.pack("<I", ENDOFCHAIN if i == dir_sectors else i + 1)
    fat += b"\xFF" * (512 - len(fat))
    d = b""
    for name, typ, left, right, child in entries:
        n = name.encode("utf-16-le") + b"\0\0"
        rec = n + bytes(64 - len(n)) + struct.pack("<HBBIII", len(n), typ, 1, left, right, child)
        rec += bytes(116 - len(rec)) + struct.pack("<III", ENDOFCHAIN, 0, 0)
        d += rec
    d += bytes(dir_sectors * 512 - len(d))
    return header + fat + d


def cfb_streams(*names):
    entries = [("Root Entry", 5, NOSTREAM, NOSTREAM, 1)]
    for i, n in enumerate(names):
        entries.append((n, 2, NOSTREAM, i + 2 if i + 1 < len(names) else NOSTREAM, NOSTREAM))
    return cfb(entries)


def place(off, data, size):
    b = bytearray(max(size, off + len(data)))
    b[off:off + len(data)] = data
    return bytes(b)


WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
SEEDS = {
    # Executables and shortcuts.
    "pe.bin": b"MZ" + place(0x3C - 2, struct.pack("<I", 0x40), 0x3E) + b"PE\0\0" + bytes(20),
    "mz-only.bin": b"MZ",
    "elf.bin": b"\x7fELF\x02\x01\x01" + bytes(9),
    "macho-fat.bin": b"\xca\xfe\xba\xbe\0\0\0\x02" + bytes(40),
    "java.class": b"\xca\xfe\xba\xbe\0\0\0\x34\0\x10",
    "script.sh": b"#!/bin/sh\necho hi\n",
    "shortcut.lnk": b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0F" + bytes(56),
    "wasm.bin": b"\0asm\x01\0\0\0",
    "help.chm": b"ITSF\x03\0\0\0\x60\0\0\0",
    # Documents, images, archives.
    "junk-before.pdf": b"junk\x01\x02\n%PDF-1.4\n1 0 obj<<>>endobj\n",
    "tiny.png": b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
    "tiny.jpg": b"\xff\xd8\xff\xe0\0\x10JFIF\0",
    "tiny.gif": b"GIF89a\x01\0\x01\0\0\0\0;",
    "tiny.bmp": b"BM" + struct.pack("<IIII", 70, 0, 54, 40) + bytes(40),
    "tiny.webp": b"RIFF\x24\0\0\0WEBPVP8 ",
    "tiny.tif": b"II*\0\x08\0\0\0",
    "tiny.ico": b"\0\0\1\0\1\0\x10\x10\0\0\1\0\x20\0" + struct.pack("<II", 0x100, 22),
    "rtf-no-f.rtf": b"{\\rt\\ansi x}",
    "tiny.rar": b"Rar!\x1a\x07\x01\0",
    "tiny.7z": b"7z\xbc\xaf\x27\x1c\0\x04",
    "tiny.gz": b"\x1f\x8b\x08\0\0\0\0\0\0\x03",
    "tiny.bz2": b"BZh91AY&SY\x01\x02",
    "tiny.xz": b"\xfd7zXZ\0\0\x04",
    "tiny.zst": b"\x28\xb5\x2f\xfd\x04\0",
    "tiny.lzh": b"\x20\0-lh5-\x10\0\0\0",
    "tiny.cab": b"MSCF\0\0\0\0\x10\0\0\0",
    "tiny.tar": place(257, b"ustar\x0000", 512),
    "winmail.dat": b"\x78\x9f\x3e\x22\x01\0\x01\x06\x90",
    "section.one": bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3") + bytes(8),
    "signed.p7m": bytes.fromhex("308201000609 2a864886f70d010702a082".replace(" ", "")),
    "disk.dmg": place(1024 - 512, b"koly\0\0\0\x04\0\0\x02\0", 1024),
    "disk.vhd": place(1024 - 512, b"conectix", 1024),
    "disk.iso": place(32769, b"CD001\x01", 32775),
    # Zip containers.
    "empty.zip": b"PK\5\6" + bytes(18),
    "not-a.zip": b"PK\3\4 not really a zip",
    "tiny.docx": ooxml(WORD),
    "tiny.docm": ooxml("application/vnd.ms-word.document.macroEnabled.main+xml"),
    "tiny.xlsx": ooxml("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "tiny.pptm": ooxml("application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"),
    "tiny.odt": zip_bytes([("mimetype", "application/vnd.oasis.opendocument.text"),
                           ("content.xml", "<office:document-content/>")], store_first=True),
    "tiny.jar": zip_bytes([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"),
                           ("a/Main.class", b"\xca\xfe\xba\xbe")]),
    "tiny.apk": zip_bytes([("AndroidManifest.xml", b"\x03\0\x08\0"),
                           ("classes.dex", b"dex\n035\0")]),
    "encrypted.zip": set_encrypted_flag(zip_bytes([("secret.txt", "PPAP")])),
    # 4 MiB of spaces before the main type: only the first 1 MiB may be decompressed.
    "bomb-content-types.docx": zip_bytes([("[Content_Types].xml",
                                           " " * (4 << 20) + content_types(WORD))]),
    # Adversarial zip: the end record claims 65535 entries.
    "eocd-lies.zip": zip_bytes([("a.txt", "x")])[:-22] + b"PK\5\6\0\0\0\0\xff\xff\xff\xff"
                     + zip_bytes([("a.txt", "x")])[-10:],
    # OLE2.
    "tiny.doc": cfb_streams("WordDocument", "1Table"),
    "tiny.xls": cfb_streams("Workbook"),
    "tiny.msg": cfb_streams("__substg1.0_0037001F"),
    "encrypted-ooxml.docx": cfb_streams("EncryptionInfo", "EncryptedPackage"),
    "cyclic.cfb": cfb([("Root Entry", 5, NOSTREAM, NOSTREAM, 1), ("Workbook", 2, 2, 2, 1),
                       ("Other", 1, 1, 1, 0)]),
    "signature-only.cfb": b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
    # Text-like content.
    "page.html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "comment-first.html": b"<!-- saved from url=(0014)about:internet -->\n<p>x",
    "utf16.html": b"\xff\xfe" + "<html><body>x</body></html>".encode("utf-16-le"),
    "image.svg": b'<?xml version="1.0"?>\n<!-- gen -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    "xhtml-in.xml": b'<?xml version="1.0"?><r><x:script xmlns:x="http://www.w3.org/1999/xhtml"/></r>',
    "subset.xml": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a ">">]><r>&a;</r>',
    "invite.ics": b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    "card.vcf": b"BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n",
    "message.eml": b"From: a@example.jp\r\nTo: b@example.jp\r\nSubject: x\r\n\r\nbody\r\n",
    "iso2022jp.txt": b"\x1b$B$3$s$K$A$O\x1b(B\r\n",
    "sjis.txt": b"\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\r\n",
    "armor.asc": b"-----BEGIN PGP MESSAGE-----\n\nhQEMA\n",
    "garbage.bin": bytes(range(256)),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds written to %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
