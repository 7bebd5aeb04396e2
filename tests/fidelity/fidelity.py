#!/usr/bin/env python3
"""Fidelity test: rebuilt Office files and PDFs still open in real programs, with their text.

Every document is wrapped in a message, the messages go through `mugai sanitize --dir`, and the
rebuilt attachments are read back with the programs people use: LibreOffice (headless, Office
files converted to PDF) and poppler's pdftotext. The text of each rebuilt document is compared
with the text the same programs extract from the original.

Documents:
  * generated here: LibreOffice writes docx, xlsx, pptx and PDF from small flat-ODF sources that
    hold known Japanese and English sentences; these must come out rebuilt, open, and still
    contain every sentence;
  * every docx/docm/dotx/xlsx/xlsm/pptx/pptm/pdf under the third-party corpus folders listed in
    THIRD_PARTY_DIRS (skipped cleanly when the corpus is absent). Some are hostile or encrypted
    and may be removed (the reason is printed); each one that is rebuilt must open and keep at
    least MIN_WORD_SHARE of the words the original showed.

A rebuilt file must also carry a file name whose extension matches its content type (a .docm
comes out as .docx), and hold no active content by an independent look at its bytes: Office
packages are unzipped and searched for macro, ActiveX, OLE and customUI parts, DDE/INCLUDE field
codes and external relationship targets other than http(s)/mailto; PDFs are expanded with
`qpdf --qdf --object-streams=disable` (every stream decompressed) and searched for JavaScript,
Launch/SubmitForm/ImportData/GoToR/GoToE actions, embedded files, RichMedia, 3D and XFA.

Usage: fidelity.py MUGAI_BINARY WORK_DIR [THIRD_PARTY_DIR]
Exit status: 0 passed, 1 a check failed, 77 LibreOffice or pdftotext missing (ctest: skipped).
"""

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from email.message import EmailMessage

THIRD_PARTY_DIRS = ("calamine", "format-corpus", "mammoth", "oletools", "pdfjs", "poi",
                    "python-docx", "qpdf", "tika")
OFFICE_EXTS = (".docx", ".docm", ".dotx", ".dotm", ".xlsx", ".xlsm", ".xltx", ".pptx", ".pptm",
               ".potx", ".ppsx")
PDF_EXTS = (".pdf",)
MIN_WORD_SHARE = 0.9
# Findings that say visible content was taken out on purpose (an embedded object's picture and
# label, a linked field's result): such a document must open, but may show fewer words.
CONTENT_REMOVED = ("ooxml.ole_removed", "ooxml.activex_removed", "ooxml.altchunk_removed",
                   "ooxml.image_removed", "ooxml.external_field_removed", "ooxml.dde_removed",
                   "ooxml.external_link_removed", "ooxml.data_connection_removed",
                   "ooxml.xlm_macro_removed", "pdf.embedded_file_removed",
                   "pdf.file_attachment_removed", "pdf.media_removed", "pdf.richmedia_removed",
                   "pdf.xfa_removed")
CONVERT_TIMEOUT = 900

# Output content type -> the extensions a rebuilt file may carry.
EXT_FOR_TYPE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/pdf": (".pdf",),
}

SENTENCES = {
    "writer": ["令和6年度 予算執行計画について", "Fidelity check sentence for Writer 4711",
               "髙橋さんへ ①から③まで確認してください"],
    "calc": ["見積金額合計", "Calc8832", "消費税込み"],  # short: Calc clips text at the cell width
    "impress": ["住民説明会の資料", "Presentation fidelity 5519", "第2回 会議"],
}


def fodt(lines):
    body = "".join("<text:p>%s</text:p>" % escape(l) for l in lines)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
            'office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">'
            "<office:body><office:text>%s</office:text></office:body></office:document>\n" % body)


def fods(lines):
    rows = "".join('<table:table-row><table:table-cell office:value-type="string"><text:p>%s'
                   "</text:p></table:table-cell><table:table-cell office:value-type=\"float\" "
                   'office:value="%d"><text:p>%d</text:p></table:table-cell></table:table-row>'
                   % (escape(l), i + 1, i + 1) for i, l in enumerate(lines))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2" '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
            '<office:body><office:spreadsheet><table:table table:name="Sheet1">%s</table:table>'
            "</office:spreadsheet></office:body></office:document>\n" % rows)


