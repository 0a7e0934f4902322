"""« Facture au format PDF »: a one-page PDF written by hand (no PDF library).

A valid PDF 1.4 file: catalog, one A4 page, the standard Helvetica font (WinAnsi encoding, so
the accents and « € » show), the text in one content stream, a cross-reference table whose
offsets are exact. It only names the invoice and its amounts: the sandbox keeps no document.
"""

from __future__ import annotations

from collections.abc import Sequence

_REPLACED = {"\u202f": " ", "\u2014": "-", "\u2019": "'"}


def _pdf_text(text: str) -> bytes:
    """``text`` as a PDF literal string (WinAnsi bytes, ``\\ ( )`` escaped)."""
    for old, new in _REPLACED.items():
        text = text.replace(old, new)
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def simple_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF: ``title`` in large type, then ``lines``."""
    content = b"BT /F1 18 Tf 56 780 Td " + _pdf_text(title) + b" Tj /F1 11 Tf 0 -32 Td"
    for line in lines:
        content += b" " + _pdf_text(line) + b" Tj 0 -18 Td"
    content += b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Title " + _pdf_text(title) + b" /Producer (Bac a sable Chorus Pro) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (
        len(objects) + 1,
        len(objects),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
