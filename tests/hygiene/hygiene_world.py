"""A seeded AWS Organization on loopback for the hygiene tests: moto in server mode behind the recording,
fault-injecting proxy of the IAM tests (tests/iam/moto_world.py), with ages and last uses set through
moto's backend in this process.

Accounts: the management account (moto's default, the caller), `prod` (every defect), `locked` (the proxy
refuses sts:AssumeRole into it, as a trust policy would: moto does not evaluate trust policies).

Gaps in moto that the fixture fills, on moto's backend (see `root_row`):
- moto's credential report has no `<root_account>` row: one is added per account (root keys, root
  password use, root MFA), formatted as IAM writes it, with its sentinels (`N/A`, `no_information`,
  `not_supported`);
- moto's account summary always says the root user has no keys and no MFA: AccountAccessKeysPresent and
  AccountMFAEnabled are set on its backend to match the row;
- moto answers NoSuchEntity for GetAccessKeyLastUsed on a root key: it answers UserName "root" here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.iam.moto_world import (
    ADMIN_INLINE,
    MANAGEMENT,
    ROLE,
    TRUST,
    Call,
    FaultProxy,
    backend,
    fake_aws_env,
    iam_error,
    set_key_dates,
)

__all__ = ["MANAGEMENT", "HygieneWorld", "fake_aws_env", "start", "stop"]

FMT = "%Y-%m-%dT%H:%M:%S+00:00"


@dataclass
class HygieneWorld:
    moto_url: str
    proxy: FaultProxy
    now: datetime
    server: Any = None
    accounts: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # label -> key id
    root_keys: dict[str, str] = field(default_factory=dict)  # account -> root key id

    @property
    def url(self) -> str:
        return self.proxy.url

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1", **kwargs)

    def account_client(self, account: str, service: str) -> Any:
        if account == MANAGEMENT:
            return self.client(service)
        c = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seeding"
        )["Credentials"]
        return self.client(
            service,
            aws_access_key_id=c["AccessKeyId"],
            aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
        )


def root_row(
    account: str,
    *,
    key_id: str | None = None,
    key_created: datetime | None = None,
    key_used: datetime | None = None,
    password_used: datetime | None = None,
    mfa: bool = False,
) -> None:
    """Fill moto's root gaps for `account` (see the module docstring)."""
    iam = backend(account)
    iam.account_summary._account_access_keys_present = 1 if key_id else 0
    iam.account_summary._account_mfa_enabled = 1 if mfa else 0

    def d(moment: datetime | None, none: str = "N/A") -> str:
        return moment.strftime(FMT) if moment else none

    created = key_created or datetime(2019, 1, 1, tzinfo=UTC)
    row = ",".join(
        [
            "<root_account>",
            f"arn:aws:iam::{account}:root",
            created.strftime(FMT),
            "not_supported",
            d(password_used, "no_information"),
            "not_supported",
            "not_supported",
            "true" if mfa else "false",
            "true" if key_id else "false",
            d(key_created),
            d(key_used),
            "us-east-1" if key_used else "N/A",
            "ec2" if key_used else "N/A",
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
    original_report = type(iam).get_credential_report
    original_last_used = type(iam).get_access_key_last_used

    def report(self: Any) -> str:
        text: str = original_report(self)
        header, _, rest = text.partition("\n")
        return f"{header}\n{row}\n{rest}"

    def last_used(self: Any, access_key_id: str) -> dict[str, Any]:
        if key_id and key_used and access_key_id == key_id:
            from moto.iam.models import AccessKeyLastUsed

            return {"user_name": "root", "last_used": AccessKeyLastUsed(key_used, "ec2", "us-east-1")}
        answer: dict[str, Any] = original_last_used(self, access_key_id)
        return answer

    iam.get_credential_report = report.__get__(iam)
    iam.get_access_key_last_used = last_used.__get__(iam)


def seed(world: HygieneWorld) -> None:
    now = world.now
    org = world.client("organizations")
    org.create_organization(FeatureSet="ALL")
    for name in ("prod", "locked"):
        made = org.create_account(AccountName=name, Email=f"{name}@keysweep.invalid")["CreateAccountStatus"]
        world.accounts[name] = made["AccountId"]
        world.account_client(made["AccountId"], "iam").create_role(
            RoleName=ROLE, AssumeRolePolicyDocument=TRUST
        )
    world.accounts["management"] = MANAGEMENT
    p = world.accounts["prod"]
    iam = world.account_client(p, "iam")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

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
                UserName=name,
                SerialNumber=device["SerialNumber"],
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )
        u = backend(account).users[name]
        if "created_days" in extra:
            u.create_date = now - timedelta(days=extra["created_days"])
        if "password_used_days" in extra:
            u.password_last_used = now - timedelta(days=extra["password_used_days"])

    def key(
        label: str, client: Any, account: str, name: str, created: int, used: int | None, service: str = "s3"
    ) -> str:
        made = client.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        set_key_dates(
            account,
            made,
            now - timedelta(days=created),
            now - timedelta(days=used) if used is not None else None,
            service,
        )
        world.keys[label] = made
        return str(made)

    user(
        iam,
        p,
        "alice",
        {"owner": "alice@example.org"},
        console=True,
        admin_group=True,
        mfa=True,
        created_days=500,
        password_used_days=1,
    )
    key("old_admin", iam, p, "alice", 400, 2, "ec2")
    user(iam, p, "bob", {"Email": "bob@example.org"}, created_days=300)
    key("unused", iam, p, "bob", 200, 100, "lambda")
    user(iam, p, "carol", {}, created_days=60)
    key("never_used", iam, p, "carol", 30, None)
    user(iam, p, "dave", {"owner": "dave@example.org"}, created_days=40)
    key("doubled_1", iam, p, "dave", 10, 1)
    key("doubled_2", iam, p, "dave", 5, 1)
    user(iam, p, "erin", {"owner": "erin@example.org"}, console=True, created_days=100)
    user(iam, p, "frank", {"owner": "frank@example.org"}, created_days=30)
    key("leaked", iam, p, "frank", 20, 1, "sts")
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False)
    world.root_keys[p] = "AKIA" + "ROOTKEYPROD0000001"[:16]
    root_row(
        p,
        key_id=world.root_keys[p],
        key_created=now - timedelta(days=800),
        key_used=now - timedelta(days=3),
        password_used=now - timedelta(days=5),
        mfa=False,
    )

    mgmt = world.client("iam")
    user(mgmt, MANAGEMENT, "ops", {"contact": "ops@example.org"}, created_days=20)
    key("fresh", mgmt, MANAGEMENT, "ops", 10, 1)
    mgmt.update_account_password_policy(
        MinimumPasswordLength=16,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        MaxPasswordAge=60,
        PasswordReusePrevention=24,
    )
    root_row(MANAGEMENT, password_used=now - timedelta(days=200), mfa=True)


