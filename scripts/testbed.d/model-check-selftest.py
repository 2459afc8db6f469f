"""The model check's self-test (run by scripts/test-model-check with the model-check venv's python):
requests that break the AWS models are refused the way AWS refuses them and recorded; valid ones
reach the emulator. Each request carries `x-pwp-model-check-selftest: RUN`, so the proxy files
them apart from the suite's traffic and its deliberate violations never count against the run.

  python model-check-selftest.py AWS_ENDPOINT MOTO_ENDPOINT
"""

import json
import sys
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions

AWS, MOTO = sys.argv[1], sys.argv[2]
RUN = uuid.uuid4().hex[:12]
MARK = f"selftest-{RUN}"  # in values where the model allows it, to tell our requests apart
# No client-side validation (botocore checks required and min itself), no retries.
CONFIG = botocore.config.Config(parameter_validation=False, retries={"total_max_attempts": 1})
PASSED, FAILED = [], []
SENT = 0


def client(service, endpoint=AWS):
    c = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=CONFIG,
                     aws_access_key_id="testbed", aws_secret_access_key="testbed")

    def tag(request, **_):
        global SENT
        SENT += 1
        request.headers["x-pwp-model-check-selftest"] = RUN

    c.meta.events.register("before-send", tag)
    return c


def report():
    with urllib.request.urlopen(f"{AWS}/_modelcheck", timeout=10) as r:
        return json.load(r)


def result(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)


def refused(name, call, code, message, recorded):
    """CALL is answered 400 CODE with MESSAGE (a substring) and the proxy records RECORDED:
    (operation, path, rule)."""
    try:
        call()
    except botocore.exceptions.ClientError as e:
        err, status = e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"]
        if status != 400 or err.get("Code") != code or message not in err.get("Message", ""):
            return result(name, False, f"got {status} {err.get('Code')}: {err.get('Message')}")
        EXPECTED.append((name, recorded))
        return result(name, True)
    result(name, False, "the request was accepted")


def passes(name, call, emulator_code=None):
    """CALL reaches the emulator: it succeeds, or the emulator answers EMULATOR_CODE."""
    try:
        call()
    except botocore.exceptions.ClientError as e:
        code = e.response["Error"].get("Code")
        if code == emulator_code:
            return result(name, True)
        return result(name, False, f"{code}: {e.response['Error'].get('Message')}")
    result(name, emulator_code is None, f"expected the emulator's {emulator_code}")


EXPECTED = []
before = report()
if not before.get("checking"):
    print("model-check: the proxy forwards unchecked (PWP_MODEL_CHECK=0): nothing to test")
    print("model-check: 0 passed, 1 failed")
    sys.exit(1)

idp, iam, lam, sts = client("cognito-idp"), client("iam"), client("lambda"), client("sts")
POOL = "us-east-1_selftest0"
FN_ARN = "arn:aws:lambda:us-east-1:000000000000:function:model-check-selftest"
ROLE_ARN = "arn:aws:iam::000000000000:role/model-check-selftest"
TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"

# Query protocol (IAM): a tag value with '&', as `tags.N.member.value`.
refused("iam CreateRole: tag value 'R&D' (pattern, query protocol)",
        lambda: iam.create_role(RoleName=MARK, AssumeRolePolicyDocument="{}",
                                Tags=[{"Key": "team", "Value": f"R&D {MARK}"}]),
        "ValidationError",
        f"1 validation error detected: Value 'R&D {MARK}' at 'tags.1.member.value' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {TAG_PATTERN}",
        ("CreateRole", "tags.1.member.value", "pattern"))
# REST-JSON (Lambda): the function ARN travels as a URI label (percent-encoded) and must pass.
refused("lambda TagResource: tag value 'a (b)' (pattern, rest-json, ARN in the URI)",
        lambda: lam.tag_resource(Resource=FN_ARN, Tags={"team": f"a (b) {MARK}"}),
        "ValidationException",
        f"Value 'a (b) {MARK}' at 'tags.team' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: ({TAG_PATTERN})",
        ("TagResource", "tags.team", "pattern"))
refused("lambda CreateFunction: tag value of 257 characters (max length)",
        lambda: lam.create_function(FunctionName="model-check-selftest", Role=ROLE_ARN, Runtime="python3.12",
                                    Handler="index.handler", Code={"ZipFile": b"PK"},
                                    Tags={"team": (MARK + "x" * 257)[:257]}),
        "ValidationException", "Member must have length less than or equal to 256",
        ("CreateFunction", "tags.team", "max"))
# Cognito has no tag pattern, but a length limit.
refused("cognito-idp CreateUserPool: tag value of 257 characters (max length, JSON protocol)",
        lambda: idp.create_user_pool(PoolName=MARK, UserPoolTags={"team": (MARK + "x" * 257)[:257]}),
        "InvalidParameterException",
        "at 'userPoolTags.team' failed to satisfy constraint: "
        "Member must have length less than or equal to 256",
        ("CreateUserPool", "userPoolTags.team", "max"))
# Full-match semantics: the pattern refuses the control character and the no-break space only
# when the whole value must match.
for label, url in (("a control character \\x01", f"https://app.example.com/{MARK}\x01"),
                   ("a no-break space", f"https://app.example.com/{MARK}\u00a0x")):
    refused(f"cognito-idp CreateUserPoolClient: CallbackURL with {label} (full-match pattern)",
            lambda url=url: idp.create_user_pool_client(UserPoolId=POOL, ClientName=MARK, CallbackURLs=[url]),
            "InvalidParameterException",
            r"at 'callbackURLs.1.member' failed to satisfy constraint: Member must satisfy regular "
            r"expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+",
            ("CreateUserPoolClient", "callbackURLs.1.member", "pattern"))
