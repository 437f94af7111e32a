"""Serving a stored file (shared/storage.py) with the same HTTP answer whichever place holds it.

``flask.send_file(path, conditional=True)`` was the answer for files in the local folder: Content-Length,
Content-Disposition, ``Cache-Control: no-cache``, ETag, Last-Modified, 304 on a matching
``If-None-Match``/``If-Modified-Since``, 206 for a ``Range`` and 416 for one outside the file.
:func:`send_blob` gives that same answer for a :class:`~shared.storage.Blob` from either place, streamed:
a local file goes through the server's file wrapper (gunicorn sends it with ``sendfile``), an object in a
bucket through werkzeug's ``FileWrapper`` in ``CHUNK_SIZE`` pieces, which keeps it seekable so that a
``Range`` becomes a ranged GET of the object rather than a download of the bytes before it.
"""

from __future__ import annotations

import io

from flask import Response, request, send_file
from werkzeug.wsgi import FileWrapper

from shared.storage import CHUNK_SIZE, Blob

__all__ = ["send_blob"]


def send_blob(
    blob: Blob, *, mimetype: str, download_name: str, etag: str, as_attachment: bool = True
) -> Response:
    """The blob as a (conditional, range-capable) download; the response closes the blob when done."""
    try:
        # conditional=False: send_file cannot size a stream, and the size is what ranges need; the
        # conditional step below is the one send_file itself ends with
        response = send_file(
            blob,  # type: ignore[arg-type]
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=False,
            etag=etag,
            last_modified=blob.last_modified,
            max_age=0,
        )
        if not isinstance(blob, io.FileIO):
            response.response = FileWrapper(blob, CHUNK_SIZE)  # type: ignore[arg-type]
        response.content_length = blob.size
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=blob.size)
    except BaseException:  # a 416 (RequestedRangeNotSatisfiable) above all: nothing will read the blob
        blob.close()
        raise
