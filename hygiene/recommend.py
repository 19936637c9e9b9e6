"""A concrete recommendation for each failing key, chosen from how the key is used: its last-used service,
where it leaked (a CI workflow file, an application config file), the user's tags. Each comes with the
rotation steps, and every command is filled in with the real account, user and key id.

    EC2                 -> an instance profile
    Lambda / ECS / EKS  -> the function's execution role, the task role, IRSA / Pod Identity
    CI (workflow files) -> an OIDC federation role (GitHub Actions, GitLab CI)
    on-premises         -> IAM Roles Anywhere (a tag `usage` / `environment` saying on-prem, or a datacenter)
    application config  -> the secret in SSM Parameter Store (SecureString) / Secrets Manager
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hygiene.model import AccessKey, CheckResult, Inventory, Status, User

KEY_CHECKS = frozenset(
    {
        "leaked_key_active",
        "key_rotation",
        "key_unused",
        "key_never_used",
        "multiple_active_keys",
        "admin_keys",
    }
)
CI_PATH = re.compile(
    r"(^|/)(\.github/workflows/|\.gitlab-ci\.ya?ml$|Jenkinsfile|\.circleci/|azure-pipelines\.ya?ml$|"
    r"bitbucket-pipelines\.ya?ml$|\.travis\.ya?ml$|buildspec\.ya?ml$|\.drone\.ya?ml$)"
)
CONFIG_PATH = re.compile(
    r"(\.env(\.|$)|\.properties$|\.ya?ml$|\.json$|\.ini$|\.cfg$|\.conf$|\.toml$|settings\.py$|config)",
    re.I,
)
ONPREM = re.compile(r"on-?prem|datacent(er|re)|bare-?metal", re.I)


@dataclass(frozen=True, slots=True)
class Recommendation:
    key_id: str
    account_id: str
    user: str
    kind: str  # instance-profile | execution-role | oidc | roles-anywhere | parameter-store | rotate
    title: str
    why: str
    steps: tuple[str, ...]
    commands: tuple[str, ...]
    checks: tuple[str, ...]  # the failing checks it answers

    def record(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "account_id": self.account_id,
            "user": self.user,
            "kind": self.kind,
            "title": self.title,
            "why": self.why,
            "steps": list(self.steps),
            "commands": list(self.commands),
            "checks": list(self.checks),
        }


def rotation(account: str, user: str, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    steps = (
        "Create a new access key for the user.",
        "Update every consumer of the old key to the new one.",
        "Deactivate the old key (reversible).",
        "Watch the old key's last use for a few days: it must not move.",
        "Delete the old key.",
    )
    p = ""
    commands = (
        f"aws iam create-access-key --user-name {user} {p}",
        f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive {p}",
        f"aws iam get-access-key-last-used --access-key-id {key} {p}",
        f"aws iam delete-access-key --user-name {user} --access-key-id {key} {p}",
    )
    return steps, commands


def _usage(key: AccessKey, user: User | None, paths: tuple[str, ...]) -> str:
    service = (key.last_used_service or "").lower()
    tags = " ".join(f"{k}={v}" for k, v in (user.tags if user else {}).items())
    if any(CI_PATH.search(p) for p in paths) or re.search(r"\b(ci|github|gitlab|jenkins)\b", tags, re.I):
        return "oidc"
    if ONPREM.search(tags):
        return "roles-anywhere"
    if service in ("lambda",):
        return "execution-role"
    if service in ("ecs", "ecs-tasks", "eks", "ecr"):
        return "execution-role"
    if service in ("ec2", "ssm", "autoscaling"):
        return "instance-profile"
    if any(CONFIG_PATH.search(p) for p in paths):
        return "parameter-store"
    return "rotate"


def recommend_key(
    account_id: str, key: AccessKey, user: User | None, paths: tuple[str, ...], checks: tuple[str, ...]
) -> Recommendation:
    name, k, a = key.user, key.id, account_id
    p = ""
    steps, commands = rotation(a, name, k)
    kind = _usage(key, user, paths)
    extra: tuple[str, ...]
    role = f"{name}-role"
    trust_arn = f"arn:aws:iam::{a}:role/{role}"
    if kind == "oidc":
        title = "Replace the key with an OIDC federation role for CI"
        why = (
            f"The key was found in a CI file ({', '.join(p_ for p_ in paths if CI_PATH.search(p_)) or 'CI'}) "
            "or its user is tagged for CI: the pipeline can get short-lived credentials instead."
        )
        extra = (
            f"aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com "
            f"--client-id-list sts.amazonaws.com {p}",
            f"aws iam create-role --role-name {role} {p} --assume-role-policy-document "
            f'\'{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":'
            f'"arn:aws:iam::{a}:oidc-provider/token.actions.githubusercontent.com"}},"Action":'
            f'"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{'
            f'"token.actions.githubusercontent.com:sub":"repo:OWNER/REPO:*"}}}}}}]}}\'',
            f"# copy {name}'s policies to the role: "
            f"aws iam list-attached-user-policies --user-name {name} {p}",
            f"# in the workflow: aws-actions/configure-aws-credentials with role-to-assume: {trust_arn}",
        )
    elif kind == "instance-profile":
        title = "Replace the key with an EC2 instance profile"
        why = f"The key was last used with {key.last_used_service}: code on EC2 can use the instance's role."
        extra = (
            f"aws iam create-role --role-name {role} {p} --assume-role-policy-document "
            '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
            '"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}\'',
            f"aws iam create-instance-profile --instance-profile-name {role} {p}",
            f"aws iam add-role-to-instance-profile --instance-profile-name {role} --role-name {role} {p}",
            f"aws ec2 associate-iam-instance-profile --instance-id INSTANCE_ID "
            f"--iam-instance-profile Name={role} {p}",
        )
    elif kind == "execution-role":
        service = (key.last_used_service or "").lower()
        principal = {"lambda": "lambda.amazonaws.com"}.get(service, "ecs-tasks.amazonaws.com")
        title = "Replace the key with the workload's execution / task role (IRSA on EKS)"
        why = (
            f"The key was last used with {key.last_used_service}: Lambda functions, ECS tasks and EKS pods "
            "get credentials from their role."
        )
        extra = (
            f"aws iam create-role --role-name {role} {p} --assume-role-policy-document "
            f'\'{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":'
            f'"{principal}"}},"Action":"sts:AssumeRole"}}]}}\'',
            f"aws lambda update-function-configuration --function-name FUNCTION --role {trust_arn} {p}",
            f"# ECS: taskRoleArn={trust_arn} in the task definition; EKS: eksctl create iamserviceaccount "
            f"--attach-role-arn {trust_arn} ...",
        )
    elif kind == "roles-anywhere":
        title = "Replace the key with IAM Roles Anywhere"
        why = (
            "The user is tagged as used on premises: servers with an X.509 certificate can get "
            "role credentials."
        )
        extra = (
            f"aws rolesanywhere create-trust-anchor --name {name}-anchor --source "
            f"sourceType=CERTIFICATE_BUNDLE,sourceData={{x509CertificateData=file://ca.pem}} {p}",
            f"aws iam create-role --role-name {role} {p} --assume-role-policy-document "
            '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
            '"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession",'
            '"sts:SetSourceIdentity"]}]}\'',
            f"aws rolesanywhere create-profile --name {name}-profile --role-arns {trust_arn} {p}",
        )
    elif kind == "parameter-store":
        title = "Keep the secret in SSM Parameter Store (SecureString) or Secrets Manager, not in files"
        why = (
            f"The key was found in application configuration ({', '.join(paths[:3])}): the code should read "
            "the secret at runtime."
        )
        extra = (
            f"aws ssm put-parameter --name /{name}/aws-secret-access-key --type SecureString "
            f"--value NEW_SECRET {p}",
            f"aws secretsmanager create-secret --name {name}/aws-access-key --secret-string "
            f'\'{{"AccessKeyId":"NEW_KEY_ID","SecretAccessKey":"NEW_SECRET"}}\' {p}',
            f"# in code: ssm.get_parameter(Name='/{name}/aws-secret-access-key', WithDecryption=True)",
        )
    else:
        title = "Rotate the key (and consider a role instead)"
        why = "How the key is used is not known: rotate it, and prefer a role with temporary credentials."
        extra = ()
    if "leaked_key_active" in checks:
        steps = ("Deactivate the leaked key now: it is public.", *steps)
        commands = (
            f"aws iam update-access-key --user-name {name} --access-key-id {k} --status Inactive {p}",
            *commands,
        )
    header = f"# in account {a}, with credentials for it (e.g. AWS_PROFILE=...)"
    filled = tuple(
        " ".join(c.replace(" --profile ", " ").split()) if not c.startswith("#") else c
        for c in (*extra, *commands)
    )
    return Recommendation(k, a, name, kind, title, why, steps, (header, *filled), checks)


def recommend(inventory: Inventory, results: list[CheckResult], now: datetime) -> list[Recommendation]:
    """One recommendation per key with at least one FAIL among the key checks."""
    failing: dict[tuple[str, str], list[str]] = {}
    for r in results:
        if r.status is Status.FAIL and r.check_id in KEY_CHECKS and r.key_id:
            failing.setdefault((r.account_id, r.key_id), []).append(r.check_id)
    out: list[Recommendation] = []
    for account in inventory.accounts:
        for user in account.users:
            for key in user.keys or ():
                checks = failing.get((account.id, key.id))
                if checks:
                    leak = inventory.leaks.get(key.id)
                    out.append(
                        recommend_key(account.id, key, user, leak.paths if leak else (), tuple(checks))
                    )
    return out
