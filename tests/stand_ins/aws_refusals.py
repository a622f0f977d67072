"""An AWS endpoint on loopback that refuses every call with one chosen AWS error.

For the failures moto does not produce on demand: access denied and
throttling. It speaks both wire protocols of the services imageferry calls:
the JSON protocol (ECR, Secrets Manager: ``X-Amz-Target`` names the action,
errors are ``{"__type": ..., "message": ...}``) and the query protocol (STS,
SNS: ``Action=`` in the form body, errors are an ``<ErrorResponse>`` XML
document). Point a service at it with ``AWS_ENDPOINT_URL_<SERVICE>``.

``succeed_after`` answers STS GetCallerIdentity properly once that many calls
were refused, to show that botocore's retries get through a passing throttle.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

__all__ = ["AwsRefusals"]

ACCOUNT = "123456789012"

_IDENTITY = f"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::{ACCOUNT}:user/test</Arn>
    <UserId>AIDATEST</UserId>
    <Account>{ACCOUNT}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>ok</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"""


class AwsRefusals:
    """Answers every call with ``code`` (HTTP ``status``); counts calls per action."""

    def __init__(self, code: str, status: int = 400, *, succeed_after: int | None = None) -> None:
        self.code = code
        self.status = status
        self.succeed_after = succeed_after
        self.calls: Counter[str] = Counter()
        refusals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                if target:
                    action = target.rpartition(".")[2]
                else:
                    action = parse_qs(body.decode()).get("Action", [""])[0]
                refusals.calls[action] += 1
                if (
                    refusals.succeed_after is not None
                    and action == "GetCallerIdentity"
                    and refusals.calls[action] > refusals.succeed_after
                ):
                    self._answer(200, "text/xml", _IDENTITY.encode())
                elif target:
                    error = {"__type": refusals.code, "message": refusals.message(action)}
                    self._answer(
                        refusals.status, "application/x-amz-json-1.1", json.dumps(error).encode()
                    )
                else:
                    self._answer(refusals.status, "text/xml", refusals.xml(action).encode())

            def _answer(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def message(self, action: str) -> str:
        if "Throttl" in self.code or "TooMany" in self.code:
            return "Rate exceeded"
        return f"User: arn:aws:iam::{ACCOUNT}:user/test is not authorized to perform: {action}"

    def xml(self, action: str) -> str:
        return (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{self.code}</Code><Message>{self.message(action)}</Message>"
            "</Error><RequestId>refused</RequestId></ErrorResponse>"
        )

    def __enter__(self) -> AwsRefusals:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
