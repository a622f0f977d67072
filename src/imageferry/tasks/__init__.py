"""Transfer tasks: parameters (the reference's table), input forms, image selection."""

from imageferry.tasks.forms import (
    ParameterFormError,
    build_spec,
    load_parameters_file,
    parse_aws_cli_parameters,
    parse_param_pairs,
)
from imageferry.tasks.params import (
    PARAMETER_NAMES,
    PARAMETER_TABLE,
    ParameterInfo,
    Problem,
    TaskSpec,
    TaskSpecError,
)
from imageferry.tasks.selection import (
    ImagePair,
    Selection,
    SelectionError,
    SourceLister,
    ecr_registry_host,
    select_images,
)

__all__ = [
    "PARAMETER_NAMES",
    "PARAMETER_TABLE",
    "ImagePair",
    "ParameterFormError",
    "ParameterInfo",
    "Problem",
    "Selection",
    "SelectionError",
    "SourceLister",
    "TaskSpec",
    "TaskSpecError",
    "build_spec",
    "ecr_registry_host",
    "load_parameters_file",
    "parse_aws_cli_parameters",
    "parse_param_pairs",
    "select_images",
]
