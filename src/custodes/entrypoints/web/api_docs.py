"""The API's documentation page, offline: Swagger UI from an installed package.

`GET /api/v1/docs` is a page of our own (no inline script: the site's CSP allows none) that
loads Swagger UI's script and style sheet from the `swagger-ui-bundle-v2` package, installed
with the product like any other dependency, and `static/api-docs.js` to point it at
`/api/v1/openapi.json`. Nothing is fetched from a CDN; a site without internet has its API
docs. Without the package the page says where the schema is, and the schema is served as
always.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

try:
    from swagger_ui_bundle import swagger_ui_path
except ImportError:  # pragma: no cover - the package is a dependency
    ASSETS: Path | None = None
else:
    ASSETS = Path(str(swagger_ui_path))

DOCS = "/api/v1/docs"
# The only files of the package served: Swagger UI itself, its styles, its icon.
FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Custodes API</title>
<link rel="stylesheet" href="{docs}/swagger-ui.css">
<link rel="icon" type="image/png" href="{docs}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-schema="/api/v1/openapi.json"></div>
<script src="{docs}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""
_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custodes API</title></head>
<body><p>The API documentation viewer (Python package swagger-ui-bundle-v2) is not installed.
The schema is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<p>未安装 API 文档查看器（Python 包 swagger-ui-bundle-v2）。接口定义见
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>。</p></body></html>
"""


@router.get(DOCS)
def docs_page() -> HTMLResponse:
    if ASSETS is None:
        return HTMLResponse(_MISSING)
    return HTMLResponse(_PAGE.format(docs=DOCS))


@router.get(DOCS + "/{name}")
def docs_asset(name: str) -> FileResponse:
    if ASSETS is None or name not in FILES:
        raise HTTPException(404, f"no file {name!r}")
    return FileResponse(
        ASSETS / name, media_type=FILES[name], headers={"Cache-Control": "max-age=86400"}
    )
