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
- **place** — one service's own place, at ``ab/cd/<sha256>`` in it: the same bytes are stored once however
  many times, and by whomever, they are uploaded (``StoredFile.created`` says whether this upload wrote a
  new blob). ``MEDIA_STORAGE`` picks the place (:func:`blob_place`): ``local`` (the default) is the folder
  ``Settings.media_root`` (``$MEDIA_ROOT/<service>``, see :func:`shared.config.media_root_for`); ``s3`` is
  ``<S3_PREFIX><service>/`` in an S3-compatible bucket (``S3_BUCKET`` or ``<SERVICE>_S3_BUCKET``), which web
  processes on several machines share. Either way the place belongs to one service: deleting a blob is
  decided from that service's rows only;
- **nothing partial, nothing in memory** — the bytes are streamed in ``CHUNK_SIZE`` pieces to a temporary
  file (``<media_root>/.incoming`` for the folder, the system's temporary directory — ``TMPDIR`` — for a
  bucket), where the size is counted, the digest computed and the type sniffed; only an accepted file is
  renamed into place (atomically, same file system) or uploaded (multipart past boto3's threshold, each
  part read from the file as it is sent), and every refusal or error removes the temporary file.
  Downloads stream too: :meth:`FileStore.open` gives a seekable :class:`Blob` that reads the object's body
  piece by piece (a seek becomes a ranged GET), never the whole file at once.

Which rows reference a blob is the caller's business (its own table); :meth:`FileStore.delete` removes a
blob once the caller knows nothing references it any more.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self
from urllib.parse import quote

from shared.config import ConfigError, Settings, media_storage_problems, var_dir
from shared.errors import PayloadTooLarge, ProblemError, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_ALLOWED",
    "KINDS",
    "Blob",
    "BlobPlace",
    "FileKind",
    "FileStore",
    "LocalBlobs",
    "S3Blobs",
    "StorageUnavailable",
    "StoredFile",
    "blob_place",
    "clean_filename",
    "content_disposition",
    "detect_kind",
]

log = logging.getLogger(__name__)

#: the piece uploads and downloads are streamed in: no whole file is ever held in memory
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
    #: where the blob is, for logs and messages: a file path or ``s3://bucket/key``
    location: str
    #: False when identical bytes were already stored (the upload added no new blob)
    created: bool
    #: the file on this machine's disk with the local folder; None in object storage (use
    #: :meth:`FileStore.open`, which works with both)
    path: Path | None = None


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


class StorageUnavailable(ProblemError):
    """The object storage did not answer, or refused us (credentials, permissions): a 503, logged in full."""

    status, title, slug = 503, "Service unavailable", "storage-unavailable"


class Blob(Protocol):
    """A stored file opened for reading: a seekable binary stream that knows its size.

    Read it in pieces (``read(CHUNK_SIZE)``); close it (or use ``with``) when done.
    """

    size: int
    #: when the blob was written (HTTP ``Last-Modified``), if the place knows
    last_modified: datetime | None

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int: ...

    def seekable(self) -> bool: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


class BlobPlace(Protocol):
    """Where the blobs of one service live: the local folder or a bucket prefix (the same ``ab/cd/<sha256>``
    layout in both, so that moving from one to the other is a plain copy)."""

    def spool_dir(self) -> Path:
        """Where an upload is written while it is checked (a local folder, also for object storage)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> Blob:
        """The stored bytes (FileNotFoundError when the blob is gone)."""
        ...

    def put(self, sha256: str, spooled: Path) -> bool:
        """Store the checked file ``spooled`` as ``sha256``; False when it was already there.

        May move ``spooled`` away; the caller removes what is left.
        """
        ...

    def delete(self, sha256: str) -> bool:
        """Remove a blob; False when it was not there (or, in object storage, could not be removed)."""
        ...

    def location(self, sha256: str) -> str: ...


def _relative_key(sha256: str) -> str:
    if not _SHA256_HEX.fullmatch(sha256):
        # the digest becomes a path or an object key: anything but 64 hex digits could walk out of the root
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class LocalBlob(io.FileIO):
    """A blob in the local folder: a real file (so gunicorn sends it with ``sendfile``) with its size."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, "rb")
        stat = os.fstat(self.fileno())
        self.size: int = stat.st_size
        self.last_modified: datetime | None = datetime.fromtimestamp(stat.st_mtime, UTC)


