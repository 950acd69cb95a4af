"""The OpenAPI document, generated from the route table and the models in backend/api_models.py.

Paths, methods and path parameters come from the Starlette routes; bodies and answers from the models;
backend/openapi_ops.py adds only what the code cannot say (a summary, which statuses an operation
answers). A route that is neither described there nor listed in UNDOCUMENTED stops the app from being
built, so the document cannot fall behind the routes (and tests/contract checks it against the running service).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

from backend import api_answers as a
from backend.openapi_ops import ERROR, FORM, JSON, OPERATIONS, RAW_BODIES, UNDOCUMENTED, URLENCODED, Op


def _form_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A multipart form cannot carry null: optional fields are simply absent."""
    props = {}
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            prop = {**options[0], **prop}
        props[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": props}
    if schema.get("required"):
        out["required"] = schema["required"]
    return out


def _schemas(ops: Iterable[Op]) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    models = {model for op in ops for model in op.body.values()}
    models |= {ok.model for op in ops for ok in op.answers if ok.model is not None}
    models.add(a.Error)
    ordered = sorted(models, key=lambda model: model.__name__)
    refs, defs = models_json_schema([(model, "validation") for model in ordered],
                                    ref_template="#/components/schemas/{model}")
    return {model: refs[(model, "validation")] for model in ordered}, defs.get("$defs", {})


def _operation(op: Op, key: tuple[str, str], route: Route, refs: dict[type[BaseModel], dict[str, Any]],
               defs: dict[str, Any], signable: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary}
    if op.secure:
        out["security"] = [{"bearer": []}]
    params = [{"name": name, "in": "path", "required": True, "schema": op.path.get(name, {"type": "string"})}
              for name in route.param_convertors]
    params += [{"name": q.name, "in": "query", "required": q.required, "schema": q.schema} for q in op.query]
    if params:
        out["parameters"] = params
    content: dict[str, Any] = {}
    for media_type, model in op.body.items():
        if media_type == URLENCODED and key in RAW_BODIES:
            content.update(RAW_BODIES[key])
        elif media_type == FORM:
            schema = _form_schema(defs[model.__name__])
            if "source_type" in schema["properties"]:
                schema["properties"]["source_type"]["enum"] = signable
            content[media_type] = {"schema": schema}
        else:
            content[media_type] = {"schema": refs[model]}
    if content:
        out["requestBody"] = {"required": op.body_required, "content": content}
    responses: dict[str, Any] = {}
    for ok in op.answers:
        answer: dict[str, Any] = {"description": ok.description}
        if ok.model is not None:
            answer["content"] = {JSON: {"schema": refs[ok.model]}}
        elif ok.content is not None:
            answer["content"] = ok.content
        if ok.headers:
            answer["headers"] = ok.headers
        responses[ok.status] = answer
    for status in op.errors:
        responses[str(status)] = ERROR
    out["responses"] = responses
    return out


def build_openapi(routes: Iterable[BaseRoute], version: str, signable: list[str]) -> dict[str, Any]:
    """The document for these routes; refuses a route nobody described, and a description with no route."""
    refs, defs = _schemas(OPERATIONS.values())
    paths: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):  # Starlette answers HEAD for every GET
            key = (method.lower(), route.path_format)
            seen.add(key)
            if key in UNDOCUMENTED or not route.include_in_schema:
                continue
            op = OPERATIONS.get(key)
            if op is None:
                raise RuntimeError(f"{method} {route.path_format} is not described in backend/openapi_ops.py")
            paths.setdefault(route.path_format, {})[key[0]] = _operation(op, key, route, refs, defs, signable)
    missing = set(OPERATIONS) - seen
    if missing:
        raise RuntimeError(f"described in backend/openapi_ops.py but not routed: {sorted(missing)}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "avlabel", "version": version,
                 "description": "Labelling and verification of AI-generated media (C2PA, GB 45438-2025)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": defs,
            "responses": {"Error": {"description": "error", "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }

