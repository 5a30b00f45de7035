"""The OpenAPI 3 document of the public API, generated from the endpoints.

Each ``api(...)`` declaration of the gateway service carries its method,
path, action (and so the roles of ``phoihop.auth.POLICY``), query and body
schemas and answer schema; apispec turns the marshmallow schemas into JSON
Schema. ``render_docs_page`` writes the same document as a self-contained
HTML page (no script or style from another site: the machines that read
it may have no internet).
"""

import html
import inspect
import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import phoihop
from phoihop.auth import POLICY, ROLE_LABELS
from services.gateway.http import ApiEndpoint
from services.gateway.schemas import ErrorSchema

_PATH_PARAM = re.compile(
    r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)>"
)

ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` names each field and the reason",
    "401": "No valid credential",
    "403": "Refused by the access policy; the message gives the reason",
    "404": "No such record",
    "409": "The record's state does not allow it",
    "413": "Request body too large",
    "414": "Request line too long (answered by the HTTP server, without a body)",
    "429": "Rate limit of the credential reached; see Retry-After",
    "502": "A service answered with an unexpected error",
    "503": "A service, the broker or the database did not answer in time",
}

TAGS = (
    ("reports", "Báo cáo, phản ánh (Art. 5.1)"),
    ("cases", "Vụ việc"),
    ("routing", "Phân công, báo cáo cấp trên, thời hạn (Art. 7)"),
    ("consultation", "Họp, lấy ý kiến, thẩm định, quyết định (Art. 5.2)"),
    ("press", "Thông tin báo chí (Art. 7.6.d, 6.6)"),
    ("reporting", "Tổng hợp, báo cáo định kỳ (Art. 8)"),
    ("quarantine", "Đầu vào không hợp lệ"),
    ("operations", "Vận hành"),
    ("credentials", "Khóa truy cập"),
    ("session", "Phiên làm việc"),
)


def _schema_name_resolver():
    taken = {}

    def resolve(schema):
        cls = schema if inspect.isclass(schema) else type(schema)
        if not inspect.isclass(schema) and (
            getattr(schema, "only", None) or getattr(schema, "exclude", None)
        ):
            return None
        name = cls.__name__.removesuffix("Schema") or cls.__name__
        if taken.setdefault(name, cls) is not cls:
            name = f"{cls.__module__.rsplit('.', 1)[-1].title()}{name}"
            taken.setdefault(name, cls)
        return name

    return resolve


def endpoints(service_cls):
    """Every ApiEndpoint of the service class, in declaration order."""
    found = []
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEndpoint):
                found.append((method.__code__.co_firstlineno, name, entrypoint))
    return [(name, entrypoint) for _, name, entrypoint in sorted(found)]


def openapi_path(url):
    return _PATH_PARAM.sub(lambda m: "{" + m["name"] + "}", url)


def _path_parameters(url):
    parameters = []
    for match in _PATH_PARAM.finditer(url):
        schema = {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,100}$"}
        if match["converter"] == "any":
            choices = [item.strip() for item in match["args"].split(",")]
            schema = {"type": "string", "enum": choices}
        parameters.append(
            {"in": "path", "name": match["name"], "required": True, "schema": schema}
        )
    return parameters


def _operation(name, entrypoint):
    method = entrypoint.method.upper()
    operation = {
        "operationId": name,
        "summary": entrypoint.summary or name,
        "tags": [entrypoint.tag] if entrypoint.tag else [],
        "responses": {},
    }
    parameters = _path_parameters(entrypoint.url)
    if entrypoint.query is not None:
        parameters.append({"in": "query", "schema": entrypoint.query})
    if parameters:
        operation["parameters"] = parameters
    if entrypoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": entrypoint.body}},
        }

    success = {"description": "OK"}
    if entrypoint.response is not None:
        success["content"] = {"application/json": {"schema": entrypoint.response}}
    operation["responses"][str(entrypoint.status)] = success
    for status, description in entrypoint.also.items():
        operation["responses"][str(status)] = {**success, "description": description}

    errors = ["503", "502"]
    if entrypoint.body is not None or entrypoint.query is not None:
        errors += ["400"]
    if entrypoint.body is not None:
        errors += ["413"]
    if entrypoint.action:
        rule = POLICY[entrypoint.action]
        errors += ["401", "403", "429"]
        operation["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
        operation["x-phoihop-action"] = entrypoint.action
        operation["x-phoihop-roles"] = sorted(rule.roles)
        operation["x-phoihop-scope"] = rule.scope
        operation["description"] = (
            f"{entrypoint.description}\n\n" if entrypoint.description else ""
        ) + (
            f"Action `{entrypoint.action}`: roles {', '.join(sorted(rule.roles))}; "
            f"scope {rule.scope} ({rule.why})."
        )
    if name == "open_session":
        errors += ["401", "429"]
    if _PATH_PARAM.search(entrypoint.url):
        errors += ["400", "404"]
    if entrypoint.action:
        errors += ["404"]
    if entrypoint.query is not None:
        errors += ["414"]
    if method in ("POST", "DELETE", "PUT", "PATCH") and entrypoint.action:
        errors += ["409"]
    for code in sorted(set(errors)):
        operation["responses"][code] = {"description": ERROR_DESCRIPTIONS[code]}
        if code != "414":
            operation["responses"][code]["content"] = {
                "application/json": {"schema": ErrorSchema}
            }

    return method.lower(), operation


def build_openapi(service_cls, server_url=""):
    """The OpenAPI 3 document of ``service_cls`` as a dict."""
    return _build(service_cls, server_url)


@lru_cache(maxsize=8)
def _build(service_cls, server_url):
    spec = APISpec(
        title="phoihop API",
        version=phoihop.__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name_resolver())],
        info={
            "description": (
                "API công khai của hệ thống phối hợp xử lý thông tin xấu, độc trên "
                "không gian mạng (Quyết định 664/QĐ-UBND, Hải Phòng). Public API of "
                "the coordination platform. Errors: "
                '`{"error": {"code", "message", "fields"}}`.'
            )
        },
        servers=[{"url": server_url or "/"}],
        tags=[{"name": name, "description": text} for name, text in TAGS],
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "bearerFormat": "phk_<id>_<secret>"},
    )
    spec.components.security_scheme(
        "apiKeyHeader", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )

    operations = {}
    for name, entrypoint in endpoints(service_cls):
        if not entrypoint.public_doc:
            continue
        path = openapi_path(entrypoint.url)
        method, operation = _operation(name, entrypoint)
        operations.setdefault(path, {})[method] = operation
    for path, methods in operations.items():
        spec.path(path=path, operations=methods)

    return spec.to_dict()


# --- the human-readable page -----------------------------------------------------


def _e(value):
    return html.escape(str(value), quote=True)


def _type_of(schema, components):
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}), components)}"
    if "enum" in schema:
        return f"{kind} ({' | '.join(map(str, schema['enum']))})"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return kind or "object"


def _schema_table(name, components):
    schema = components.get(name, {})
    rows = []
    required = set(schema.get("required", ()))
    for field, spec in (schema.get("properties") or {}).items():
        cells = (
            f"<code>{_e(field)}</code>",
            _e(_type_of(spec, components)),
            "bắt buộc" if field in required else "",
            _e(spec.get("description", "")),
        )
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    if not rows:
        return "<p class='muted'>Đối tượng JSON (JSON object).</p>"
    return (
        f"<table><thead><tr><th>Trường</th><th>Kiểu</th><th></th><th>Ghi chú</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_docs_page(document):
    """The OpenAPI document as one HTML page in Vietnamese, with English terms."""
    components = document.get("components", {}).get("schemas", {})
    by_tag = {}
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, operation))

    sections = []
    for tag, description in TAGS:
        operations = by_tag.get(tag)
        if not operations:
            continue
        blocks = []
        for path, method, operation in operations:
            badge = f"<span class='method {_e(method)}'>{_e(method.upper())}</span>"
            parts = [
                f"<h3 id='{_e(operation['operationId'])}'>{badge} "
                f"<code>{_e(path)}</code></h3>",
                f"<p>{_e(operation.get('summary', ''))}</p>",
            ]
            if operation.get("x-phoihop-action"):
                roles = ", ".join(
                    f"{ROLE_LABELS[role][0]} ({role})"
                    for role in operation["x-phoihop-roles"]
                )
                parts.append(
                    f"<p class='muted'>Quyền (roles): {_e(roles)}; phạm vi (scope): "
                    f"{_e(operation['x-phoihop-scope'])}</p>"
                )
            params = operation.get("parameters") or []
            if params:
                rows = "".join(
                    f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
                    f"<td>{_e(_type_of(p.get('schema', {}), components))}</td>"
                    f"<td>{'bắt buộc' if p.get('required') else ''}</td></tr>"
                    for p in params
                )
                parts.append(
                    "<h4>Tham số (parameters)</h4><table><thead><tr><th>Tên</th>"
                    "<th>Ở</th><th>Kiểu</th><th></th></tr></thead>"
                    f"<tbody>{rows}</tbody></table>"
                )
            body = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json")
            )
            if body:
                ref = body["schema"].get("$ref", "").rsplit("/", 1)[-1]
                parts.append(f"<h4>Nội dung gửi (body): {_e(ref)}</h4>")
                parts.append(_schema_table(ref, components))
            codes = ", ".join(
                f"<code>{_e(code)}</code>"
                for code in sorted(operation.get("responses", {}))
            )
            parts.append(f"<p class='muted'>Mã trả về (status codes): {codes}</p>")
            blocks.append(f"<section class='op'>{''.join(parts)}</section>")
        sections.append(
            f"<h2 id='tag-{_e(tag)}'>{_e(description)} <small>({_e(tag)})</small></h2>"
            + "".join(blocks)
        )

    nav = "".join(
        f"<li><a href='#tag-{_e(tag)}'>{_e(text)}</a></li>"
        for tag, text in TAGS
        if tag in by_tag
    )
    info = document.get("info", {})
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Tài liệu API phoihop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/docs.css"></head>
<body><header>
<h1>Tài liệu API phoihop <small>v{_e(info.get("version", ""))}</small></h1>
<p>{_e(info.get("description", ""))}</p>
<p>Xác thực (authentication): <code>Authorization: Bearer phk_…</code>.
Tài liệu máy đọc (machine-readable):
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
</p></header>
<nav><ul>{nav}</ul></nav>
<main>{"".join(sections)}</main></body></html>
"""
