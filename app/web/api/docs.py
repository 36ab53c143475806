"""The JSON API's documentation page, /api/docs: Swagger UI from static/vendor, not a CDN."""

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.templating import render
from app.web.kit.routing import Router

SWAGGER_UI = "5.36.0"  # swagger-ui-dist, from npm (see README: Development)
SWAGGER_UI_JS = f"vendor/swagger-ui-bundle-{SWAGGER_UI}.js"
SWAGGER_UI_CSS = f"vendor/swagger-ui-{SWAGGER_UI}.css"

router = Router(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over the API's OpenAPI document."""
    return render(
        request,
        "api/docs.html",
        {
            "openapi_url": request.app.openapi_url,
            "swagger_ui_js": SWAGGER_UI_JS,
            "swagger_ui_css": SWAGGER_UI_CSS,
        },
    )
