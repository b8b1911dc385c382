"""The API's interactive documentation (Swagger UI) at /api/docs, served from the package.

FastAPI's default page loads Swagger UI from a CDN, which leaves /api/docs blank on a
site network without internet; here its files come from the ``swagger-ui-bundle-v2``
package installed with sijreg.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS = "/api/docs"
ASSETS = f"{DOCS}/assets"


def add_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI for the app's OpenAPI document at :data:`DOCS`, offline."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    openapi_url = app.openapi_url or "/api/v1/openapi.json"

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
