"""Tools: Python functions a model can call.

``@tool`` turns a type-hinted function into a :class:`Tool`; ``Tool(...)`` wraps any callable
with a hand-written JSON schema. A tool knows the OpenAI ``tools`` entry to send
(:attr:`Tool.schema`), checks the arguments a model produced (:meth:`Tool.validate`) and calls
the function with them (:meth:`Tool.invoke`).

``jsonschema`` is imported only when arguments are first validated (or a raw ``Tool`` is
built), because importing it costs about 100 ms and ``import aclarifai`` must stay fast.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, overload
from typing import TypeVar as _TypeVar

from aclarifai._schema import BadArgument, FunctionSchema, build_function_schema, find_context_params
from aclarifai.errors import ToolArgumentsError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

    # Defaults (PEP 696) let a bare ``Tool`` mean ``Tool[..., Any]`` in annotations. Only type
    # checkers read typing_extensions here; at run time typing's own ParamSpec/TypeVar serve.
    from typing_extensions import ParamSpec, TypeVar

    P = ParamSpec("P", default=...)
    R = TypeVar("R", default=Any)
else:
    from typing import ParamSpec, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")
T = _TypeVar("T")

__all__ = ["RunContext", "Tool", "tool"]

# OpenAI's rule for function names.
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class RunContext:
    """What a running tool may want to know; injected into a parameter annotated with it.

    Such a parameter (also ``RunContext | None``) is left out of the schema the model sees.
    """

    tool_call_id: str | None = None
    """The id of the tool call being answered, when the call came from a model."""
    agent: Any = None
    """The Agent running the tool, or ``None``."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The conversation so far."""
    tool_name: str = ""
    """The name of the tool being run."""


