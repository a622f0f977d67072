"""A task deployed to AWS: its CloudFormation stack, and its runs read back.

``deploy/aws/ecr-task.template.yaml`` is the stack (a copy ships in this
package, kept equal by ``deploy/aws/render.py`` and a test);
:mod:`~imageferry.deploy_aws.parameters` maps a task's parameters onto the
template's, :mod:`~imageferry.deploy_aws.stack` creates or updates the stack,
and :mod:`~imageferry.deploy_aws.runs` reads a deployed task's runs from its
state machine and result table.
"""

__all__: list[str] = []
