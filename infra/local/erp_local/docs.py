"""Swagger UI for /docs, with its assets served from the swagger-ui-bundle package (no CDN)."""
from __future__ import annotations

import html
import mimetypes
from pathlib import Path

import swagger_ui_bundle
from werkzeug.wrappers import Response

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
ALLOWED = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
           "favicon-16x16.png"}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{spec_url}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    }});
  </script>
</body>
</html>
"""


def swagger_page(spec_url: str, title: str) -> Response:
    body = PAGE.format(title=html.escape(title), spec_url=html.escape(spec_url, quote=True))
    return Response(body, mimetype="text/html")


def asset_response(name: str) -> Response:
    path = ASSETS / name
    if name not in ALLOWED or not path.is_file():
        return Response("not found", status=404, mimetype="text/plain")
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), mimetype=mimetype, headers={"Cache-Control": "public, max-age=86400"})