refused("cognito-idp SetUserPoolMfaConfig: WebAuthn RelyingPartyId of 128 characters (max 127)",
        lambda: idp.set_user_pool_mfa_config(UserPoolId=POOL, WebAuthnConfiguration={
            "RelyingPartyId": (MARK + ".example.com" + "x" * 128)[:128]}),
        "InvalidParameterException",
        "at 'webAuthnConfiguration.relyingPartyId' failed to satisfy constraint: "
        "Member must have length less than or equal to 127",
        ("SetUserPoolMfaConfig", "webAuthnConfiguration.relyingPartyId", "max"))
refused("cognito-idp CreateUserPool: EmailConfiguration.SourceArn with '%' in the identity (pattern)",
        lambda: idp.create_user_pool(PoolName=MARK, EmailConfiguration={
            "EmailSendingAccount": "DEVELOPER",
            "SourceArn": f"arn:aws:ses:us-east-1:000000000000:identity/{MARK}%40example.com"}),
        "InvalidParameterException",
        "at 'emailConfiguration.sourceArn' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern",
        ("CreateUserPool", "emailConfiguration.sourceArn", "pattern"))
refused("sts AssumeRole: ExternalId with a space (pattern, query protocol)",
        lambda: sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="selftest",
                                ExternalId=f"{MARK} x"),
        "ValidationError", f"Value '{MARK} x' at 'externalId' failed to satisfy constraint",
        ("AssumeRole", "externalId", "pattern"))
refused("sts AssumeRole: ExternalId of 1 character (min length)",
        lambda: sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="selftest", ExternalId="x"),
        "ValidationError", "Value 'x' at 'externalId' failed to satisfy constraint: "
                           "Member must have length greater than or equal to 2",
        ("AssumeRole", "externalId", "min"))
refused("iam GetRole: RoleName missing (required)",
        lambda: iam.get_role(), "ValidationError",
        "Value null at 'roleName' failed to satisfy constraint: Member must not be null",
        ("GetRole", "roleName", "required"))
refused("cognito-idp CreateUserPoolClient: bad enum and bad pattern, two errors in one answer",
        lambda: idp.create_user_pool_client(UserPoolId=POOL, ClientName=f"{MARK}!",
                                            ExplicitAuthFlows=["ALLOW_EVERYTHING"]),
        "InvalidParameterException", "2 validation errors detected: ",
        ("CreateUserPoolClient", "explicitAuthFlows.1.member", "enum"))
# A sensitive member: refused, but its value appears neither in the answer nor in the record.
SECRET = f"{MARK}-" + "p" * 300
refused("cognito-idp SignUp: password of 300+ characters (sensitive: value withheld)",
        lambda: idp.sign_up(ClientId="selftestclient", Username=MARK, Password=SECRET),
        "InvalidParameterException",
        "Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 256",
        ("SignUp", "password", "max"))
# The moto port is checked too.
refused("moto port: cognito-idp CreateUserPool with a 257-character tag value",
        lambda: client("cognito-idp", MOTO).create_user_pool(
            PoolName=MARK, UserPoolTags={"team": (MARK + "y" * 257)[:257]}),
        "InvalidParameterException", "at 'userPoolTags.team'",
        ("CreateUserPool", "userPoolTags.team", "max"))

# Valid requests reach the emulator (which answers for things that do not exist).
passes("valid cognito-idp DescribeUserPool reaches ministack",
       lambda: idp.describe_user_pool(UserPoolId=POOL), "ResourceNotFoundException")
passes("valid iam GetRole reaches ministack", lambda: iam.get_role(RoleName=MARK), "NoSuchEntity")
passes("valid lambda ListTags (ARN label) reaches ministack",
       lambda: lam.list_tags(Resource=FN_ARN), "ResourceNotFoundException")
passes("valid sts GetCallerIdentity reaches ministack", lambda: sts.get_caller_identity())
passes("valid cognito-idp DescribeUserPool reaches moto",
       lambda: client("cognito-idp", MOTO).describe_user_pool(UserPoolId=POOL), "ResourceNotFoundException")
passes("a custom domain (model exception) reaches ministack",
       lambda: idp.describe_user_pool_domain(Domain="auth.example.com"))

after = report()
st = after["selftest"]
mine = [v for v in st["violations"] if v.get("tag") == RUN]
for name, (op, path, rule) in EXPECTED:
    found = any(v["operation"] == op and v["path"] == path and v["rule"] == rule for v in mine)
    result(f"recorded: {op} {path} {rule}", found, "not in the self-test's violations")
text = json.dumps(after)
result("the suite's violations hold none of the self-test's requests",
       MARK not in json.dumps(after["violations"]) and after["violations_total"] == before["violations_total"],
       f"suite violations went {before['violations_total']} -> {after['violations_total']}")
result("every self-test request was checked apart from the suite's",
       st["checked"] - before["selftest"]["checked"] == SENT,
       f"{st['checked'] - before['selftest']['checked']} checked, {SENT} sent")
result("the sensitive password is in no record", SECRET[:40] not in text and "p" * 60 not in text)
result("the custom-domain exception was applied",
       st["exceptions_applied"].get("cognito-custom-domain-pattern", 0)
       > before["selftest"]["exceptions_applied"].get("cognito-custom-domain-pattern", 0))

print(f"model-check: {len(PASSED)} passed, {len(FAILED)} failed")
sys.exit(1 if FAILED else 0)
