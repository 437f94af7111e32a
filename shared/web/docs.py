"""/docs: flask-smorest's Swagger UI page of the app's own OpenAPI spec, served offline.

The page's JavaScript and CSS come from the ``swagger-ui-bundle`` distribution installed with the
project and are served by the app itself under /docs/assets/, never from a CDN: the docs work on a
machine without internet access. Every link in the page is relative (``openapi.json``,
``docs/assets/…``), so the same page works at /docs and behind the gateway at /api/<service>/docs.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, send_from_directory
from werkzeug.exceptions import NotFound

DOCS_PATH = "docs"
ASSETS_PATH = f"/{DOCS_PATH}/assets"
#: What the page loads (flask-smorest's swagger_ui.html): nothing else of the bundle is served.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})
#: A week: the files change only with the installed swagger-ui-bundle version.
ASSET_MAX_AGE_SECONDS = 7 * 24 * 3600


def config() -> dict[str, Any]:
    """flask-smorest's settings for its Swagger UI page (merged into ``app.config`` by the factory)."""
    return {
        "OPENAPI_SWAGGER_UI_PATH": DOCS_PATH,
        # Relative to the page at /docs: resolves to /docs/assets/ here and behind the gateway alike.
        "OPENAPI_SWAGGER_UI_URL": f"{DOCS_PATH}/assets/",
        "OPENAPI_SWAGGER_UI_CONFIG": {
            # Overrides the absolute spec URL flask-smorest writes, which would miss the gateway's prefix.
            "url": "openapi.json",
            # Swagger UI would otherwise send the spec to validator.swagger.io for a badge.
            "validatorUrl": None,
            # Shows each operation's x-roles (who may call it) under the operation.
            "showExtensions": True,
        },
    }


def _asset(filename: str) -> Response:
    if filename not in ASSETS:
        raise NotFound()
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=ASSET_MAX_AGE_SECONDS)


def init_app(app: Flask) -> None:
    """Serve the Swagger UI assets; the page itself is flask-smorest's (``config()``)."""
    app.add_url_rule(f"{ASSETS_PATH}/<path:filename>", "docs_asset", _asset, methods=["GET"])
