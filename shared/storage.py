"""File storage for uploads: size limit, type checked by content, content-addressed by SHA-256.

The rules every service applies to a file a user uploads (a merchant's training materials today, a
trainer's courseware later):

- **size** — at most ``Settings.max_upload_bytes`` (``MAX_UPLOAD_BYTES``, default 20 MB); a larger file is
  a 413. The limit is enforced while streaming, so it holds even without a ``Content-Length``;
- **type** — one of pdf, doc/docx, xls/xlsx, ppt/pptx, txt, md, csv, png, jpg, zip, decided by the file's
  *content* (magic bytes, the parts inside an Office zip, text that decodes), with the name's extension
  only choosing between types the content cannot tell apart (doc/xls/ppt share one container; txt/md/csv
  are all text). A name that contradicts the content (``invoice.pdf`` that is a PNG, ``notes.txt`` that is
  an executable) is a 415, and so is any other type;
- **place** — under ``Settings.media_root`` (``$MEDIA_ROOT/<service>``, see
  :func:`shared.config.media_root_for`) at ``ab/cd/<sha256>``: the same bytes are stored once however many
  times, and by whomever, they are uploaded (``StoredFile.created`` says whether this upload wrote a new
  blob). The root belongs to one service: deleting a blob is decided from that service's rows only;
- **nothing partial** — the bytes go to a temporary file in ``<media_root>/.incoming`` and are renamed into
  place (atomically, same file system) only once accepted; every refusal or error removes the temporary
  file.

Which rows reference a blob is the caller's business (its own table); :meth:`FileStore.delete` removes a
blob once the caller knows nothing references it any more.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from shared.config import Settings, var_dir
from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

__all__ = [
    "DEFAULT_ALLOWED",
    "KINDS",
    "FileKind",
    "FileStore",
    "StoredFile",
    "clean_filename",
    "content_disposition",
    "detect_kind",
]

CHUNK_SIZE = 64 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: How much of the head is searched for a PDF header (the spec lets junk precede ``%PDF-``).
_PDF_SEARCH = 1024


@dataclass(frozen=True)
class FileKind:
    """An accepted type: its short name, the extensions that name it, the Content-Type we serve it with."""

    name: str
    extensions: tuple[str, ...]
    mime: str
    description: str


KINDS: dict[str, FileKind] = {
    k.name: k
    for k in (
        FileKind("pdf", (".pdf",), "application/pdf", "PDF document"),
        FileKind("doc", (".doc",), "application/msword", "Word 97-2003 document"),
        FileKind(
            "docx",
            (".docx",),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Word document",
        ),
        FileKind("xls", (".xls",), "application/vnd.ms-excel", "Excel 97-2003 workbook"),
        FileKind(
            "xlsx",
            (".xlsx",),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Excel workbook",
        ),
        FileKind("ppt", (".ppt",), "application/vnd.ms-powerpoint", "PowerPoint 97-2003 presentation"),
        FileKind(
            "pptx",
            (".pptx",),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "PowerPoint presentation",
        ),
        FileKind("txt", (".txt",), "text/plain", "plain text"),
        FileKind("md", (".md", ".markdown"), "text/markdown", "Markdown text"),
        FileKind("csv", (".csv",), "text/csv", "CSV table"),
        FileKind("png", (".png",), "image/png", "PNG image"),
        FileKind("jpg", (".jpg", ".jpeg"), "image/jpeg", "JPEG image"),
        FileKind("zip", (".zip",), "application/zip", "ZIP archive"),
    )
}
DEFAULT_ALLOWED: frozenset[str] = frozenset(KINDS)
_BY_EXTENSION: dict[str, FileKind] = {ext: kind for kind in KINDS.values() for ext in kind.extensions}

# What the content alone can tell: "ole" (doc/xls/ppt share the compound-file container) and "text"
# (txt/md/csv) need the name to pick the exact kind.
_OLE_KINDS = frozenset({"doc", "xls", "ppt"})
_TEXT_KINDS = frozenset({"txt", "md", "csv"})
_ZIP_FAMILY = frozenset({"zip", "docx", "xlsx", "pptx"})
_FAMILY_NAMES = {
    "pdf": "a PDF document",
    "png": "a PNG image",
    "jpg": "a JPEG image",
    "ole": "an Office 97-2003 document",
    "docx": "a Word document",
    "xlsx": "an Excel workbook",
    "pptx": "a PowerPoint presentation",
    "zip": "a ZIP archive",
    "text": "text",
}
# C0 controls that do occur in real text files; any other (NUL above all) means "binary".
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1a\x1b")


@dataclass(frozen=True)
class StoredFile:
    """An accepted upload: what it is and where its bytes are."""

    sha256: str
    size: int
    kind: FileKind
    #: the Content-Type to serve it with (text types carry the charset they were decoded with)
    content_type: str
    filename: str
    path: Path
    #: False when identical bytes were already stored (the upload added no new blob)
    created: bool


def clean_filename(name: str | None, default: str = "file") -> str:
    """The name to show and to serve the file under: no directories, no control characters, ≤ 255 chars.

    Unlike werkzeug's ``secure_filename`` it keeps Chinese characters (``培训资料.pdf`` stays as it is):
    the name is never used as a path here, since blobs are stored by hash.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".").strip()
    if not base:
        return default
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 255 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:255]
    return base


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` (RFC 6266): browsers show the Chinese name,
    old clients get an ASCII fallback."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


def _sniff_family(path: Path, head: bytes) -> tuple[str | None, str | None]:
    """(family, text charset) from the content; family None when it is nothing we accept."""
    if head.startswith(b"%PDF-"):
        return "pdf", None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg", None
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole", None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_family(path), None
    charset = _text_charset(path)
    if charset is not None:
        return "text", charset
    if b"%PDF-" in head[:_PDF_SEARCH]:  # a binary preamble before the header is allowed by the spec
        return "pdf", None
    return None, None


def _zip_family(path: Path) -> str | None:
    """An Office Open XML file is a zip with ``[Content_Types].xml`` and its main part's folder."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # announces itself as a zip but is not a readable one
    if "[Content_Types].xml" in names:
        for folder, family in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(folder) for n in names):
                return family
    return "zip"


def _text_charset(path: Path) -> str | None:
    """``utf-8`` or ``gb18030`` when the whole file decodes as text in it (Chinese Excel saves CSV in GBK);
    None for anything with NULs or stray control characters, i.e. binary."""
    for charset in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(charset)("strict")
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK_SIZE):
                    if not _looks_like_text(decoder.decode(chunk)):
                        return None
                if not _looks_like_text(decoder.decode(b"", final=True)):
                    return None
        except UnicodeDecodeError:
            continue
        return "utf-8" if charset == "utf-8-sig" else charset
    return None


def _looks_like_text(text: str) -> bool:
    return all(ch >= " " or ch in _TEXT_CONTROLS for ch in text)


def detect_kind(
    path: Path, filename: str, allowed: Iterable[str] = DEFAULT_ALLOWED
) -> tuple[FileKind, str | None]:
    """The kind of the file at ``path`` (named ``filename`` by the uploader) and, for text, its charset.

    Raises :class:`~shared.errors.UnsupportedMediaType` (415) naming what was found and what is accepted.
    """
    allowed_kinds = [KINDS[k] for k in KINDS if k in set(allowed)]
    accepted = ", ".join(ext for k in allowed_kinds for ext in k.extensions)
    ext = _extension(filename)
    claimed = _BY_EXTENSION.get(ext)
    if ext and (claimed is None or claimed not in allowed_kinds):
        raise UnsupportedMediaType(
            f"Files of type '{ext}' are not accepted; upload one of: {accepted}.",
            extra={"accepted": [e for k in allowed_kinds for e in k.extensions]},
        )
    with path.open("rb") as fh:
        head = fh.read(_PDF_SEARCH)
    family, charset = _sniff_family(path, head)
    if family is None:
        what = f"'{filename}'" if filename else "The file"
        raise UnsupportedMediaType(
            f"{what} is not a file type we accept (its content is none of: {accepted}).",
            extra={"accepted": [e for k in allowed_kinds for e in k.extensions]},
        )
    kind = _resolve(family, claimed, filename)
    if kind not in allowed_kinds:
        raise UnsupportedMediaType(
            f"'{filename}' is {_FAMILY_NAMES[family]}, which is not accepted here; upload one of: {accepted}."
        )
    return kind, charset


def _resolve(family: str, claimed: FileKind | None, filename: str) -> FileKind:
    if claimed is None:  # no extension: the content decides where it can
        if family == "ole":
            raise UnsupportedMediaType(
                f"'{filename}' is an Office 97-2003 document without an extension; name it .doc, .xls "
                "or .ppt so that it can be opened with the right program."
            )
        return KINDS["txt"] if family == "text" else KINDS[family]
    fits = (
        (claimed.name in _OLE_KINDS and family == "ole")
        or (claimed.name in _TEXT_KINDS and family == "text")
        or (claimed.name == "zip" and family in _ZIP_FAMILY)
        or claimed.name == family
    )
    if not fits:
        raise UnsupportedMediaType(
            f"'{filename}' is named as {claimed.description} but its content is {_FAMILY_NAMES[family]}; "
            "upload the file under its real type."
        )
    return claimed


class FileStore:
    """Content-addressed blobs under one root directory."""

    def __init__(
        self, root: str | os.PathLike[str], max_bytes: int, allowed: Iterable[str] = DEFAULT_ALLOWED
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        unknown = set(allowed) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown file kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)

    @classmethod
    def from_settings(cls, settings: Settings, allowed: Iterable[str] = DEFAULT_ALLOWED) -> FileStore:
        """The service's own media root (``$MEDIA_ROOT/<service>``, default ``var/media/<service>``) and
        ``MAX_UPLOAD_BYTES``."""
        root = settings.media_root or str(var_dir() / "media" / settings.service)
        return cls(root, settings.max_upload_bytes, allowed)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256_HEX.fullmatch(sha256):
            # the digest becomes a path: anything but 64 hex digits could walk out of the root
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes (FileNotFoundError when the blob is gone)."""
        return self.path_for(sha256).open("rb")

    def delete(self, sha256: str) -> bool:
        """Remove a blob nothing references any more; False when it was not there."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def save(self, stream: BinaryIO, filename: str | None, *, field: str = "file") -> StoredFile:
        """Store an upload; raises 413 (too large), 415 (type) or 422 (empty) and then leaves nothing.

        ``field`` names the form field in the 422 of an empty file.
        """
        name = clean_filename(filename)
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PayloadTooLarge(
                            f"'{name}' is larger than the limit of {self.max_bytes} bytes "
                            f"({self.max_bytes / 1024 / 1024:g} MB); split or compress it.",
                            extra={"max_bytes": self.max_bytes},
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise ValidationFailed({field: [f"'{name}' is empty; choose a file with content."]})
            kind, charset = detect_kind(tmp, name, self.allowed)
            sha = digest.hexdigest()
            final = self.path_for(sha)
            created = not final.is_file()
            if created:
                final.parent.mkdir(parents=True, exist_ok=True)
                # atomic on one file system; two concurrent uploads of the same bytes both end up right
                os.replace(tmp, final)
            else:
                tmp.unlink()
        except BaseException:
            with suppress(FileNotFoundError):
                tmp.unlink()
            raise
        content_type = f"{kind.mime}; charset={charset}" if charset else kind.mime
        return StoredFile(
            sha256=sha,
            size=size,
            kind=kind,
            content_type=content_type,
            filename=_with_extension(name, kind),
            path=final,
            created=created,
        )


def _with_extension(name: str, kind: FileKind) -> str:
    """A name without an extension gets its kind's, so the downloaded file opens in the right program."""
    return name if _extension(name) else f"{name}{kind.extensions[0]}"
