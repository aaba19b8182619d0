"""JSONata, ASL's second query language: ``{% %}`` expressions and the templates holding them.

``expressions`` compiles and evaluates them for the interpreter and the validator, on the ``jsonata``
engine (``engine``: a step budget, Step Functions' rules for results), with a fast path for simple
paths and comparisons (``fast``) and Step Functions' own functions (``functions``). The rest of the
language imports these names from here.
"""

from statemachine.jsonata.expressions import (
    Bindings,
    CompiledExpression,
    JsonataSyntaxError,
    Template,
    check_result_type,
    compile_expression,
    compile_template,
    evaluate,
    is_expression,
    render,
)

__all__ = [
    "Bindings",
    "CompiledExpression",
    "JsonataSyntaxError",
    "Template",
    "check_result_type",
    "compile_expression",
    "compile_template",
    "evaluate",
    "is_expression",
    "render",
]
