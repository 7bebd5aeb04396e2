#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_image to tests/fuzz/corpus/fuzz_image/.

Small crafted PNG, JPEG and GIF files: valid ones carrying every kind of metadata the rebuilder
drops, and adversarial ones (truncations, bad CRCs, huge dimensions, broken chains, stray
markers). Re-run after changing this script; the output is deterministic.
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fuzz",
                   "corpus", "fuzz_image")


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def ihdr(w, h, depth=8, color=0, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))


SIG = b"\x89PNG\r\n\x1a\n"
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\x80"))
IEND = chunk(b"IEND", b"")


def png(before=b"", after=b"", trailing=b"", header=None):
    return SIG + (header or ihdr(1, 1)) + before + IDAT + after + IEND + trailing


def seg(m, p):
    return bytes([0xFF, m]) + struct.pack(">H", len(p) + 2) + p


JFIF = seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
DQT = seg(0xDB, b"\x00" + b"\x01" * 64)
DHT = (seg(0xC4, b"\x00\x01" + b"\x00" * 15 + b"\x00")
       + seg(0xC4, b"\x10\x01" + b"\x00" * 15 + b"\x00"))
SOS = seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")


def sof(m, w, h):
    return seg(m, b"\x08" + struct.pack(">HH", h, w) + b"\x01\x01\x11\x00")


def jpeg(meta=b"", trailing=b"", m=0xC0, w=8, h=8, scan=b"\x3f"):
    return (b"\xff\xd8" + JFIF + meta + DQT + sof(m, w, h) + DHT + SOS + scan + b"\xff\xd9"
            + trailing)


def exif(orientation):
    ifd = struct.pack("<H", 2) + struct.pack("<HHI4s", 0x10F, 2, 4, b"Cam\x00")
    ifd += struct.pack("<HHIHH", 0x112, 3, 1, orientation, 0) + b"\x00" * 4
    return seg(0xE1, b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + ifd + b"GPS")


GIF_HEAD = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
GIF_IMAGE = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00"
GCE = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"
LOOP = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
COMMENT = b"\x21\xfe\x05hello\x00"
XMP = b"\x21\xff\x0bXMP DataXMP\x06<x:x/>\x00"


def gif(blocks, trailing=b""):
    return GIF_HEAD + blocks + b";" + trailing


def main():
    seeds = {
        "png_min.png": png(),
        "png_text_trailing.png": png(chunk(b"tEXt", b"k\x00v"), chunk(b"tIME", b"\x07" * 7),
                                     b"PK\x03\x04"),
        "png_kept_chunks.png": png(chunk(b"gAMA", struct.pack(">I", 45455))
                                   + chunk(b"sRGB", b"\x00") + chunk(b"tRNS", b"\x00\x10")
                                   + chunk(b"pHYs", b"\x00" * 8 + b"\x01")),
        "png_apng.png": png(chunk(b"acTL", b"\x00" * 8) + chunk(b"fcTL", b"\x00" * 26),
                            chunk(b"fdAT", b"\x00\x00\x00\x01\x78\x01")),
        "png_palette.png": SIG + ihdr(1, 1, 8, 3) + chunk(b"PLTE", b"\xff\x00\x00")
                           + chunk(b"tRNS", b"\x80")
                           + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + IEND,
        "png_bad_crc.png": png()[:-5] + b"\x00" + png()[-4:],
        "png_unknown_critical.png": png(chunk(b"ABCD", b"x")),
        "png_huge.png": png(header=ihdr(0x7FFFFFFF, 0x7FFFFFFF)),
        "png_truncated.png": png(chunk(b"tEXt", b"k\x00v"))[:40],
        "png_len_overflow.png": SIG + b"\xff\xff\xff\xf0IHDR",
        "png_split_idat.png": png(b"", chunk(b"tEXt", b"a") + IDAT),
        "jpeg_min.jpg": jpeg(),
        "jpeg_exif_com_trailing.jpg": jpeg(exif(1) + seg(0xFE, b"comment"), b"trailing"),
        "jpeg_orientation.jpg": jpeg(exif(6)),
        "jpeg_xmp_icc.jpg": jpeg(seg(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")
                                 + seg(0xE2, b"ICC_PROFILE\x00\x01\x01abc")
                                 + seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01extra")),
        "jpeg_restart.jpg": b"\xff\xd8" + DQT + sof(0xC0, 16, 8) + DHT + seg(0xDD, b"\x00\x01")
                            + SOS
                            + b"\x3f\xff\xd0\x3f\xff\xff\xd9",
        "jpeg_progressive.jpg": b"\xff\xd8" + DQT + sof(0xC2, 8, 8) + DHT + SOS
                                + b"\x12\xff\x00\x34"
                                + DHT + SOS + b"\xff\x00\xff\xd9",
        "jpeg_arith.jpg": jpeg(m=0xC9),
        "jpeg_huge.jpg": jpeg(w=65535, h=65535),
        "jpeg_truncated.jpg": jpeg(exif(3))[:60],
        "jpeg_stray_rst.jpg": jpeg(b"\xff\xd0"),
        "jpeg_bad_len.jpg": b"\xff\xd8\xff\xe1\x00\x01",
        "jpeg_scan_to_end.jpg": b"\xff\xd8" + DQT + sof(0xC0, 8, 8) + DHT + SOS
                                + b"\x3f\xff\x00\xff",
        "gif_min.gif": gif(GIF_IMAGE),
        "gif_meta_trailing.gif": gif(LOOP + COMMENT + XMP + GCE + GIF_IMAGE + GCE + GIF_IMAGE,
                                     b"<x>"),
        "gif_bad_lzw.gif": gif(GIF_IMAGE[:10] + b"\x0c" + GIF_IMAGE[11:]),
        "gif_no_trailer.gif": GIF_HEAD + GIF_IMAGE,
        "gif_huge.gif": b"GIF89a\xff\xff\xff\xff\x00\x00\x00" + GIF_IMAGE + b";",
        "gif_broken_chain.gif": GIF_HEAD + GIF_IMAGE[:11] + b"\x7f\x44",
        "gif_plaintext.gif": gif(b"\x21\x01\x0c" + b"\x01" * 12 + b"\x04text\x00" + GIF_IMAGE),
        "empty.bin": b"",
        "noise.bin": bytes(range(256)),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
