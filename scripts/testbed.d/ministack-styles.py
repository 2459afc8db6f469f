# The file is not named ministack.py: its folder comes first on sys.path and would shadow the package.
"""ministack, plus what it lacks that the operator relies on:

- the managed login style calls (CreateManagedLoginBranding,
  DescribeManagedLoginBrandingByClient, DescribeManagedLoginBranding, DeleteManagedLoginBranding),
  answered the way the Cognito API reference describes them: one style per app client, created
  with Cognito's provided values, ResourceNotFoundException for an unknown one. Only the calls the
  operator makes; the style's look (Settings, Assets) is stored, never rendered.
- SES v2's GetEmailIdentity answering with the identity's tags as they are now: ministack keeps
  the tags given at creation there, and TagResource's elsewhere.

Started by scripts/testbed with the ministack venv's python; everything else is ministack's.
"""

import json
import re
import sys
import threading
import time
import urllib.parse
import uuid

import ministack.services.cognito as cognito
import ministack.services.ses_v2 as ses_v2
from ministack.core.responses import error_response_json, json_response

_styles = {}  # style id -> style
_lock = threading.Lock()
_TARGET = "AWSCognitoIdentityProviderService."


def _not_found(what):
    return error_response_json("ResourceNotFoundException", f"{what} not found.", 400)


def _by_client(pool_id, client_id):
    return next((s for s in _styles.values()
                 if s["UserPoolId"] == pool_id and s["_client"] == client_id), None)


def _public(style):
    return {k: v for k, v in style.items() if not k.startswith("_")}


def _create(data):
    pool_id, client_id = data.get("UserPoolId"), data.get("ClientId")
    found_pool, _, client = cognito._find_pool_by_client_id(client_id or "")
    if client is None or found_pool != pool_id:
        return _not_found(f"App client {client_id}")
    if data.get("UseCognitoProvidedValues") and (data.get("Settings") or data.get("Assets")):
        return error_response_json(
            "InvalidParameterException",
            "Settings and Assets must be omitted when UseCognitoProvidedValues is true.", 400)
    with _lock:
        if _by_client(pool_id, client_id):
            return error_response_json(
                "ManagedLoginBrandingExistsException",
                "A managed login branding style already exists for this app client.", 400)
        now = time.time()
        style = {
            "ManagedLoginBrandingId": str(uuid.uuid4()),
            "UserPoolId": pool_id,
            "UseCognitoProvidedValues": bool(data.get("UseCognitoProvidedValues")),
            "Settings": data.get("Settings") or {},
            "Assets": data.get("Assets") or [],
            "CreationDate": now,
            "LastModifiedDate": now,
            "_client": client_id,
        }
        _styles[style["ManagedLoginBrandingId"]] = style
    return json_response({"ManagedLoginBranding": _public(style)})


def _describe_by_client(data):
    style = _by_client(data.get("UserPoolId"), data.get("ClientId"))
    if style is None:
        return _not_found("Managed login branding")
    return json_response({"ManagedLoginBranding": _public(style)})


def _describe(data):
    style = _styles.get(data.get("ManagedLoginBrandingId"))
    if style is None or style["UserPoolId"] != data.get("UserPoolId"):
        return _not_found("Managed login branding")
    return json_response({"ManagedLoginBranding": _public(style)})


def _delete(data):
    with _lock:
        style = _styles.get(data.get("ManagedLoginBrandingId"))
        if style is None or style["UserPoolId"] != data.get("UserPoolId"):
            return _not_found("Managed login branding")
        del _styles[style["ManagedLoginBrandingId"]]
    return json_response({})


_HANDLERS = {
    "CreateManagedLoginBranding": _create,
    "DescribeManagedLoginBrandingByClient": _describe_by_client,
    "DescribeManagedLoginBranding": _describe,
    "DeleteManagedLoginBranding": _delete,
}
_ministack_handle = cognito.handle_request


async def handle_request(method, path, headers, body, query_params):
    target = headers.get("x-amz-target", "")
    handler = target.startswith(_TARGET) and _HANDLERS.get(target[len(_TARGET):])
    if handler:
        try:
            data = json.loads(body) if body else {}
        except json.JSONDecodeError:
            return error_response_json("SerializationException", "Invalid JSON", 400)
        return handler(data)
    return await _ministack_handle(method, path, headers, body, query_params)


cognito.handle_request = handle_request

_ses_v2_handle = ses_v2.handle_request
_IDENTITY_PATH = re.compile(r"^/v2/email/identities/([^/]+)$")


async def ses_v2_handle_request(method, path, headers, body, query_params):
    found = _IDENTITY_PATH.match(path) if method == "GET" else None
    if found:
        identity = urllib.parse.unquote(found.group(1))
        record = ses_v2._identities.get(identity)
        if record is not None:
            arn = ses_v2._resource_arn("identity", identity)
            record["Tags"] = ses_v2._ses_tags.get(arn, record.get("Tags", []))
    return await _ses_v2_handle(method, path, headers, body, query_params)


ses_v2.handle_request = ses_v2_handle_request

if __name__ == "__main__":
    from ministack.app import main

    sys.argv[0] = "ministack"
    sys.exit(main())
