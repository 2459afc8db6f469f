"""Real AWS behaviours the emulator lacks, switched on per test and per resource through the
model check's `POST /_behaviours` (so parallel tests never see each other's):

  {"add": {"kind": "lambda-inactive", "target": "<function name>"}}
  {"add": {"kind": "role-unassumable", "target": "<role name>", "seconds": 15}}
  {"add": {"kind": "waf-unavailable", "target": "<web ACL name>", "times": 2}}
  {"add": {"kind": "domain-creating", "target": "<domain>", "seconds": 5, "then": "FAILED"}}
  {"add": {"kind": "ses-pending", "target": "<address or domain>", "seconds": 5, "then": "SUCCESS"}}
  {"add": {"kind": "ses-slow", "target": "<recipient>", "seconds": 8}}
  {"add": {"kind": "ses-sandbox", "target": "<region>"}}   {"add": {"kind": "sms-sandbox", "target": "<region>"}}
  {"remove": "<target>"}   {"clear": true}          GET: what is on, and what each did

Each answers as AWS does (its error codes and messages, from the service's documentation), and
counts what it did, so a test can tell the behaviour really happened. Python 3 stdlib.

- lambda-inactive: the function reads `Inactive` (reason code `Idle`), as after about two
  weeks unused. Invoking it fails with `ResourceNotReadyException` and starts restoring it; an
  update restores it too. Restoring reads `Pending` (`Restoring`) for `pending_seconds`, then
  the emulator's own state shows again.
- role-unassumable: IAM is eventually consistent: for `seconds` after a function first names
  the role, Lambda refuses to create or configure a function with it
  (`InvalidParameterValueException`, "The role defined for the function cannot be assumed by
  Lambda."), as right after the role was created or its trust policy written.
- domain-creating: `DescribeUserPoolDomain` reads the domain `CREATING` for `seconds` after it
  is first read, then `then`: `ACTIVE` (the emulator's own answer again) or `FAILED` (for good).
- ses-pending: the SES identity reads `PENDING` (not verified for sending) for `seconds` after
  it is first read, then `then` (`SUCCESS`: the emulator's own answer again; or `FAILED`, as an
  address whose link expired unclicked). A new link (SES v1's `VerifyEmailIdentity` on it) or
  creating it starts the `seconds` again; both are counted. `confirm_new_link`: a person follows
  the new link at once (`SUCCESS` from then on). While it is not verified,
  Cognito refuses a user pool whose email configuration sends as it (`InvalidParameterException`,
  SES's "Email address is not verified" passed on).
- ses-sandbox, sms-sandbox: the account is in the SES sandbox (`GetAccount` reads
  `ProductionAccessEnabled: false`, and `SendEmail` to a recipient that is not a verified
  identity fails with `MessageRejected`, as the sandbox does; `verified`: a list of addresses
  that are) or the SNS SMS sandbox in that region (a test's own region, so other tests never
  see it). ministack lacks `GetSMSSandboxAccountStatus`: it is
  answered here always, out of the sandbox unless switched on.
- ses-slow: SES takes `seconds` to answer a `SendEmail` to that recipient: the message is
  sent (the emulator has it at once), its answer held, as when SES is slow or the network
  between: the caller may give up waiting on a message that went out.
- waf-unavailable: `AssociateWebACL` for that web ACL fails with
  `WAFUnavailableEntityException` the first `times` calls, as right after creating it.
"""

import json
import threading
import time
import uuid

from aws_errors import error_response

INACTIVE_REASON = "The function is inactive because it has been idle for an extended period."
NOT_READY = ("The function is inactive and its VPC connection is no longer available. Wait for "
             "the VPC connection to reestablish and try again.")
UNASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
WAF_UNAVAILABLE = ("AWS WAF couldn't retrieve the resource that you requested. Retry your "
                   "request.")
KINDS = {"lambda-inactive", "role-unassumable", "ses-slow", "waf-unavailable", "domain-creating", "ses-pending", "ses-sandbox",
         "sms-sandbox"}
# Answered here whatever is switched on: the emulator lacks them.
ALWAYS = {("sns", "GetSMSSandboxAccountStatus")}
SANDBOX_REJECTED = ("Email address is not verified. The following identities failed the check "
                    "in region {region}: {addresses}")
NOT_VERIFIED = ("Cognito received the following error from Amazon SES when attempting to send "
                "email: Email address is not verified. The following identities failed the "
                "check in region {region}: {arn}")


