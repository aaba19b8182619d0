"""ASL's intrinsic functions (``States.Format(...)`` and the rest): ``parser`` turns a call into a small
AST, ``evaluate`` runs it against the current data, ``functions`` implements each one (JSONata's
``$hash``, ``$random`` and ``$range`` reuse them). The rest of the language imports these names from
here.
"""

from statemachine.intrinsics.evaluate import IntrinsicEffects, evaluate_intrinsic
from statemachine.intrinsics.functions import HASH_ALGORITHMS, MAX_RANGE_ITEMS, JavaRandom, json_type
from statemachine.intrinsics.parser import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic

__all__ = [
    "HASH_ALGORITHMS",
    "MAX_RANGE_ITEMS",
    "IntrinsicEffects",
    "IntrinsicSyntaxError",
    "JavaRandom",
    "evaluate_intrinsic",
    "is_intrinsic",
    "json_type",
    "parse_intrinsic",
]
