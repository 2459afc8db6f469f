"""Questions scripts/test-install asks the test bed's AWS emulator directly, not through the
operator: $AWS_ENDPOINT_URL and $AWS_REGION name it. The emulator checks no signature, so each
request carries a well-formed SigV4 header with a dummy signature.

  aws_probe.py pool-exists POOL_ID     exit 0 if the user pool exists, 1 if Cognito answers
                                       ResourceNotFound, 2 on any other error answer
  aws_probe.py iam KEY=VALUE...        an IAM query-protocol call; prints the first <Arn> in the
                                       answer (empty if none)
  aws_probe.py function-role ARN       the name of a Lambda function's execution role
"""
import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def auth(region, service):
    return (f"AWS4-HMAC-SHA256 Credential=testbed/20250101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


def pool_exists(pool_id):
    req = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"], data=json.dumps({"UserPoolId": pool_id}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.DescribeUserPool",
                 "Authorization": auth(os.environ["AWS_REGION"], "cognito-idp")})
    try:
        urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        sys.exit(1 if "ResourceNotFound" in e.read().decode() else 2)


def iam(pairs):
    form = dict(a.split("=", 1) for a in pairs)
    form["Version"] = "2010-05-08"
    # IAM is global: its calls are signed for us-east-1 whatever the bed's region.
    req = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"], data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": auth("us-east-1", "iam")})
    body = urllib.request.urlopen(req).read().decode()
    m = re.search(r"<Arn>([^<]+)</Arn>", body)
    print(m.group(1) if m else "")


def function_role(arn):
    url = f"{os.environ['AWS_ENDPOINT_URL']}/2015-03-31/functions/{urllib.parse.quote(arn, safe='')}"
    req = urllib.request.Request(url, headers={"Authorization": auth(os.environ["AWS_REGION"], "lambda")})
    print(json.load(urllib.request.urlopen(req))["Configuration"]["Role"].rsplit("/", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("pool-exists").add_argument("pool_id")
    sub.add_parser("iam").add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    sub.add_parser("function-role").add_argument("arn")
    args = parser.parse_args()
    if args.command == "pool-exists":
        pool_exists(args.pool_id)
    elif args.command == "iam":
        iam(args.pairs)
    else:
        function_role(args.arn)


if __name__ == "__main__":
    main()
