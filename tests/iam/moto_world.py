"""A small AWS world on loopback for the IAM tests: moto in server mode, an Organization, roles, users, keys.

moto (ThreadedMotoServer, 127.0.0.1) plays AWS; a `FaultProxy` in front of it records every request (which
action, signed with which access key) and answers some requests itself where moto cannot say what AWS
would, each rule saying why:

- moto's `sts:GetAccessKeyInfo` answers the caller's own account for any key it does not know, so a key of
  a foreign account is answered by the proxy with that account (as STS does);
- moto does not evaluate a cross-account role's trust policy (AssumeRole always succeeds), so the account
  "we cannot assume into" is refused by the proxy with IAM's AccessDenied;
- moto without IAM authorization lets any role call anything, so the role without `iam:ListAccessKeys` is
  answered AccessDenied by the proxy for that one action;
- throttling is the proxy answering `Throttling` (HTTP 400, as IAM does), a number of times or for ever;
- moto without IAM authorization accepts any signature, so `sts:GetCallerIdentity` with a wrong secret or
  a deleted key is answered by the proxy with `SignatureDoesNotMatch` / `InvalidClientTokenId`.

What moto cannot store is set through its backend in this process (key creation and last-used dates), and
the root user's keys, which moto does not model at all, are filled in (see `add_root_key`).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/keysweep-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/keysweep-test-aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}
MANAGEMENT = "123456789012"  # moto's default account: the caller's
ROLE = "keysweep-readonly"
EXTERNAL_ID = "ks-ext-7731"


@dataclass(frozen=True)
class Call:
    service: str
    action: str
    access_key: str
    params: dict[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/xml"


Rule = Callable[[Call], Answer | None]


def iam_error(code: str, message: str, status: int = 400, kind: str = "Sender") -> Answer:
    body = (
        f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>keysweep-test</RequestId>"
        "</ErrorResponse>"
    )
    return Answer(status, body)


def access_key_info(account: str) -> Answer:
    body = (
        '<GetAccessKeyInfoResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetAccessKeyInfoResult>'
        f"<Account>{account}</Account></GetAccessKeyInfoResult><ResponseMetadata><RequestId>keysweep-test"
        "</RequestId></ResponseMetadata></GetAccessKeyInfoResponse>"
    )
    return Answer(200, body)


class FaultProxy:
    """A recording, fault-injecting HTTP proxy on 127.0.0.1 in front of the moto server."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.calls: list[Call] = []
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_GET(self) -> None:
                proxy._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rules.clear()

    def add(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)

    def actions(self, action: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.action == action]

    @staticmethod
    def _describe(handler: BaseHTTPRequestHandler, body: bytes) -> Call:
        authorization = handler.headers.get("Authorization", "")
        credential = authorization.partition("Credential=")[2].partition(",")[0].split("/")
        access_key = credential[0] if credential else ""
        service = credential[3] if len(credential) > 3 else ""
        target = handler.headers.get("X-Amz-Target", "")
        params: dict[str, str] = {}
        if target:
            action = target.rpartition(".")[2]
            try:
                params = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            except ValueError:
                params = {}
        else:
            params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            action = params.get("Action", "")
        return Call(service, action, access_key, params)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        call = self._describe(handler, body)
        with self._lock:
            self.calls.append(call)
            rules = list(self.rules)
        answer = next((a for a in (rule(call) for rule in rules) if a is not None), None)
        if answer is None:
            status, headers, payload = self._forward(handler, body)
        else:
            status, payload = answer.status, answer.body.encode()
            headers = [("Content-Type", answer.content_type)]
        handler.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection",)}
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


@dataclass
class Key:
    id: str
    secret: str
    account: str
    user: str | None


@dataclass
class World:
    moto_url: str
    proxy: FaultProxy
    accounts: dict[str, str] = field(default_factory=dict)  # name -> account id
    keys: dict[str, Key] = field(default_factory=dict)  # label -> key
    foreign: dict[str, str] = field(default_factory=dict)  # key id of another company -> its account
    leaked_at: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=30))

    @property
    def url(self) -> str:
        return self.proxy.url

    def client(self, service: str, **credentials: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1", **credentials)

    def account_client(self, account: str, service: str) -> Any:
        answer = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seeding"
        )["Credentials"]
        return self.client(
            service,
            aws_access_key_id=answer["AccessKeyId"],
            aws_secret_access_key=answer["SecretAccessKey"],
            aws_session_token=answer["SessionToken"],
        )


def backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def set_key_dates(
    account: str, key_id: str, created: datetime, used: datetime | None, service: str = "s3"
) -> None:
    """moto's API cannot set when a key was created or last used: set them on its backend."""
    from moto.iam.models import AccessKeyLastUsed

    key = backend(account).access_keys[key_id]
    key.create_date = created
    key.last_used = AccessKeyLastUsed(used, service, "eu-west-1") if used else None


def fake_key_id(account: str) -> str:
    from moto.iam.utils import generate_access_key_id_from_account_id

    return generate_access_key_id_from_account_id(account, prefix="AKIA", total_length=20)


def add_root_key(
    account: str, key_id: str, created: datetime, used: datetime | None, active: bool = True
) -> None:
    """moto models no root user: give the account's root user this access key.

    Filled in: the account summary's AccountAccessKeysPresent, the credential report's `<root_account>` row
    (as IAM writes it), and GetAccessKeyLastUsed answering for the key with UserName "root" and its last
    use (moto raises NoSuchEntity for a key no IAM user holds; the API reference does not document the
    root case, so keysweep also handles that answer: see test_root_key_without_last_used_answer).
    """
    iam = backend(account)
    iam.account_summary._account_access_keys_present = 1
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    original_report = type(iam).get_credential_report
    original_last_used = type(iam).get_access_key_last_used
    row = ",".join(
        [
            "<root_account>",
            f"arn:aws:iam::{account}:root",
            created.strftime(fmt),
            "not_supported",
            "no_information",
            "not_supported",
            "not_supported",
            "true",
            "true" if active else "false",
            created.strftime(fmt),
            used.strftime(fmt) if used else "N/A",
            "us-east-1" if used else "N/A",
            "ec2" if used else "N/A",
            "false",
            "N/A",
            "N/A",
            "N/A",
            "N/A",
            "false",
            "N/A",
            "false",
            "N/A",
        ]
    )

    def report(self: Any) -> str:
        text: str = original_report(self)
        if self.account_id != account:
            return text
        header, _, rest = text.partition("\n")
        return f"{header}\n{row}\n{rest}"

    def last_used(self: Any, access_key_id: str) -> dict[str, Any]:
        if self.account_id == account and access_key_id == key_id:
            from moto.iam.models import AccessKeyLastUsed

            return {
                "user_name": "root",
                "last_used": AccessKeyLastUsed(used, "ec2", "us-east-1") if used else None,
            }
        result: dict[str, Any] = original_last_used(self, access_key_id)
        return result

    iam.get_credential_report = report.__get__(iam)
    iam.get_access_key_last_used = last_used.__get__(iam)


@contextmanager
def fake_aws_env(url: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*FAKE_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(FAKE_ENV)
    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def policy(document: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", **document})


ADMIN_INLINE = policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
READ_ONLY = policy({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]})
TRUST = policy(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ]
    }
)


