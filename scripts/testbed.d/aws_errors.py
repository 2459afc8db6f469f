"""AWS's error answers, in each protocol's shape, for what the test-bed proxies answer
themselves (a model violation, a behaviour of the real service). Python 3 stdlib."""

import json
import uuid
from xml.sax.saxutils import escape as xml_escape


def error_response(protocol, request_headers, status, code, message, fault="Sender"):
    """(status, headers, body) of an AWS error in the protocol (`json`, `rest-json`, `query`)."""
    request_id = str(uuid.uuid4())
    if protocol == "json":
        content_type = request_headers.get("Content-Type") or "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, {"Content-Type": content_type, "x-amzn-ErrorType": code,
                        "x-amzn-RequestId": request_id}, body
    if protocol == "rest-json":
        kind = "User" if fault == "Sender" else "Service"
        body = json.dumps({"Type": kind, "message": message}).encode()
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                        "x-amzn-RequestId": request_id}, body
    body = (f"<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code>"
            f"<Message>{xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>").encode()
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