class LocalBlobs:
    """Blobs in a folder of this machine (the embedded default): ``<root>/ab/cd/<sha256>``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / _relative_key(sha256)

    def spool_dir(self) -> Path:
        return self.root / ".incoming"  # same file system as the blobs: the rename into place is atomic

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> Blob:
        return LocalBlob(self.path_for(sha256))

    def put(self, sha256: str, spooled: Path) -> bool:
        final = self.path_for(sha256)
        if final.is_file():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        # atomic on one file system; two concurrent uploads of the same bytes both end up right
        os.replace(spooled, final)
        return True

    def delete(self, sha256: str) -> bool:
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def location(self, sha256: str) -> str:
        return str(self.path_for(sha256))


def _not_found(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Blob(io.RawIOBase):
    """An object being read: the body of one GET, streamed piece by piece.

    Seekable, so that werkzeug's Range support works on it: a seek drops the open body and the next read
    asks for ``Range: bytes=<position>-`` instead of downloading and skipping the bytes before it.
    """

    def __init__(self, client: Any, bucket: str, key: str, answer: dict[str, Any]) -> None:
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self.size: int = int(answer["ContentLength"])
        self.last_modified: datetime | None = answer.get("LastModified")
        self._body: Any = answer["Body"]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self._drop_body()
            self._position = target
        return self._position

    def read(self, size: int | None = -1, /) -> bytes:
        if self.closed:
            raise ValueError("read of a closed blob")
        remaining = self.size - self._position
        if remaining <= 0 or size == 0:
            return b""
        if size is None or size < 0:
            size = remaining  # what a caller asking for "everything" gets; the views never do
        if self._body is None:
            self._body = self._get(f"bytes={self._position}-")["Body"]
        try:
            data: bytes = self._body.read(min(size, remaining))
        except Exception as exc:  # botocore/urllib3 errors while the body streams
            raise _unavailable(f"reading s3://{self._bucket}/{self._key}", exc) from exc
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _get(self, byte_range: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=byte_range
            )
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(f"s3://{self._bucket}/{self._key}") from exc
            raise _unavailable(f"reading s3://{self._bucket}/{self._key}", exc) from exc
        return answer

    def _drop_body(self) -> None:
        if self._body is not None:
            # closing an unfinished body closes its connection: cheaper than draining a large rest
            with suppress(Exception):
                self._body.close()
            self._body = None


def _unavailable(doing: str, exc: Exception) -> StorageUnavailable:
    log.error("object storage failed %s: %s", doing, exc)
    return StorageUnavailable("The file storage cannot be reached at the moment; try again in a minute.")


class S3Blobs:
    """Blobs in an S3-compatible bucket under one service's prefix: ``<prefix>ab/cd/<sha256>``.

    ``prefix`` is ``<S3_PREFIX><service>/``: the service deletes a blob when its own rows stop referencing
    it, which is safe only because no other service stores under that prefix. ``client`` is a boto3 S3
    client (thread-safe; one per process, see :func:`s3_client`).
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        *,
        transfer: TransferConfig | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from boto3.s3.transfer import TransferConfig

        if not bucket:
            raise ValueError("a bucket name is needed")
        self.client, self.bucket, self.prefix = client, bucket, prefix
        # boto3's defaults (multipart past 8 MB, in 8 MB parts read from the file as they are sent), with a
        # concurrency that stays inside the client's connection pool
        self.transfer = transfer or TransferConfig(max_concurrency=4)
        self._spool_dir = Path(spool_dir) if spool_dir else None

    def key_for(self, sha256: str) -> str:
        return f"{self.prefix}{_relative_key(sha256)}"

    def spool_dir(self) -> Path:
        # TMPDIR: on Kubernetes an emptyDir at /tmp (the root file system is read-only)
        return self._spool_dir or Path(tempfile.gettempdir())

    def exists(self, sha256: str) -> bool:
        key = self.key_for(sha256)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _not_found(exc):
                return False
            raise _unavailable(f"looking up s3://{self.bucket}/{key}", exc) from exc
        return True

    def open(self, sha256: str) -> Blob:
        key = self.key_for(sha256)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{key}") from exc
            raise _unavailable(f"reading s3://{self.bucket}/{key}", exc) from exc
        return S3Blob(self.client, self.bucket, key, answer)

    def put(self, sha256: str, spooled: Path) -> bool:
        if self.exists(sha256):
            return False
        key = self.key_for(sha256)
        try:
            # from the file by name: s3transfer reads each part from disk as it sends it (multipart past the
            # threshold), so memory stays at a few parts whatever the size
            self.client.upload_file(str(spooled), self.bucket, key, Config=self.transfer)
        except Exception as exc:
            raise _unavailable(f"uploading s3://{self.bucket}/{key}", exc) from exc
        return True

    def delete(self, sha256: str) -> bool:
        key = self.key_for(sha256)
        try:
            if not self.exists(sha256):
                return False
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # called after a commit: an orphan is harmless, a 500 is not
            log.warning("could not delete s3://%s/%s (it stays as an orphan): %s", self.bucket, key, exc)
            return False
        return True

    def location(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self.key_for(sha256)}"