def fodp(lines):
    frames = "".join(
        '<draw:page draw:name="p%d"><draw:frame svg:x="1cm" svg:y="1cm" svg:width="20cm" '
        'svg:height="3cm"><draw:text-box><text:p>%s</text:p></draw:text-box></draw:frame>'
        "</draw:page>" % (i + 1, escape(l)) for i, l in enumerate(lines))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
            'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
            'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
            'office:version="1.2" '
            'office:mimetype="application/vnd.oasis.opendocument.presentation">'
            "<office:body><office:presentation>%s</office:presentation></office:body>"
            "</office:document>\n" % frames)


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def run(cmd, timeout=CONVERT_TIMEOUT):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


class LibreOffice:
    """One private profile, so runs never share or wait for a user's LibreOffice."""

    def __init__(self, work):
        self.profile = os.path.join(work, "lo-profile")
        os.makedirs(self.profile, exist_ok=True)

    def convert(self, files, target, outdir):
        """Converts `files` (one soffice run) to `target`; returns {input: output or None}."""
        os.makedirs(outdir, exist_ok=True)
        result = {}
        if files:
            run(["soffice", "-env:UserInstallation=file://" + self.profile, "--headless",
                 "--norestore", "--convert-to", target, "--outdir", outdir] + list(files))
        ext = "." + target.split(":")[0]
        for f in files:
            out = os.path.join(outdir, os.path.splitext(os.path.basename(f))[0] + ext)
            result[f] = out if os.path.exists(out) and os.path.getsize(out) > 0 else None
        return result


def pdf_text(path):
    p = run(["pdftotext", "-enc", "UTF-8", "-layout", path, "-"], timeout=120)
    if p.returncode != 0:
        return None
    return p.stdout.decode("utf-8", "replace")


def words(text):
    """Words of two or more letters or digits (CJK runs count as words), case-folded."""
    return {w.casefold() for w in re.findall(r"\w{2,}", text or "")}


def squash(text):
    return re.sub(r"\s+", "", text or "")


OFFICE_BAD_PARTS = re.compile(r"vbaproject|vbadata|activex|oleobject|/embeddings/.*\.bin$|"
                              r"customui|attachedtemplate|afchunk|macrosheets|dialogsheets",
                              re.I)
OFFICE_BAD_TEXT = re.compile(rb"DDEAUTO|\bDDE\b|INCLUDETEXT|INCLUDEPICTURE|ppaction://program|"
                             rb"ppaction://ole|ppaction://macro|<!DOCTYPE|<!ENTITY")
PDF_BAD = re.compile(rb"/(JavaScript|JS|Launch|SubmitForm|ImportData|GoToR|GoToE|EmbeddedFile|"
                     rb"EmbeddedFiles|RichMedia|3D|XFA|AA)\b")


def active_content(path):
    """Names of active content found in a rebuilt file by looking at its bytes, [] when none."""
    found = []
    if path.endswith(".pdf"):
        expanded = path + ".qdf"
        p = run(["qpdf", "--qdf", "--object-streams=disable", path, expanded], timeout=120)
        if p.returncode not in (0, 3) or not os.path.exists(expanded):
            return ["qpdf could not expand it"]
        with open(expanded, "rb") as f:
            found = sorted({m.group(0).decode() for m in PDF_BAD.finditer(f.read())})
        return found
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if OFFICE_BAD_PARTS.search(info.filename):
                    found.append("part " + info.filename)
                data = z.read(info)
                if info.filename.endswith(".rels"):
                    for m in re.finditer(rb'Target="([^"]*)"[^>]*TargetMode="External"', data):
                        target = m.group(1).lower()
                        if not target.startswith((b"http://", b"https://", b"mailto:")):
                            found.append("external %s in %s" % (m.group(1)[:60], info.filename))
                elif info.filename.endswith(".xml"):
                    for m in OFFICE_BAD_TEXT.finditer(data):
                        found.append("%s in %s" % (m.group(0).decode(), info.filename))
    except (zipfile.BadZipFile, OSError) as e:
        found.append("unreadable: %s" % e)
    return sorted(set(found))


