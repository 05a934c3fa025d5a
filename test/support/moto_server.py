"""moto's server, with two corrections to its authentication, so it judges requests as AWS does (test support for
this repository).

1. SigV4's canonical query string encodes every parameter name and value (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay
as they are), so a client sends and signs `delimiter=%2F`. moto 5.2 rebuilds the string from the URL its web
framework decoded, `delimiter=/`, and so refuses, under IAM enforcement, the signature of every request whose
query holds a "/" (a ListObjectsV2 with a prefix or a delimiter, from any SDK). This re-encodes the names and
values before moto signs.

2. STS takes AssumeRoleWithWebIdentity unsigned (the web identity token is the proof; clients send no
Authorization header). moto judges it as any other call and, under IAM enforcement, fails on the missing header.
Such a call now goes through to STS's own checks (the role's trust), as on AWS.

Nothing else of moto changes.

Usage: python3 moto_server.py -H 127.0.0.1 -p PORT (the arguments of `python3 -m moto.server`).
"""
from urllib.parse import quote, unquote

import moto.iam.access_control as access_control
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import main

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def _encode(part: str) -> str:
    return quote(unquote(part), safe="-_.~")


def _create_aws_request_encoded(self):  # type: ignore[no-untyped-def]
    request = _create_aws_request(self)
    path, sep, query = request.url.partition("?")
    if sep:
        pairs = (pair.partition("=") for pair in query.split("&") if pair)
        request.url = path + "?" + "&".join(_encode(k) + "=" + _encode(v) for k, _, v in pairs)
    return request


access_control.IAMRequestBase._create_aws_request = _create_aws_request_encoded

_authenticate_and_authorize_action = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authenticate_unless_web_identity(self, iam_request_cls, resource="*"):  # type: ignore[no-untyped-def]
    if "Authorization" not in self.headers and self._get_action() == "AssumeRoleWithWebIdentity":
        return None
    return _authenticate_and_authorize_action(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_unless_web_identity

if __name__ == "__main__":
    main()