_client_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def s3_client(endpoint_url: str, region: str, addressing_style: str) -> Any:
    """One boto3 S3 client per process and endpoint (creating one takes tens of milliseconds; using one
    from many threads is safe). Credentials come from boto3's chain: ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY``, a profile, or the pod's IAM role."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=16,
    )
    with _client_lock:  # boto3 sessions are not thread-safe while they build a client
        return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)


def blob_place(settings: Settings) -> BlobPlace:
    """The service's own place for blobs, as ``MEDIA_STORAGE`` says (:class:`ConfigError` if it cannot be)."""
    problems = media_storage_problems(settings)
    if problems:
        raise ConfigError("; ".join(problems))
    if settings.media_storage == "s3":
        if not settings.s3_bucket:
            raise ConfigError(
                f"MEDIA_STORAGE=s3 needs S3_BUCKET (or {settings.service.upper()}_S3_BUCKET) for the "
                f"files of {settings.service}"
            )
        client = s3_client(settings.s3_endpoint_url, settings.s3_region, settings.s3_addressing_style)
        return S3Blobs(client, settings.s3_bucket, f"{settings.s3_prefix}{settings.service}/")
    return LocalBlobs(settings.media_root or var_dir() / "media" / settings.service)


class FileStore:
    """Content-addressed blobs, checked on the way in, in one service's place (a folder or a bucket)."""

    def __init__(
        self,
        place: str | os.PathLike[str] | BlobPlace,
        max_bytes: int,
        allowed: Iterable[str] = DEFAULT_ALLOWED,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        unknown = set(allowed) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown file kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.place: BlobPlace = LocalBlobs(place) if isinstance(place, str | os.PathLike) else place
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)

    @classmethod
    def from_settings(cls, settings: Settings, allowed: Iterable[str] = DEFAULT_ALLOWED) -> FileStore:
        """The service's own place (``MEDIA_STORAGE``: its folder, default ``var/media/<service>``, or its
        bucket prefix) and ``MAX_UPLOAD_BYTES``."""
        return cls(blob_place(settings), settings.max_upload_bytes, allowed)

    def _local(self) -> LocalBlobs:
        if not isinstance(self.place, LocalBlobs):
            raise TypeError(f"{type(self.place).__name__} keeps no files on this machine; use open()")
        return self.place

    @property
    def root(self) -> Path:
        """The folder of a local store (object storage has none)."""
        return self._local().root

    def path_for(self, sha256: str) -> Path:
        """The file of a blob in a local store (object storage has none: use :meth:`open`)."""
        return self._local().path_for(sha256)

    def exists(self, sha256: str) -> bool:
        return self.place.exists(sha256)

    def open(self, sha256: str) -> Blob:
        """The stored bytes as a stream with its ``size`` (FileNotFoundError when the blob is gone)."""
        return self.place.open(sha256)

    def delete(self, sha256: str) -> bool:
        """Remove a blob nothing references any more; False when it was not there."""
        return self.place.delete(sha256)

    def save(self, stream: BinaryIO, filename: str | None, *, field: str = "file") -> StoredFile:
        """Store an upload; raises 413 (too large), 415 (type) or 422 (empty) and then leaves nothing.

        ``field`` names the form field in the 422 of an empty file.
        """
        name = clean_filename(filename)
        spool = self.place.spool_dir()
        spool.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=spool, prefix="upload-")
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
            created = self.place.put(sha, tmp)
        finally:
            with suppress(FileNotFoundError):
                tmp.unlink()  # refused, failed, already stored, or uploaded: the spooled copy goes
        content_type = f"{kind.mime}; charset={charset}" if charset else kind.mime
        return StoredFile(
            sha256=sha,
            size=size,
            kind=kind,
            content_type=content_type,
            filename=_with_extension(name, kind),
            location=self.place.location(sha),
            created=created,
            path=self.place.path_for(sha) if isinstance(self.place, LocalBlobs) else None,
        )


def _with_extension(name: str, kind: FileKind) -> str:
    """A name without an extension gets its kind's, so the downloaded file opens in the right program."""
    return name if _extension(name) else f"{name}{kind.extensions[0]}"
