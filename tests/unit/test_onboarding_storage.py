"""shared/storage.py: size limit (413), type by content (415), SHA-256 dedupe, nothing partial on disk."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from shared.config import Settings
from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.storage import FileStore, clean_filename, content_disposition

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(50)
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(50)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(100)


def ooxml(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<doc/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("话术/欢迎语.txt", "亲,您好")
    return buffer.getvalue()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture()
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "media", max_bytes=4096)


@pytest.mark.parametrize(
    ("filename", "content", "kind", "content_type"),
    [
        ("合同.pdf", PDF, "pdf", "application/pdf"),
        ("logo.png", PNG, "png", "image/png"),
        ("photo.JPG", JPG, "jpg", "image/jpeg"),
        ("photo.jpeg", JPG, "jpg", "image/jpeg"),
        ("old.doc", OLE, "doc", "application/msword"),
        ("old.xls", OLE, "xls", "application/vnd.ms-excel"),
        ("old.ppt", OLE, "ppt", "application/vnd.ms-powerpoint"),
        (
            "培训资料.docx",
            ooxml("word"),
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "sku.xlsx",
            ooxml("xl"),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "deck.pptx",
            ooxml("ppt"),
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        ("scripts.zip", plain_zip(), "zip", "application/zip"),
        ("bundle.zip", ooxml("word"), "zip", "application/zip"),
        ("话术.txt", "亲,您好,欢迎光临\n".encode(), "txt", "text/plain; charset=utf-8"),
        ("faq.md", "# 常见问题\n\n| 问题 | 答案 |\n".encode(), "md", "text/markdown; charset=utf-8"),
        ("sku.csv", "货号,库存\r\nA001,12\r\n".encode("gb18030"), "csv", "text/csv; charset=gb18030"),
        ("bom.csv", "\ufeff货号,库存\r\n".encode(), "csv", "text/csv; charset=utf-8"),
    ],
)
def test_every_accepted_type_is_recognised_by_its_content(
    store: FileStore, filename: str, content: bytes, kind: str, content_type: str
) -> None:
    stored = store.save(io.BytesIO(content), filename)
    assert stored.kind.name == kind
    assert stored.content_type == content_type
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.path == store.root / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert stored.path.read_bytes() == content
    assert stored.filename == filename
    assert files_under(store.root) == [stored.path]


def test_the_same_bytes_are_stored_once(store: FileStore) -> None:
    first = store.save(io.BytesIO(PDF), "a.pdf")
    second = store.save(io.BytesIO(PDF), "copy of a.pdf")
    assert first.created is True
    assert second.created is False
    assert first.path == second.path
    assert second.filename == "copy of a.pdf"
    assert files_under(store.root) == [first.path]


def test_a_file_over_the_limit_is_413_and_leaves_nothing(store: FileStore) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        store.save(io.BytesIO(b"a" * 4097), "big.txt")
    assert caught.value.status == 413
    assert "4096 bytes" in (caught.value.detail or "")
    assert files_under(store.root) == []


def test_a_file_of_exactly_the_limit_is_accepted(store: FileStore) -> None:
    stored = store.save(io.BytesIO(b"a" * 4096), "exact.txt")
    assert stored.size == 4096


@pytest.mark.parametrize(
    ("filename", "content", "says"),
    [
        ("setup.exe", EXE, "'.exe' are not accepted"),
        ("invoice.pdf", EXE, "not a file type we accept"),
        ("invoice.pdf", PNG, "its content is a PNG image"),
        ("notes.txt", EXE, "not a file type we accept"),
        ("sheet.xlsx", ooxml("word"), "its content is a Word document"),
        ("old.doc", PDF, "its content is a PDF document"),
        ("photo.png", JPG, "its content is a JPEG image"),
        ("broken.zip", b"PK\x03\x04" + b"\x00" * 40, "not a file type we accept"),
        ("noext", OLE, "without an extension"),
        ("script.sh", b"#!/bin/sh\necho hi\n", "'.sh' are not accepted"),
    ],
)
def test_a_wrong_or_disguised_type_is_415_and_leaves_nothing(
    store: FileStore, filename: str, content: bytes, says: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        store.save(io.BytesIO(content), filename)
    assert caught.value.status == 415
    assert says in (caught.value.detail or "")
    assert files_under(store.root) == []


def test_an_empty_file_is_422_naming_the_field(store: FileStore) -> None:
    with pytest.raises(ValidationFailed) as caught:
        store.save(io.BytesIO(b""), "empty.pdf", field="upload")
    assert list(caught.value.errors or {}) == ["upload"]
    assert files_under(store.root) == []


def test_without_an_extension_the_content_decides_and_the_name_gets_one(store: FileStore) -> None:
    assert store.save(io.BytesIO(PDF), "scan").filename == "scan.pdf"
    assert store.save(io.BytesIO("纯文本".encode()), "readme").filename == "readme.txt"


def test_an_allowed_subset_refuses_the_rest(tmp_path: Path) -> None:
    images = FileStore(tmp_path, max_bytes=4096, allowed={"png", "jpg"})
    assert images.save(io.BytesIO(PNG), "a.png").kind.name == "png"
    with pytest.raises(UnsupportedMediaType) as caught:
        images.save(io.BytesIO(PDF), "a.pdf")
    assert ".png, .jpg, .jpeg" in (caught.value.detail or "")


class FailingStream(io.RawIOBase):
    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise OSError("connection reset by peer")
        return b"%PDF-1.7 partial"


def test_a_stream_that_breaks_midway_leaves_nothing(store: FileStore) -> None:
    with pytest.raises(OSError):
        store.save(FailingStream(), "partial.pdf")  # type: ignore[arg-type]
    assert files_under(store.root) == []


def test_open_exists_and_delete(store: FileStore) -> None:
    stored = store.save(io.BytesIO(PNG), "a.png")
    assert store.exists(stored.sha256)
    with store.open(stored.sha256) as fh:
        assert fh.read() == PNG
    assert store.delete(stored.sha256) is True
    assert store.delete(stored.sha256) is False
    assert not store.exists(stored.sha256)


@pytest.mark.parametrize("digest", ["../../etc/passwd", "ABC", "g" * 64, ""])
def test_only_a_sha256_hex_digest_becomes_a_path(store: FileStore, digest: str) -> None:
    with pytest.raises(ValueError):
        store.path_for(digest)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\店长\\培训资料.pdf", "培训资料.pdf"),
        ("a\x00b\r\n.txt", "ab.txt"),
        ("  .hidden  ", "hidden"),
        ("", "file"),
        (None, "file"),
        ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
    ],
)
def test_clean_filename(raw: str | None, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_content_disposition_carries_the_chinese_name_and_an_ascii_fallback() -> None:
    header = content_disposition('培训 "资料".pdf')
    assert header == (
        'attachment; filename="__ ____.pdf"; '
        "filename*=UTF-8''%E5%9F%B9%E8%AE%AD%20%22%E8%B5%84%E6%96%99%22.pdf"
    )


def test_from_settings_uses_media_root_and_max_upload_bytes(tmp_path: Path) -> None:
    settings = Settings(
        service="training", database_url="sqlite://", media_root=str(tmp_path / "m"), max_upload_bytes=10
    )
    store = FileStore.from_settings(settings)
    assert store.root == tmp_path / "m"
    assert store.max_bytes == 10


def test_from_settings_without_media_root_falls_back_to_var_media_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    store = FileStore.from_settings(Settings(service="training", database_url="sqlite://"))
    assert store.root == tmp_path / "media" / "training"