class Tool(Generic[P, R]):
    """A function the model may call, with the JSON schema of its arguments.

    Build one with :func:`tool` from a type-hinted function, or directly from a JSON schema::

        Tool(name="lookup", description="Look a word up.", parameters={...}, function=lookup)

    A raw ``Tool`` checks ``parameters`` against the JSON Schema metaschema right away and
    passes the arguments to ``function`` unchanged (``RunContext`` is still injected).
    Calling the tool object calls the function directly, and type checkers see the function's
    own signature there: ``Tool[P, R]`` is generic over its parameters and return type.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[P, R]
    timeout: float | None
    strict: bool
    __name__: str  # the function's for @tool, else the tool name
    __wrapped__: Callable[P, R]  # set for tools made by @tool, like functools.wraps does
    _validator: Validator | None  # compiled on first use and kept

    def __init__(
        self,
        name: str,
        description: str,
        parameters: dict[str, Any],
        function: Callable[P, R],
        *,
        timeout: float | None = None,
        strict: bool = False,
    ) -> None:
        self._setup(name, description, parameters, function, timeout, strict, None)
        # A hand-written schema is checked now, at registration, rather than at the first call.
        self._validator = _compile_checked(name, parameters)

    def _setup(
        self,
        name: str,
        description: str,
        parameters: dict[str, Any],
        function: Callable[P, R],
        timeout: float | None,
        strict: bool,
        spec: FunctionSchema | None,
    ) -> None:
        _check_name(name)
        if not isinstance(description, str):
            raise TypeError(f"tool {name!r}: description must be a str, not {description!r}")
        if not callable(function):
            raise TypeError(f"tool {name!r}: function must be callable, not {function!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"tool {name!r}: timeout must be a positive number of seconds")
        self.name = self.__name__ = name
        self.description = description
        self.parameters = parameters
        self.function = function
        self.timeout = timeout
        self.strict = bool(strict)
        self._spec = spec
        self._context_params = spec.context_params if spec else find_context_params(function, RunContext)
        self._is_async = _is_async_callable(function)
        self._validator = None

    @staticmethod
    def _from_function(
        function: Callable[P, R],
        *,
        name: str | None,
        description: str | None,
        timeout: float | None,
        strict: bool,
    ) -> Tool[P, R]:
        if isinstance(function, Tool):
            raise TypeError(f"{function!r} is already a Tool")
        tool_name = name if name is not None else getattr(function, "__name__", "")
        _check_name(tool_name)
        spec = build_function_schema(function, strict=strict, context_type=RunContext)
        text = description if description is not None else spec.description
        # The generated schema is valid by construction: skip the metaschema check, which
        # would import jsonschema while the user's module is being imported.
        self: Tool[P, R] = Tool.__new__(Tool)
        self._setup(tool_name, text, spec.parameters, function, timeout, strict, spec)
        # Look like the function to introspection (help(), inspect.signature, docs tools).
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            if hasattr(function, attr):
                setattr(self, attr, getattr(function, attr))
        self.__wrapped__ = function
        return self

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function (it is awaited, not run in a thread)."""
        return self._is_async

    @property
    def schema(self) -> dict[str, Any]:
        """The entry of the request's ``tools`` list describing this tool."""
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def validate(self, arguments: Mapping[str, Any]) -> None:
        """Check ``arguments`` against :attr:`parameters`.

        Raises :class:`~aclarifai.errors.ToolArgumentsError` listing every problem as a
        ``(json_path, message)`` pair, e.g. ``("$.units", "'kelvin' is not one of [...]")``.
        """
        if self._validator is None:
            self._validator = _compile(self.parameters)
        instance = dict(arguments) if isinstance(arguments, Mapping) else arguments
        try:
            errors = _collect_errors(self._validator, instance)
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            # jsonschema itself can fail on some values: multipleOf 0.5 of 10**400 overflows.
            errors = [("$", f"the arguments could not be checked: {type(exc).__name__}: {exc}")]
        if errors:
            raise ToolArgumentsError(self.name, errors)

    @overload
    async def invoke(
        self: Tool[..., Coroutine[Any, Any, T]],
        arguments: Mapping[str, Any],
        context: RunContext | None = None,
    ) -> T: ...

    @overload
    async def invoke(
        self: Tool[..., T], arguments: Mapping[str, Any], context: RunContext | None = None
    ) -> T: ...

    async def invoke(self, arguments: Mapping[str, Any], context: RunContext | None = None) -> Any:
        """Validate ``arguments``, then call the function with them as keyword arguments.

        Sync functions run in a worker thread, async ones are awaited. Arguments are converted
        to the declared types (Enum members, dataclass instances, tuples, sets). Parameters
        annotated ``RunContext`` receive ``context`` (a blank one when it is ``None``).
        Raises :class:`~aclarifai.errors.ToolArgumentsError` for invalid arguments,
        ``TimeoutError`` when :attr:`timeout` expires, and whatever the function raises.
        """
        self.validate(arguments)
        if self._spec is not None:
            try:
                kwargs = self._spec.convert_arguments(arguments)
            except BadArgument as exc:  # valid JSON that the declared type cannot hold
                raise ToolArgumentsError(self.name, [(_json_path(exc.path), exc.message)]) from exc
        else:
            kwargs = dict(arguments)
        if self._context_params:
            ctx = context if context is not None else RunContext(tool_name=self.name)
            kwargs.update(dict.fromkeys(self._context_params, ctx))
        if self.timeout is None:
            return await self._call(kwargs)
        return await _run_with_timeout(self._call(kwargs), self.timeout, self.name)

    async def _call(self, kwargs: dict[str, Any]) -> Any:
        function: Callable[..., Any] = self.function  # called with the model's keywords
        if self._is_async:
            return await function(**kwargs)
        result = await asyncio.to_thread(function, **kwargs)
        if inspect.isawaitable(result):  # a sync wrapper around a coroutine function
            result = await result
        return result

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the underlying function directly, exactly as if it were not a tool."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, function={self.function!r})"


