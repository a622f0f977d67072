"""The per-task template as the package ships it.

CloudFormation takes a template inline (``TemplateBody``) up to 51,200 bytes;
ours is well under that (a test keeps it so), so ``ferry task deploy`` needs
no S3 bucket to stage it in.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["TEMPLATE_BODY_LIMIT", "TEMPLATE_NAME", "template_body"]

TEMPLATE_NAME = "ecr-task.template.yaml"
#: CloudFormation's limit on a template passed in the request itself.
TEMPLATE_BODY_LIMIT = 51_200


def template_body() -> str:
    """The template's text, as ``deploy/aws/ecr-task.template.yaml`` has it."""
    return files(__package__).joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")
