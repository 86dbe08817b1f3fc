"""``flask.typing`` for the sync face: the annotations of views, hooks and handlers.

Each callable may be a plain function or a coroutine function.
"""

from __future__ import annotations

import typing as t

from ..app import ShellContextProcessorCallable as ShellContextProcessorCallable
from ..templating import TemplateContextProcessorCallable as TemplateContextProcessorCallable
from ..templating import TemplateFilterCallable as TemplateFilterCallable
from ..templating import TemplateGlobalCallable as TemplateGlobalCallable
from ..templating import TemplateTestCallable as TemplateTestCallable
from ..typing import AfterRequestCallable as AfterRequestCallable
from ..typing import AppOrBlueprintKey as AppOrBlueprintKey
from ..typing import BeforeRequestCallable as BeforeRequestCallable
from ..typing import ErrorHandlerCallable as ErrorHandlerCallable
from ..typing import HeadersValue as HeadersValue
from ..typing import HeaderValue as HeaderValue
from ..typing import ResponseReturnValue as ResponseReturnValue
from ..typing import ResponseValue as ResponseValue
from ..typing import RouteCallable as RouteCallable
from ..typing import TeardownCallable as TeardownCallable
from ..typing import URLDefaultCallable as URLDefaultCallable
from ..typing import URLValuePreprocessorCallable as URLValuePreprocessorCallable
from .wrappers import Response

__all__ = [
    "AfterRequestCallable",
    "AppOrBlueprintKey",
    "BeforeFirstRequestCallable",
    "BeforeRequestCallable",
    "ErrorHandlerCallable",
    "HeaderValue",
    "HeadersValue",
    "ResponseClass",
    "ResponseReturnValue",
    "ResponseValue",
    "RouteCallable",
    "ShellContextProcessorCallable",
    "TeardownCallable",
    "TemplateContextProcessorCallable",
    "TemplateFilterCallable",
    "TemplateGlobalCallable",
    "TemplateTestCallable",
    "URLDefaultCallable",
    "URLValuePreprocessorCallable",
]

#: A response class (the type of ``app.response_class``).
ResponseClass = t.TypeVar("ResponseClass", bound=Response)
#: Kept for Flask compatibility (``before_first_request`` no longer exists in Flask 3).
BeforeFirstRequestCallable = BeforeRequestCallable