def seed(world: World) -> None:
    """An Organization (management + prod, dev, locked, noperm) with users, groups, keys in every state."""
    now = datetime.now(UTC)
    org = world.client("organizations")
    org.create_organization(FeatureSet="ALL")
    for name in ("prod", "dev", "locked", "noperm"):
        created = org.create_account(AccountName=name, Email=f"{name}@keysweep.invalid")[
            "CreateAccountStatus"
        ]
        world.accounts[name] = created["AccountId"]
    world.accounts["management"] = MANAGEMENT
    for name, account in world.accounts.items():
        if name == "management":
            continue
        iam = world.account_client(account, "iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
        iam.attach_role_policy(RoleName=ROLE, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    prod = world.account_client(world.accounts["prod"], "iam")
    prod.create_group(GroupName="admins")
    prod.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    def user(client: Any, account: str, name: str, tags: dict[str, str], **extra: Any) -> None:
        client.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        if extra.get("console"):
            client.create_login_profile(UserName=name, Password="Xy9!long-enough-pass")
        if extra.get("admin_group"):
            client.add_user_to_group(GroupName="admins", UserName=name)
        if extra.get("inline_admin"):
            client.put_user_policy(UserName=name, PolicyName="everything", PolicyDocument=ADMIN_INLINE)
        if extra.get("mfa"):
            device = client.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")["VirtualMFADevice"]
            client.enable_mfa_device(
                UserName=name, SerialNumber=device["SerialNumber"], AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )  # fmt: skip

    def key(label: str, client: Any, account: str, name: str) -> Key:
        made = client.create_access_key(UserName=name)["AccessKey"]
        world.keys[label] = Key(made["AccessKeyId"], made["SecretAccessKey"], account, name)
        return world.keys[label]

    p = world.accounts["prod"]
    user(prod, p, "alice", {"owner": "alice@example.org", "team": "payments"}, console=True, admin_group=True)
    user(prod, p, "bob", {"Email": "bob@example.org"}, inline_admin=True, mfa=True, console=True)
    user(prod, p, "carol", {})
    used_after = key("used_after", prod, p, "alice")
    set_key_dates(p, used_after.id, now - timedelta(days=400), now - timedelta(days=2))
    not_since = key("not_used_since", prod, p, "bob")
    set_key_dates(p, not_since.id, now - timedelta(days=300), now - timedelta(days=90))
    never = key("never_used", prod, p, "carol")
    set_key_dates(p, never.id, now - timedelta(days=100), None)
    inactive = key("inactive", prod, p, "bob")
    prod.update_access_key(UserName="bob", AccessKeyId=inactive.id, Status="Inactive")
    set_key_dates(p, inactive.id, now - timedelta(days=200), now - timedelta(days=1))
    gone = key("deleted", prod, p, "carol")
    prod.delete_access_key(UserName="carol", AccessKeyId=gone.id)

    dev = world.account_client(world.accounts["dev"], "iam")
    d = world.accounts["dev"]
    user(dev, d, "dave", {"owner": "dave@example.org"})
    dave = key("dev_active", dev, d, "dave")
    set_key_dates(d, dave.id, now - timedelta(days=10), None)
    dave2 = key("throttled", dev, d, "dave")
    set_key_dates(d, dave2.id, now - timedelta(days=10), now - timedelta(days=3))

    for name in ("locked", "noperm"):
        client = world.account_client(world.accounts[name], "iam")
        user(client, world.accounts[name], f"{name}-user", {"owner": f"{name}@example.org"})
        key(name, client, world.accounts[name], f"{name}-user")

    mgmt = world.client("iam")
    user(mgmt, MANAGEMENT, "ops", {"contact": "ops@example.org"})
    ops = key("management", mgmt, MANAGEMENT, "ops")
    set_key_dates(MANAGEMENT, ops.id, now - timedelta(days=50), now - timedelta(days=40))


def standard_rules(world: World) -> None:
    """The proxy answers that stand in for what moto does not model (see the module docstring)."""
    locked, noperm = world.accounts["locked"], world.accounts["noperm"]
    noperm_keys: set[str] = set()

    def refuse_locked(call: Call) -> Answer | None:
        if call.action == "AssumeRole" and f"::{locked}:" in call.params.get("RoleArn", ""):
            return iam_error(
                "AccessDenied",
                f"User: arn:aws:iam::{MANAGEMENT}:user/scanner is not authorized to perform: "
                "sts:AssumeRole on "
                f"resource: arn:aws:iam::{locked}:role/{ROLE}",
                403,
            )
        return None

    def no_list_keys(call: Call) -> Answer | None:
        if call.action == "ListAccessKeys" and call.access_key in noperm_keys:
            return iam_error(
                "AccessDenied",
                f"User: arn:aws:sts::{noperm}:assumed-role/{ROLE}/keysweep is not authorized to perform: "
                "iam:ListAccessKeys",
                403,
            )
        return None

    def key_info(call: Call) -> Answer | None:
        # moto answers the caller's account for a key it does not hold (a deleted one, say); STS answers the
        # key's own account, which the world knows.
        if call.action == "GetAccessKeyInfo":
            wanted = call.params.get("AccessKeyId", "")
            owner = next((k.account for k in world.keys.values() if k.id == wanted), None)
            owner = owner or world.foreign.get(wanted)
            if owner:
                return access_key_info(owner)
        return None

    world.proxy.add(refuse_locked)
    world.proxy.add(no_list_keys)
    world.proxy.add(key_info)

    # Which temporary keys are the noperm role's: learn them from moto's own answers to AssumeRole.
    def learn(call: Call) -> Answer | None:
        if call.action == "ListAccessKeys" and not call.access_key.startswith("ASIA"):
            return None
        if call.access_key.startswith("ASIA") and call.access_key not in noperm_keys:
            from moto.sts.models import sts_backends

            for role in sts_backends[noperm]["aws"].assumed_roles:
                if role.access_key_id == call.access_key:
                    noperm_keys.add(call.access_key)
        return None

    world.proxy.rules.insert(0, learn)