def refuse_locked(world: HygieneWorld) -> None:
    locked = world.accounts["locked"]

    def rule(call: Call) -> Any:
        if call.action == "AssumeRole" and f"::{locked}:" in call.params.get("RoleArn", ""):
            return iam_error(
                "AccessDenied",
                f"User: arn:aws:iam::{MANAGEMENT}:user/scanner is not authorized to perform: sts:AssumeRole "
                f"on resource: arn:aws:iam::{locked}:role/{ROLE}",
                403,
            )
        return None

    world.proxy.add(rule)


def deny(action: str) -> Any:
    """A proxy rule answering AccessDenied to `action` (as IAM does without the permission)."""

    def rule(call: Call) -> Any:
        if call.action == action:
            return iam_error("AccessDenied", f"not authorized to perform: iam:{action}", 403)
        return None

    return rule


def start() -> HygieneWorld:
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    requests.post(f"{moto_url}/moto-api/reset", timeout=30)
    world = HygieneWorld(moto_url, FaultProxy(moto_url), datetime.now(UTC), server)
    return world


def stop(world: HygieneWorld) -> None:
    """Stop the servers and reset moto's backends here, without a timeout: a reset re-creates every
    account's IAM backend (loading AWS's managed policies), and the next world's reset (the IAM tests')
    must not pay for ours under its HTTP timeout."""
    from moto.moto_api._internal.models import moto_api_backend

    world.proxy.stop()
    world.server.stop()
    moto_api_backend.reset()


def running() -> Iterator[HygieneWorld]:
    world = start()
    try:
        with fake_aws_env(world.url):
            seed(world)
            refuse_locked(world)
            world.baseline = list(world.proxy.rules)  # type: ignore[attr-defined]
            yield world
    finally:
        stop(world)