def wrap(path, display_name, out_path):
    msg = EmailMessage()
    msg["From"] = "sender@vendor.example.co.jp"
    msg["To"] = "staff@city.example.jp"
    msg["Subject"] = "fidelity " + display_name
    msg["Message-ID"] = "<fidelity.%08x@vendor.example.co.jp>" % zlib.crc32(display_name.encode())
    msg.set_content("添付ファイルをご確認ください。\n")
    with open(path, "rb") as f:
        data = f.read()
    msg.add_attachment(data, maintype="application", subtype="octet-stream",
                       filename=display_name)
    with open(out_path, "wb") as f:
        f.write(msg.as_bytes(policy=email.policy.SMTP))


def rebuilt_attachment(eml_path):
    """(file name, content type, bytes) of the first attachment in a sanitized message."""
    with open(eml_path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        name = part.get_filename()
        if name:
            return name, part.get_content_type(), part.get_payload(decode=True)
    return None


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    mugai, work = sys.argv[1], sys.argv[2]
    third_party = sys.argv[3] if len(sys.argv) == 4 else ""
    missing = [t for t in ("soffice", "pdftotext", "qpdf") if shutil.which(t) is None]
    if missing:
        print("fidelity: SKIPPED: %s not installed (.ci/run installs them; see scripts/deps.txt)"
              % ", ".join(missing))
        return 77
    shutil.rmtree(work, ignore_errors=True)
    src, inbox, outbox = (os.path.join(work, d) for d in ("src", "in", "out"))
    for d in (src, inbox, outbox):
        os.makedirs(d)
    lo = LibreOffice(work)

    # 1. Generated documents, written by LibreOffice from flat ODF.
    flat = {}
    for kind, maker, targets in (("writer", fodt, ("docx", "pdf")), ("calc", fods, ("xlsx",)),
                                 ("impress", fodp, ("pptx",))):
        path = os.path.join(src, "gen-%s.fod%s" % (kind, {"writer": "t", "calc": "s",
                                                           "impress": "p"}[kind]))
        with open(path, "w", encoding="utf-8") as f:
            f.write(maker(SENTENCES[kind]))
        flat[path] = (kind, targets)
    docs = []  # (path, display name, expected sentences or None)
    for path, (kind, targets) in flat.items():
        for target in targets:
            out = lo.convert([path], target, os.path.join(src, "gen"))[path]
            if out is None:
                print("fidelity: FAIL: LibreOffice could not write %s from %s" % (target, path))
                return 1
            docs.append((out, os.path.basename(out), SENTENCES[kind]))

    # 2. Third-party documents.
    if third_party and os.path.isdir(third_party):
        for folder in THIRD_PARTY_DIRS:
            root = os.path.join(third_party, folder)
            for dirpath, _, files in sorted(os.walk(root)):
                for name in sorted(files):
                    if name.lower().endswith(OFFICE_EXTS + PDF_EXTS):
                        docs.append((os.path.join(dirpath, name), name, None))
    else:
        print("fidelity: third-party corpus not found; generated documents only")

    # 3. Sanitize them all in one run.
    for i, (path, name, _) in enumerate(docs):
        wrap(path, name, os.path.join(inbox, "%03d.eml" % i))
    p = run([mugai, "sanitize", "--dir", inbox, "--out", outbox])
    if p.returncode != 0:
        print("fidelity: FAIL: mugai exited %d: %s" % (p.returncode, p.stderr.decode()[-400:]))
        return 1

    # 4. Collect the rebuilt files.
    rebuilt = []  # (index, original path, rebuilt path, expected)
    failures = []
    removed = []
    rb_dir = os.path.join(work, "rebuilt")
    os.makedirs(rb_dir)
    for i, (path, name, expected) in enumerate(docs):
        eml = os.path.join(outbox, "%03d.eml" % i)
        with open(os.path.join(outbox, "%03d.eml.json" % i), encoding="utf-8") as f:
            report = json.load(f)
        att = rebuilt_attachment(eml) if os.path.exists(eml) else None
        if att is None:
            reasons = sorted({p.get("reason", "") for p in report.get("parts", [])
                              if p.get("disposition") == "removed"})
            if expected is not None:
                failures.append("%s: generated document not delivered (%s)" % (name, reasons))
            else:
                removed.append("%s (%s)" % (name, ", ".join(r for r in reasons if r)))
            continue
        out_name, ctype, data = att
        part = next((p for p in report.get("parts", []) if p.get("disposition") == "rebuilt"
                     or (p.get("names") and p.get("disposition") == "kept")), {})
        kinds = {f.get("kind") for f in part.get("findings", [])}
        ext = os.path.splitext(out_name)[1].lower()
        if ext not in EXT_FOR_TYPE.get(ctype, ()):
            if expected is None and ctype not in EXT_FOR_TYPE:
                # Not a document by its content (e.g. a zip or text named .xlsx): delivered as
                # what it is, under a name that says so.
                removed.append("%s (true type %s, delivered as %s, %s)"
                               % (name, part.get("true_type", "?"), out_name, ctype))
                continue
            failures.append("%s: rebuilt as %s with type %s (extension does not match)"
                            % (name, out_name, ctype))
            continue
        target = os.path.join(rb_dir, "%03d%s" % (i, ext))
        with open(target, "wb") as f:
            f.write(data)
        active = active_content(target)
        if active:
            failures.append("%s: active content left after rebuild: %s"
                            % (name, "; ".join(active[:6])))
        rebuilt.append((i, path, target, expected, name, kinds))

    # 5. Text of originals and rebuilt files: Office through LibreOffice to PDF, then pdftotext.
    orig_copy = os.path.join(work, "orig")
    os.makedirs(orig_copy)
    office_in = []
    for i, path, target, _, _, _ in rebuilt:
        if not target.endswith(".pdf"):
            copy = os.path.join(orig_copy, "%03d%s" % (i, os.path.splitext(path)[1].lower()))
            shutil.copyfile(path, copy)
            office_in += [copy, target]
    conv_orig = lo.convert([f for f in office_in if f.startswith(orig_copy)], "pdf",
                           os.path.join(work, "orig-pdf"))
    conv_rb = lo.convert([f for f in office_in if f.startswith(rb_dir)], "pdf",
                         os.path.join(work, "rebuilt-pdf"))
    checked = 0
    for i, path, target, expected, name, kinds in rebuilt:
        if target.endswith(".pdf"):
            orig_pdf, rb_pdf = path, target
        else:
            orig_pdf = conv_orig.get(os.path.join(orig_copy, "%03d%s"
                                                  % (i, os.path.splitext(path)[1].lower())))
            rb_pdf = conv_rb.get(target)
        if rb_pdf is None:
            failures.append("%s: LibreOffice could not open the rebuilt file" % name)
            continue
        rb_text = pdf_text(rb_pdf)
        if rb_text is None:
            failures.append("%s: pdftotext could not read the rebuilt PDF" % name)
            continue
        checked += 1
        if expected is not None:
            for sentence in expected:
                if squash(sentence) not in squash(rb_text):
                    failures.append("%s: sentence missing after rebuild: %s" % (name, sentence))
            continue
        orig_text = pdf_text(orig_pdf) if orig_pdf else None
        if orig_text is None:
            print("fidelity: note: %s: the original does not convert; rebuilt one opens" % name)
            continue
        ow, rw = words(orig_text), words(rb_text)
        if ow:
            share = len(ow & rw) / len(ow)
            purposely = sorted(kinds & set(CONTENT_REMOVED))
            if share < MIN_WORD_SHARE and purposely:
                print("fidelity: note: %s: %.0f%% of the original's words remain after %s"
                      % (name, 100 * share, ", ".join(purposely)))
            elif share < MIN_WORD_SHARE:
                lost = sorted(ow - rw)[:8]
                failures.append("%s: only %.0f%% of the original's words remain (lost e.g. %s)"
                                % (name, 100 * share, lost))

    print("fidelity: %d documents, %d rebuilt and read back, %d removed or not documents"
          % (len(docs), checked, len(removed)))
    for r in removed:
        print("  removed: " + r)
    if checked == 0:
        failures.append("no rebuilt document was checked")
    for f in failures:
        print("fidelity: FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
