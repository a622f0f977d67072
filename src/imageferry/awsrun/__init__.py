"""ferry inside the AWS deployment: ``ferry aws plan``, ``copy-batch`` and ``summarize``.

The state machine of ``deploy/aws`` runs each command as a Fargate task with the
stack's environment (see ``deploy/aws/README.md``, "The container's contract").
The commands use ``ferry task``'s parameter validation, selection rules and
copy engine; only where results go differs: batch files in S3, one DynamoDB row
per image, embedded-metric-format lines on stdout and one SNS message per
failed run.
"""

__all__: list[str] = []
