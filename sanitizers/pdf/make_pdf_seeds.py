#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_pdf to tests/fuzz/corpus/fuzz_pdf/ (run from anywhere).

Small PDFs, each exercising one active feature or one structural trick: JavaScript in the usual
places, launch/URI/GoToR actions, attachments, XFA, /Next loops, object streams hiding objects,
incremental updates, trailing data, broken and looping cross-reference tables, and non-PDFs.
Deterministic: running it twice gives the same files.
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fuzz",
                   "corpus", "fuzz_pdf")
CONTENT = b"BT /F1 24 Tf 72 700 Td (Hello Mugai) Tj ET"
JS = b"<< /S /JavaScript /JS (app.alert\\(1\\);) >>"


def stream(data, extra=b""):
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def base(catalog=b"", page=b""):
    return [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page + b" >>",
        stream(CONTENT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def assemble(objs, trailer=b"", header=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"):
    out = bytearray(header)
    offsets = []
    for i, body in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i + 1, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, trailer, xref)
    return bytes(out)


def with_object_stream(objs, hidden):
    """objs uncompressed (1..n), then an object stream n+1 holding `hidden`, then an xref stream."""
    n = len(objs)
    header, body = b"", b""
    for i, h in enumerate(hidden):
        header += b"%d %d " % (n + 2 + i, len(body))
        body += h + b"\n"
    packed = zlib.compress(header + body, 9)
    objs = objs + [b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
                   b"stream\n%s\nendstream" % (len(hidden), len(header), len(packed), packed)]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i + 1, o)
    xref_num = len(objs) + len(hidden) + 1
    xref_off = len(out)
    table = struct.pack(">BIH", 0, 0, 0xFFFF)
    for off in offsets:
        table += struct.pack(">BIH", 1, off, 0)
    for i in range(len(hidden)):
        table += struct.pack(">BIH", 2, n + 1, i)
    table += struct.pack(">BIH", 1, xref_off, 0)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
            % (xref_num, xref_num + 1, len(table)) + table + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % xref_off
    return bytes(out)


def annot(action):
    return b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A " + action + b" >>"


def seeds():
    filespec = b"<< /Type /Filespec /F (a.exe) /UF (a.exe) /EF << /F 8 0 R >> >>"
    embedded = stream(b"MZ not a program", b"/Type /EmbeddedFile")
    yield "minimal.pdf", assemble(base())
    yield "openaction_js.pdf", assemble(base(b"/OpenAction 6 0 R") + [JS])
    yield "names_js.pdf", assemble(base(b"/Names << /JavaScript 6 0 R >>") +
                                   [b"<< /Names [(x) 7 0 R] >>", JS])
    yield "page_aa.pdf", assemble(base(page=b"/AA << /O 6 0 R /C 6 0 R >>") + [JS])
    yield "launch_link.pdf", assemble(base(page=b"/Annots [6 0 R]") +
                                      [annot(b"<< /S /Launch /F (cmd.exe) >>")])
    yield "uri_links.pdf", assemble(base(page=b"/Annots [6 0 R 7 0 R]") + [
        annot(b"<< /S /URI /URI (https://example.jp/) >>"),
        annot(b"<< /S /URI /URI (javascript:alert\\(1\\)) >>")])
    yield "gotor.pdf", assemble(base(page=b"/Annots [6 0 R]") +
                                [annot(b"<< /S /GoToR /F (x.pdf) /D [0 /Fit] >>")])
    yield "file_attachment.pdf", assemble(base(page=b"/Annots [6 0 R]") + [
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS 7 0 R >>", filespec,
        embedded])
    yield "embedded_files.pdf", assemble(base(b"/Names << /EmbeddedFiles 6 0 R >>") + [
        b"<< /Names [(a.exe) 7 0 R] >>", filespec, embedded])
    yield "xfa.pdf", assemble(base(b"/AcroForm << /Fields [] /XFA 6 0 R >> /NeedsRendering true")
                              + [stream(b"<xdp:xdp/>")])
    yield "next_chain.pdf", assemble(base(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >>")
                                     + [b"<< /S /JavaScript /JS (x) /Next 6 0 R >>"])
    yield "next_self_loop.pdf", assemble(base(b"/OpenAction 6 0 R") +
                                         [b"<< /S /GoTo /D [3 0 R /Fit] /Next [6 0 R 6 0 R] >>"])
    yield "objstm_js.pdf", with_object_stream(base(b"/OpenAction 7 0 R"), [JS])
    yield "objstm_orphans.pdf", with_object_stream(base(), [JS, b"<< /S /Launch /F (c) >>"])
    yield "objstm_self.pdf", with_object_stream(base(b"/X 6 0 R"), [b"6 0 R"])
    v1 = assemble(base(b"/OpenAction 6 0 R") + [JS])
    prev = int(v1[v1.rfind(b"startxref") + 10:].split(b"\n")[0])
    at = len(v1)
    v2 = v1 + b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    xref = len(v2)
    v2 += (b"xref\n1 1\n%010d 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Prev %d >>\n"
           b"startxref\n%d\n%%%%EOF\n" % (at, prev, xref))
    yield "incremental.pdf", v2
    yield "xref_prev_loop.pdf", v2.replace(b"/Prev %d" % prev, b"/Prev %d" % xref)
    yield "trailing_zip.pdf", assemble(base()) + b"PK\x03\x04\x14\x00\x00\x00junk"
    yield "header_offset.pdf", b"MZ\x90\x00" + assemble(base())
    yield "broken_offsets.pdf", assemble(base()).replace(b"0000000", b"0000099", 3)
    yield "truncated.pdf", assemble(base(b"/OpenAction 6 0 R") + [JS])[:300]
    yield "deep_nesting.pdf", assemble(base(b"/Deep " + b"[" * 3000 + b"]" * 3000))
    yield "huge_size.pdf", (b"%PDF-1.4\nxref\n0 99999999\ntrailer << /Size 99999999 /Root 1 0 R >>"
                            b"\nstartxref\n9\n%%EOF\n")
    yield "pages_loop.pdf", assemble([b"<< /Type /Catalog /Pages 2 0 R >>",
                                      b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                                      b"<< /Type /Page /Parent 2 0 R /Kids [2 0 R] >>"])
    yield "self_catalog.pdf", assemble([b"<< /Type /Catalog /Pages 1 0 R /OpenAction 1 0 R "
                                        b"/S /JavaScript /JS (x) >>"])
    yield "bad_length.pdf", assemble(base()[:3] + [b"<< /Length 99999 >>\nstream\n" + CONTENT +
                                                   b"\nendstream"] + base()[4:])
    yield "damaged_flate.pdf", assemble(base()[:3] + [stream(b"not zlib", b"/Filter /FlateDecode")]
                                        + base()[4:])
    yield "bad_content.pdf", assemble(base()[:3] + [stream(b"BT (unterminated ET")] + base()[4:])
    yield "media_actions.pdf", assemble(base(page=b"/Annots [6 0 R 7 0 R 8 0 R]") + [
        annot(b"<< /S /Movie /T (m) >>"), annot(b"<< /S /Rendition /OP 0 /JS (x) >>"),
        annot(b"<< /S /RichMediaExecute /CMD << /C (run) >> >>")])
    yield "annot_aa.pdf", assemble(base(page=b"/Annots [6 0 R]") + [
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /AA << /E " + JS + b" >> >>"])
    yield "oops.pdf", b"oops\n"
    yield "header_only.pdf", b"%PDF-"
    yield "empty.pdf", b""


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
