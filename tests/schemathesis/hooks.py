"""Schemathesis hooks for Mandi's API: how to send a component upload (`application/wasm`)."""

import json

import schemathesis


@schemathesis.serializer("application/wasm")
def wasm(ctx, value):
    # Positive cases are binary strings; negative ones may be any JSON value: send its text.
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()