@overload
def tool(
    function: Callable[P, R],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> Tool[P, R]: ...


@overload
def tool(
    function: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> Tool[..., Any] | Callable[[Callable[..., Any]], Tool[..., Any]]:
    """Make a :class:`Tool` of a type-hinted function; use as ``@tool`` or ``@tool(...)``.

    The schema comes from the parameters' type hints, the description from the docstring's
    first paragraph and the parameters' descriptions from its ``Args:`` / ``Parameters`` /
    ``:param:`` entries. Anything that cannot be described raises ``TypeError`` right here.

    Args:
        function: The function (sync or async) to wrap.
        name: The name the model sees; defaults to the function's ``__name__``.
        description: Overrides the docstring summary.
        timeout: Seconds before :meth:`Tool.invoke` gives up with ``TimeoutError``.
        strict: Produce an OpenAI strict-mode schema and ask the model to follow it exactly.
    """

    def decorate(fn: Callable[..., Any]) -> Tool[..., Any]:
        return Tool._from_function(fn, name=name, description=description, timeout=timeout, strict=strict)

    return decorate if function is None else decorate(function)


# -- helpers ------------------------------------------------------------------------------------


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"tool name must be a str, not {name!r}")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
            " (pass name=... to choose another)"
        )


def _is_async_callable(function: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    # An object whose class defines ``async def __call__``.
    return inspect.iscoroutinefunction(type(function).__call__)


def _compile(parameters: dict[str, Any]) -> Validator:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    validator_class = validator_for(parameters, default=Draft202012Validator)
    return validator_class(parameters)


def _compile_checked(name: str, parameters: object) -> Validator:
    """Check a hand-written parameters schema, then compile it."""
    if not isinstance(parameters, dict):
        raise TypeError(f"tool {name!r}: parameters must be a dict (a JSON schema)")
    if parameters.get("type") != "object":
        raise ValueError(f'tool {name!r}: parameters must be an object schema ("type": "object")')
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(parameters, default=Draft202012Validator).check_schema(parameters)
    except SchemaError as exc:
        where = _json_path(exc.absolute_path)
        raise ValueError(
            f"tool {name!r}: parameters is not a valid JSON schema: {exc.message} (at {where})"
        ) from None
    return _compile(parameters)


def _json_path(parts: Any) -> str:
    """``$``, ``$.units``, ``$.items[2].name``, ``$["odd key"]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(str(part)):
            out += f".{part}"
        else:
            escaped = str(part).replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """Replace an ``anyOf`` failure by the errors of its one non-null branch, if any.

    ``T | None`` (and every optional parameter in strict mode) becomes ``anyOf [T, null]``;
    "is not valid under any of the given schemas" would hide the useful message about ``T``.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branch = sub.schema_path[0] if sub.schema_path else None
        if sub.validator == "type" and sub.validator_value == "null":
            continue
        branches.setdefault(branch, []).append(sub)
    if len(branches) != 1:
        return [error]
    return [leaf for sub in next(iter(branches.values())) for leaf in _leaf_errors(sub)]


def _collect_errors(validator: Validator, instance: Any) -> list[tuple[str, str]]:
    found: list[tuple[tuple[tuple[int, int, str], ...], str, str]] = []
    for error in validator.iter_errors(instance):
        for leaf in _leaf_errors(error):
            parts = list(leaf.absolute_path)
            # Sort numerically by index and alphabetically by key, whatever the JSON nesting.
            key = tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in parts)
            found.append((key, _json_path(parts), leaf.message))
    return [(path, message) for _, path, message in sorted(set(found))]


async def _run_with_timeout(call: Any, timeout: float, name: str) -> Any:
    """Await ``call`` for at most ``timeout`` seconds.

    Unlike ``asyncio.wait_for``, a ``TimeoutError`` raised by the tool itself is passed through
    unchanged, so only a real timeout gets the "did not finish" message.
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:  # our caller was cancelled: do not leave the tool running
        task.cancel()
        await asyncio.wait({task})  # its cleanup runs before we report the cancellation
        if not task.cancelled():
            task.exception()
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task})  # let the tool's cleanup run before reporting
    if not task.cancelled():
        task.exception()  # mark it retrieved; the timeout is what gets reported
    raise TimeoutError(f"tool {name!r} did not finish within {timeout:g} seconds")
