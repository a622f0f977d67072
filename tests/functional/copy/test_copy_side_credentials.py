"""One registry on both sides, an account for each: --src-creds reads, --dest-creds writes.

Registries such as Harbor and Quay give each project its own robot account; a
copy between two projects of one registry then reads with one account and
writes with another (skopeo's --src-creds/--dest-creds do the same).
"""

from __future__ import annotations

from imageferry.reference import Reference
from imageferry.runner import CopyRequest, run_copy, run_dry_run
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest
from stand_ins.token_server import TokenServer

USERS = {"admin": "admin-pw", "reader": "reader-pw", "writer": "writer-pw"}


def acl(user: str | None, repository: str, actions: str) -> set[str]:
    wanted = {a for a in actions.split(",") if a}
    if user == "admin":
        return wanted
    if user == "reader" and repository.startswith("src/"):
        return wanted & {"pull"}
    if user == "writer" and repository.startswith("dst/"):
        return wanted & {"pull", "push"}
    return set()


async def test_each_side_uses_its_own_account() -> None:
    with TokenServer(USERS, acl) as tokens, LocalRegistry(auth="token", token_server=tokens) as r:
        pushed = push_image(r.url, "src/app", "v1", auth=("admin", "admin-pw"))
        request = CopyRequest.build(
            pairs=[
                (Reference.parse(f"{r.host}/src/app:v1"), Reference.parse(f"{r.host}/dst/app:v1"))
            ],
            src_creds="reader:reader-pw",
            dest_creds="writer:writer-pw",
        )

        planned = await run_dry_run(request)
        results, summary = await run_copy(request)

        assert [p.status for p in planned] == ["would-copy"], planned[0].error
        assert summary["copied"] == 1, results[0].error
        assert inspect_digest(f"{r.host}/dst/app:v1", creds=("admin", "admin-pw")) == pushed.digest
        # Either account alone fails: the copy needed both.
        for creds in ("reader:reader-pw", "writer:writer-pw"):
            alone = CopyRequest.build(
                pairs=[
                    (Reference.parse(f"{r.host}/src/app:v1"), Reference.parse(f"{r.host}/dst/b:v1"))
                ],
                src_creds=creds,
                dest_creds=creds,
            )
            results, summary = await run_copy(alone)
            assert summary["failed"] == 1