class Behaviours:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = {}  # target -> behaviour (a dict: kind, target, options, and its counts)

    # --- control ---------------------------------------------------------------------------

    def control(self, command, body):
        """(status, report) for the control endpoint."""
        if command == "POST":
            try:
                change = json.loads(body or b"{}")
                with self.lock:
                    if change.get("clear"):
                        self.items.clear()
                    if "remove" in change:
                        self.items.pop(change["remove"], None)
                    if "add" in change:
                        item = dict(change["add"])
                        if item.get("kind") not in KINDS or not item.get("target"):
                            raise ValueError(f"kind must be one of {sorted(KINDS)}, with a target")
                        item.setdefault("done", {})
                        self.items[item["target"]] = item
            except (ValueError, AttributeError, TypeError) as e:
                return 400, {"error": str(e)}
        with self.lock:
            return 200, {"behaviours": json.loads(json.dumps(list(self.items.values())))}

    def wanted(self, service, op):
        """Whether this request may need a behaviour's hand."""
        return bool(self.items) or (service, op) in ALWAYS

    def _find(self, kind, target):
        item = self.items.get(target)
        return item if item and item["kind"] == kind else None

    @staticmethod
    def _count(item, what):
        item["done"][what] = item["done"].get(what, 0) + 1

    # --- before forwarding: an answer of our own, or None ------------------------------------

    def before(self, service, op, params, headers, protocol, region):
        with self.lock:
            if (service, op) == ("sns", "GetSMSSandboxAccountStatus"):
                item = self._find("sms-sandbox", region or "")
                if item:
                    self._count(item, "read_in_sandbox")
                return sms_sandbox_answer(bool(item))
            if service == "cognito-idp" and op in ("CreateUserPool", "UpdateUserPool"):
                arn = (params.get("EmailConfiguration") or {}).get("SourceArn", "")
                item = self._find("ses-pending", arn.rpartition("identity/")[2])
                if item and self._ses_status(item) != "SUCCESS":
                    self._count(item, "pool_refused")
                    region = arn.split(":")[3].upper() if arn.count(":") > 3 else ""
                    return error_response(protocol, headers, 400, "InvalidParameterException",
                                          NOT_VERIFIED.format(region=region, arn=arn))
            if (service, op) == ("sesv2", "SendEmail"):
                item = self._find("ses-sandbox", region or "")
                to = (params.get("Destination") or {}).get("ToAddresses") or []
                refused = [a for a in to if item and a not in item.get("verified", [])]
                if refused:
                    self._count(item, "rejected")
                    return error_response(protocol, headers, 400, "MessageRejected",
                                          SANDBOX_REJECTED.format(region=(region or "").upper(),
                                                                  addresses=", ".join(refused)))
            if service == "lambda":
                return self._lambda_before(op, params, headers, protocol)
            if service == "wafv2" and op == "AssociateWebACL":
                name = _web_acl_name(params.get("WebACLArn", ""))
                item = self._find("waf-unavailable", name)
                if item and item["done"].get("refused", 0) < int(item.get("times", 1)):
                    self._count(item, "refused")
                    return error_response(protocol, headers, 400,
                                          "WAFUnavailableEntityException", WAF_UNAVAILABLE)
        return None

    def _lambda_before(self, op, params, headers, protocol):
        if op in ("CreateFunction", "UpdateFunctionConfiguration") and params.get("Role"):
            role = self._find("role-unassumable", params["Role"].rpartition("/")[2])
            if role:
                first = role.setdefault("first_named", time.monotonic())
                if time.monotonic() - first < float(role.get("seconds", 10)):
                    self._count(role, "refused")
                    return error_response(protocol, headers, 400,
                                          "InvalidParameterValueException", UNASSUMABLE)
        item = self._find("lambda-inactive", _function_name(params.get("FunctionName", "")))
        if not item or "restoring_since" in item:
            return None
        if op == "Invoke":
            item["restoring_since"] = time.monotonic()
            self._count(item, "invoke_refused")
            return error_response(protocol, headers, 502, "ResourceNotReadyException", NOT_READY,
                                  fault="Receiver")
        if op in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            item["restoring_since"] = time.monotonic()
            self._count(item, "woken_by_update")
        return None

    # --- after forwarding: the emulator's answer, rewritten ------------------------------------

    def after(self, service, op, params, region, status, headers, data):
        if status != 200:
            return status, headers, data
        if (service, op) == ("sesv2", "GetAccount"):
            with self.lock:
                item = self._find("ses-sandbox", region or "")
                if not item:
                    return status, headers, data
                self._count(item, "read_in_sandbox")
            answer = json.loads(data)
            answer["ProductionAccessEnabled"] = False
            return status, headers, json.dumps(answer).encode()
        if service == "sesv2" and op == "GetEmailIdentity":
            return status, headers, self._ses_after(params, data)
        if (service, op) == ("sesv2", "SendEmail"):
            to = (params.get("Destination") or {}).get("ToAddresses") or [""]
            with self.lock:
                item = self._find("ses-slow", to[0])
                if item:
                    self._count(item, "held")
            if item:
                time.sleep(float(item.get("seconds", 8)))  # this request's thread alone
            return status, headers, data
        if (service, op) in (("sesv2", "CreateEmailIdentity"), ("ses", "VerifyEmailIdentity")):
            address = params.get("EmailIdentity") or params.get("EmailAddress") or ""
            with self.lock:
                item = self._find("ses-pending", address)
                if item:
                    self._count(item, "created" if op == "CreateEmailIdentity" else "link_sent")
                    item.pop("first_read", None)
            return status, headers, data
        if service == "cognito-idp" and op == "DescribeUserPoolDomain":
            return status, headers, self._domain_after(params, data)
        if service != "lambda":
            return status, headers, data
        if op not in ("GetFunctionConfiguration", "GetFunction"):
            return status, headers, data
        with self.lock:
            item = self._find("lambda-inactive", _function_name(params.get("FunctionName", "")))
            if not item:
                return status, headers, data
            since = item.get("restoring_since")
            if since is None:
                state, reason, code = "Inactive", INACTIVE_REASON, "Idle"
                self._count(item, "read_inactive")
            elif time.monotonic() - since < float(item.get("pending_seconds", 2)):
                state, reason, code = "Pending", "The function is being restored.", "Restoring"
            else:
                return status, headers, data
        answer = json.loads(data)
        config = answer["Configuration"] if op == "GetFunction" else answer
        config.update({"State": state, "StateReason": reason, "StateReasonCode": code})
        return status, headers, json.dumps(answer).encode()

    @staticmethod
    def _ses_status(item):
        if item.get("confirm_new_link") and item["done"].get("link_sent"):
            return "SUCCESS"  # a person followed the new link at once
        first = item.setdefault("first_read", time.monotonic())
        if time.monotonic() - first < float(item.get("seconds", 5)):
            return "PENDING"
        return item.get("then", "SUCCESS")

    def _ses_after(self, params, data):
        with self.lock:
            item = self._find("ses-pending", params.get("EmailIdentity", ""))
            if not item:
                return data
            shown = self._ses_status(item)
            if shown == "SUCCESS":
                return data
            self._count(item, f"read_{shown.lower()}")
        answer = json.loads(data)
        answer["VerificationStatus"] = shown
        answer["VerifiedForSendingStatus"] = False
        return json.dumps(answer).encode()

    def _domain_after(self, params, data):
        with self.lock:
            item = self._find("domain-creating", params.get("Domain", ""))
            if not item:
                return data
            first = item.setdefault("first_read", time.monotonic())
            if time.monotonic() - first < float(item.get("seconds", 5)):
                shown = "CREATING"
            elif item.get("then", "ACTIVE") == "ACTIVE":
                return data
            else:
                shown = item["then"]
            self._count(item, f"read_{shown.lower()}")
        answer = json.loads(data)
        if answer.get("DomainDescription", {}).get("Domain"):
            answer["DomainDescription"]["Status"] = shown
        return json.dumps(answer).encode()


def sms_sandbox_answer(in_sandbox):
    """SNS's `GetSMSSandboxAccountStatus` answer (query protocol, XML)."""
    body = ('<GetSMSSandboxAccountStatusResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
            f"<GetSMSSandboxAccountStatusResult><IsInSandbox>{str(in_sandbox).lower()}"
            "</IsInSandbox></GetSMSSandboxAccountStatusResult><ResponseMetadata><RequestId>"
            f"{uuid.uuid4()}</RequestId></ResponseMetadata></GetSMSSandboxAccountStatusResponse>")
    return 200, {"Content-Type": "text/xml"}, body.encode()


def _function_name(value):
    """A function's name from its name, ARN or partial ARN (`...:function:NAME[:QUALIFIER]`)."""
    parts = value.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return value


def _web_acl_name(arn):
    """`arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID` -> NAME."""
    parts = arn.split("/")
    return parts[-2] if len(parts) >= 3 else ""
