"""The template ``ferry task deploy`` sends is deploy/aws's, and fits in a request."""

from __future__ import annotations

import subprocess
import sys

from fixtures.cfn_template import DEPLOY_DIR, TEMPLATE_PATH
from imageferry.deploy_aws.template import TEMPLATE_BODY_LIMIT, template_body


def test_the_packaged_template_is_deploy_aws_s() -> None:
    assert template_body() == TEMPLATE_PATH.read_text(encoding="utf-8")
    check = subprocess.run(
        [sys.executable, str(DEPLOY_DIR / "render.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_template_fits_cloudformations_inline_limit() -> None:
    # Past the limit, ferry task deploy would have to stage it in S3 (TemplateURL).
    assert len(template_body().encode("utf-8")) < TEMPLATE_BODY_LIMIT
