"""The per-file semantic model: scopes, what a name is bound to at a node, qualified names of
calls, and the enclosing function, class, `except` handler and loop.

Built once per file, in the same batched traversal as the rules: the engine puts its visitor
first, so when a rule's `visit_X` runs, the model already stands at that node. Every `def` and
`class` body is read once, when the traversal enters the module (its imports, assignments,
parameters, `def`s and `class`es, `global`s; a class also collects the `self.x = ...` of its
methods), so a name bound later in a function is already known to be local there, as Python
decides, and a rule may ask about a function the traversal has not reached. A function's scope
is entered at its body: decorators, defaults and annotations are looked up where it is defined.
Comprehensions and lambdas are read when entered. Cheap by design: no LibCST ScopeProvider or QualifiedNameProvider,
which cost several times a parse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import libcst as cst

from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.imports import import_aliases
from review_patterns.syntax.names import bound_names, dotted_name


class ScopeKind(str, Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"  #: also a lambda
    COMPREHENSION = "comprehension"


class BindingKind(str, Enum):
    IMPORT = "import"  #: `import x`, `from x import y`: `qualified` says what it stands for
    ASSIGNMENT = "assignment"  #: `x = value` (`value` set when `x` is the whole target), `x: T = v`, `x += v`, `x := v`
    PARAMETER = "parameter"  #: a function's parameter (`annotation` set when annotated)
    FUNCTION = "function"  #: `def x`
    CLASS = "class"  #: `class x`
    LOOP = "loop"  #: a `for` target (`node` is the loop)
    WITH = "with"  #: `with value as x`
    EXCEPT = "except"  #: `except E as x`
    ATTRIBUTE = "attribute"  #: `self.x = value` in a method, in the class's `attributes`


@dataclass(frozen=True, eq=False)
class Binding:
    """One place where a name gets its value."""

    name: str
    kind: BindingKind
    scope: Scope
    node: cst.CSTNode  #: the statement, parameter or handler that binds it
    value: cst.BaseExpression | None = None  #: the bound expression, when the name is the whole target
    #: a name of a flat tuple target (`row, created = ...`): the right-hand side and the name's place in it
    unpacked: tuple[cst.BaseExpression, int] | None = None
    qualified: str | None = None  #: for an import, `django.db.models.F`
    annotation: cst.BaseExpression | None = None
    fallback: bool = False  #: bound in an `except` of a module or class body: `except ImportError: x = None`
    method: cst.FunctionDef | None = None  #: for an attribute, the method that sets it


@dataclass(eq=False)
class Scope:
    """A module, class, function (or lambda) or comprehension, and the names it binds."""

    kind: ScopeKind
    node: cst.CSTNode
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)  #: in source order
    reached: dict[str, Binding] = field(default_factory=dict)  #: the latest the traversal has passed
    declared_global: set[str] = field(default_factory=set)  #: `global` and `nonlocal` names
    attributes: dict[str, list[Binding]] = field(default_factory=dict)  #: a class's `self.x`
    by_node: dict[cst.CSTNode, list[Binding]] | None = None  #: the model's index, shared by its scopes

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)
        if self.by_node is not None:
            self.by_node.setdefault(binding.node, []).append(binding)

    def latest(self, name: str) -> Binding | None:
        """The binding a later caller sees (a function reading a module name): the last one,
        unless it is only an import's fallback."""
        found = self.bindings.get(name)
        if not found:
            return None
        firm = [b for b in found if not b.fallback]
        return (firm or found)[-1]


class _Half(cst.BatchableCSTVisitor):
    """The `visit_*` or the `leave_*` methods of a model, as one visitor of the batch."""

    def __init__(self, model: SemanticModel, prefix: str) -> None:
        super().__init__()
        self.model = model
        self.prefix = prefix

    def get_visitors(self) -> dict[str, Any]:
        return {name: getattr(self.model, name) for name in _METHODS[self.prefix]}


class SemanticModel:
    """Scopes and bindings of one file, kept current during the traversal; rules query it.

    The engine runs `entering` before every rule and `leaving` after every rule, so that
    a rule's `visit_X` and `leave_X` of a node both find the model at that node.
    """

    def __init__(self, file: SourceFile) -> None:
        self.file = file
        self.entering: cst.BatchableCSTVisitor = _Half(self, "visit_")
        self.leaving: cst.BatchableCSTVisitor = _Half(self, "leave_")
        self.scopes: list[Scope] = []
        self._functions: list[cst.FunctionDef | cst.Lambda] = []
        self._classes: list[cst.ClassDef] = []
        self._handlers: list[tuple[int, cst.ExceptHandler]] = []  # with the function depth they belong to
        self._loops: list[tuple[int, cst.For | cst.While | cst.CompFor]] = []
        self._by_node: dict[cst.CSTNode, list[Binding]] = {}
        self._ahead: dict[
            cst.FunctionDef | cst.ClassDef, Scope
        ] = {}  #: every def and class, read on entering the module
        #: What a family of rules works out at a node for all its rules, once per file (keyed by the family).
        self.shared: dict[object, Any] = {}

    # -- questions --

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def module_scope(self) -> Scope:
        return self.scopes[0]

    def lookup(self, name: str) -> Binding | None:
        """What `name` refers to at the current node, by Python's scoping rules (a name bound
        anywhere in a function is local to all of it; class bodies are not enclosing scopes);
        None for a builtin or a name bound nowhere in the file."""
        scopes = self.scopes
        here = len(scopes) - 1  # where the traversal stands: a comprehension runs in place, in its scope
        while here > 0 and scopes[here].kind is ScopeKind.COMPREHENSION:
            here -= 1
        for depth in range(len(scopes) - 1, -1, -1):
            scope = scopes[depth]
            if scope.kind is ScopeKind.CLASS and depth != len(scopes) - 1:
                continue
            if name in scope.declared_global:
                return self.module_scope.latest(name)
            if name not in scope.bindings:
                continue
            if depth >= here:
                reached = scope.reached.get(name)
                if reached is not None or scope.kind in (ScopeKind.MODULE, ScopeKind.CLASS):
                    return reached  # module and class bodies run top to bottom
                return scope.bindings[name][0]  # local, though not assigned yet (a loop's next turn)
            return scope.latest(name)
        return None

    def resolve(self, name: str, scope: Scope) -> Binding | None:
        """What `name` refers to anywhere in `scope`, which need not be the current one (see
        `scope_of`): its latest binding there, else the enclosing scopes' as Python looks them up."""
        current: Scope | None = scope
        while current is not None:
            if current is scope or current.kind is not ScopeKind.CLASS:
                if name in current.declared_global:
                    return self.module_scope.latest(name)
                if name in current.bindings:
                    return current.latest(name)
            current = current.parent
        return None

    def scope_of(self, node: cst.FunctionDef | cst.ClassDef) -> Scope | None:
        """The scope of a function or class of this file. Every body is read when the traversal
        enters the module, so a rule can ask what a function returns, what a method sets on
        `self` or what a name means in a function before the traversal gets there."""
        return self._ahead.get(node)

    def bound_by(self, node: cst.CSTNode) -> Sequence[Binding]:
        """The bindings a statement, parameter or `with` item makes (known once its scope is entered)."""
        return tuple(self._by_node.get(node, ()))

    def binding_of(self, expr: cst.BaseExpression) -> Binding | None:
        """The binding of a name, of the head of a dotted name, or of `self.x`."""
        attribute = self.self_attribute(expr)
        if attribute is not None:
            return attribute
        name = dotted_name(expr)
        return None if name is None else self.lookup(name.partition(".")[0])

    def qualified_name(self, expr: cst.BaseExpression) -> str | None:
        """`django.db.models.F` for `F` or `models.F` imported so; `app.views.helper` for a module-level
        function or class of this file; the name as written for a builtin or an unknown global;
        None for a local, a parameter, an attribute of `self` or an expression that is not dotted."""
        name = dotted_name(expr)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        binding = self.lookup(head)
        if binding is None:
            return name
        if binding.kind is BindingKind.IMPORT and binding.qualified is not None:
            return binding.qualified + dot + rest
        if binding.kind in (BindingKind.FUNCTION, BindingKind.CLASS) and binding.scope.kind is ScopeKind.MODULE:
            return f"{self.file.module_name}.{name}" if self.file.module_name else name
        return None

    def imported(self, expr: cst.BaseExpression, scope: Scope | None = None) -> str | None:
        """The qualified name of a dotted expression whose head is an import here (or, given `scope`,
        anywhere in that scope), else None: `requests.get` but not a local `requests`, nor `self.x`."""
        if scope is not None:
            name = dotted_name(expr)
            if name is None:
                return None
            head, dot, rest = name.partition(".")
            found = self.resolve(head, scope)
            if found is None or found.kind is not BindingKind.IMPORT or found.qualified is None:
                return None
            return found.qualified + dot + rest
        binding = self.binding_of(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if binding is None or binding.kind is not BindingKind.IMPORT:
            return None
        return self.qualified_name(expr)

    def imported_or_written(self, expr: cst.BaseExpression, scope: Scope | None = None) -> str | None:
        """`imported`, else the dotted name as written (a builtin, a local, `self.x`); None when not dotted."""
        return self.imported(expr, scope) or dotted_name(expr)

    def self_attribute(self, expr: cst.BaseExpression) -> Binding | None:
        """For `self.x` (or `cls.x`) in a method: its latest `self.x = ...` or the class body's `x`."""
        if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name)):
            return None
        if expr.value.value not in ("self", "cls") or not self._classes:
            return None
        owner = self._class_scope()
        if owner is None:
            return None
        attr = expr.attr.value
        found = owner.attributes.get(attr)
        if found:
            return found[-1]
        return owner.latest(attr)

    def self_attributes(self, attr: str) -> Sequence[Binding]:
        """Every `self.attr = ...` of the enclosing class's methods, in source order."""
        owner = self._class_scope()
        return tuple(owner.attributes.get(attr, ())) if owner is not None else ()

    @property
    def function(self) -> cst.FunctionDef | cst.Lambda | None:
        """The innermost enclosing function or lambda."""
        return self._functions[-1] if self._functions else None

    @property
    def class_(self) -> cst.ClassDef | None:
        """The innermost enclosing class."""
        return self._classes[-1] if self._classes else None

    @property
    def method_of(self) -> cst.ClassDef | None:
        """The class whose method the current function is (its body is the scope right above)."""
        if len(self.scopes) >= 2 and self.scope.kind is ScopeKind.FUNCTION and self.scopes[-2].kind is ScopeKind.CLASS:
            node = self.scopes[-2].node
            return node if isinstance(node, cst.ClassDef) else None
        return None

    @property
    def handler(self) -> cst.ExceptHandler | None:
        """The innermost `except` handler around the current node, within the current function."""
        if self._handlers and self._handlers[-1][0] == len(self._functions):
            return self._handlers[-1][1]
        return None

    @property
    def loop(self) -> cst.For | cst.While | cst.CompFor | None:
        """The innermost loop (or comprehension `for`) around the current node, within the current function."""
        if self._loops and self._loops[-1][0] == len(self._functions):
            return self._loops[-1][1]
        return None

    @property
    def kinds(self) -> frozenset[FileKind]:
        """The file's kinds: test, migration, settings..."""
        return self.file.kinds

    def _class_scope(self) -> Scope | None:
        for scope in reversed(self.scopes):
            if scope.kind is ScopeKind.CLASS:
                return scope
        return None

    # -- reading a scope's body when the traversal enters it --

    def _enter(self, kind: ScopeKind, node: cst.CSTNode) -> Scope:
        scope = Scope(kind, node, self.scopes[-1] if self.scopes else None, by_node=self._by_node)
        self.scopes.append(scope)
        return scope

    def _read_nested(self, scope: Scope) -> None:
        """Reads the functions and classes `scope` defines, ahead of the traversal (see `scope_of`)."""
        for found in list(scope.bindings.values()):
            for binding in found:
                node = binding.node
                if binding.kind is BindingKind.FUNCTION and isinstance(node, cst.FunctionDef):
                    self._read_function(node, scope)
                elif binding.kind is BindingKind.CLASS and isinstance(node, cst.ClassDef):
                    self._read_class(node, scope)

    def _read_function(self, node: cst.FunctionDef, parent: Scope) -> Scope:
        scope = Scope(ScopeKind.FUNCTION, node, parent, by_node=self._by_node)
        self._ahead[node] = scope
        self._declare_params(scope, node.params)
        self._declare_suite(scope, node.body, False)
        self._read_nested(scope)
        return scope

    def _read_class(self, node: cst.ClassDef, parent: Scope) -> Scope:
        scope = Scope(ScopeKind.CLASS, node, parent, by_node=self._by_node)
        self._ahead[node] = scope
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        self._declare_body(scope, body)
        self._declare_attributes(scope, body)
        self._read_nested(scope)
        return scope

    def _declare_body(self, scope: Scope, body: Sequence[cst.CSTNode], fallback: bool = False) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._declare_small(scope, small, fallback)
            elif isinstance(stmt, cst.FunctionDef):
                scope.add(Binding(stmt.name.value, BindingKind.FUNCTION, scope, stmt, fallback=fallback))
            elif isinstance(stmt, cst.ClassDef):
                scope.add(Binding(stmt.name.value, BindingKind.CLASS, scope, stmt, fallback=fallback))
            elif isinstance(stmt, cst.BaseCompoundStatement):
                self._declare_compound(scope, stmt, fallback)

    def _declare_compound(self, scope: Scope, stmt: cst.BaseCompoundStatement, fallback: bool) -> None:
        if isinstance(stmt, cst.For):
            for name in bound_names(stmt.target):
                scope.add(Binding(name, BindingKind.LOOP, scope, stmt, fallback=fallback))
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    target = item.asname.name
                    whole = isinstance(target, cst.Name)
                    for name in bound_names(target):
                        value = item.item if whole else None
                        scope.add(Binding(name, BindingKind.WITH, scope, item, value, fallback=fallback))
        if isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self._declare_suite(scope, case.body, fallback)
            return
        self._declare_suite(scope, stmt.body, fallback)
        if isinstance(stmt, cst.If):
            orelse: cst.If | cst.Else | None = stmt.orelse
            while orelse is not None:
                self._declare_suite(scope, orelse.body, fallback)
                orelse = orelse.orelse if isinstance(orelse, cst.If) else None
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            # In a module or class body, `except ImportError: x = None` keeps the import meaningful.
            in_body = scope.kind in (ScopeKind.MODULE, ScopeKind.CLASS)
            for handler in stmt.handlers:
                if handler.name is not None and isinstance(handler.name.name, cst.Name):
                    scope.add(Binding(handler.name.name.value, BindingKind.EXCEPT, scope, handler))
                self._declare_suite(scope, handler.body, fallback or in_body)
            for extra in (stmt.orelse, stmt.finalbody):
                if extra is not None:
                    self._declare_suite(scope, extra.body, fallback)
        elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
            self._declare_suite(scope, stmt.orelse.body, fallback)

    def _declare_suite(self, scope: Scope, suite: cst.BaseSuite, fallback: bool) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._declare_body(scope, suite.body, fallback)
        elif isinstance(suite, cst.SimpleStatementSuite):
            for small in suite.body:
                self._declare_small(scope, small, fallback)

    def _declare_small(self, scope: Scope, small: cst.BaseSmallStatement, fallback: bool) -> None:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                self._declare_target(scope, small, target.target, small.value, None, fallback)
        elif isinstance(small, cst.AnnAssign):
            self._declare_target(scope, small, small.target, small.value, small.annotation.annotation, fallback)
        elif isinstance(small, cst.AugAssign):
            self._declare_target(scope, small, small.target, None, None, fallback)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            for name, qualified in self._imports(small):
                scope.add(Binding(name, BindingKind.IMPORT, scope, small, qualified=qualified, fallback=fallback))
        elif isinstance(small, (cst.Global, cst.Nonlocal)):
            scope.declared_global.update(n.name.value for n in small.names)

    def _declare_target(
        self,
        scope: Scope,
        stmt: cst.CSTNode,
        target: cst.BaseExpression,
        value: cst.BaseExpression | None,
        annotation: cst.BaseExpression | None,
        fallback: bool,
    ) -> None:
        whole = isinstance(target, cst.Name)
        places: dict[str, int] = {}
        if value is not None and isinstance(target, (cst.Tuple, cst.List)):
            places = {e.value.value: i for i, e in enumerate(target.elements) if isinstance(e.value, cst.Name)}
        for name in bound_names(target):
            owner = self.module_scope if name in scope.declared_global else scope
            owner.add(
                Binding(
                    name,
                    BindingKind.ASSIGNMENT,
                    owner,
                    stmt,
                    value if whole else None,
                    annotation=annotation if whole else None,
                    fallback=fallback,
                    unpacked=(value, places[name]) if value is not None and name in places else None,
                )
            )

    def _imports(self, node: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
        return import_aliases(node, self.file.package)

    def _declare_attributes(self, scope: Scope, body: Sequence[cst.CSTNode]) -> None:
        """`self.x = value` in the methods of a class body (`self`, `cls` or the method's first parameter)."""
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                owners = {"self", "cls", *_instance_parameter(stmt)}
                for small in _small_statements(stmt.body):
                    targets: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
                    annotation: cst.BaseExpression | None = None
                    if isinstance(small, cst.Assign):
                        targets = [(t.target, small.value) for t in small.targets]
                    elif isinstance(small, cst.AnnAssign):
                        targets = [(small.target, small.value)]
                        annotation = small.annotation.annotation
                    for target, value in targets:
                        if (
                            isinstance(target, cst.Attribute)
                            and isinstance(target.value, cst.Name)
                            and target.value.value in owners
                        ):
                            attr = target.attr.value
                            binding = Binding(
                                attr, BindingKind.ATTRIBUTE, scope, small, value, annotation=annotation, method=stmt
                            )
                            scope.attributes.setdefault(attr, []).append(binding)
                            self._by_node.setdefault(small, []).append(binding)

    # -- the traversal --

    def _reach(self, names: Sequence[str], node: cst.CSTNode) -> None:
        scope = self.scope
        for name in names:
            target = self.module_scope if name in scope.declared_global else scope
            for binding in target.bindings.get(name, ()):
                if binding.node is node:
                    previous = target.reached.get(name)
                    if binding.fallback and previous is not None and not previous.fallback:
                        continue  # `except ImportError: x = None` leaves the import meaningful
                    target.reached[name] = binding

    def visit_Module(self, node: cst.Module) -> None:
        scope = self._enter(ScopeKind.MODULE, node)
        self._declare_body(scope, node.body)
        self._read_nested(scope)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        scope = self._ahead.get(node) or self._read_class(node, self.scope)  # always read ahead; a safeguard
        self.scopes.append(scope)
        self._classes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()
        self.scopes.pop()
        self._reach([original_node.name.value], original_node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        # Decorators, defaults and annotations run where the function is defined: only the body is
        # in its scope (which stays current until the rules have left the `def`).
        scope = self._ahead.get(node) or self._read_function(node, self.scope)  # always read ahead; a safeguard
        self.scopes.append(scope)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()
        self.scopes.pop()
        self._reach([original_node.name.value], original_node)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._functions.append(node)

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        scope = self._enter(ScopeKind.FUNCTION, node)  # after the defaults, as for a `def`
        self._declare_params(scope, node.params)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._functions.pop()
        self.scopes.pop()

    def _declare_params(self, scope: Scope, params: cst.Parameters) -> None:
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        for param in every:
            annotation = param.annotation.annotation if param.annotation is not None else None
            binding = Binding(param.name.value, BindingKind.PARAMETER, scope, param, annotation=annotation)
            scope.add(binding)
            scope.reached[binding.name] = binding

    def _visit_comprehension(self, node: cst.BaseComp) -> None:
        scope = self._enter(ScopeKind.COMPREHENSION, node)
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            for name in bound_names(comp.target):
                binding = Binding(name, BindingKind.LOOP, scope, comp)
                scope.add(binding)
                scope.reached[name] = binding
            comp = comp.inner_for_in

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._visit_comprehension(node)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.scopes.pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._visit_comprehension(node)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.scopes.pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._visit_comprehension(node)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.scopes.pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._visit_comprehension(node)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.scopes.pop()

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._reach([n for t in original_node.targets for n in bound_names(t.target)], original_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._reach(list(bound_names(original_node.target)), original_node)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._reach(list(bound_names(original_node.target)), original_node)

    def leave_Import(self, original_node: cst.Import) -> None:
        self._reach([name for name, _ in self._imports(original_node)], original_node)

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._reach([name for name, _ in self._imports(original_node)], original_node)

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        # `(x := value)` binds in the function around it, even inside a comprehension; known from
        # here on (not read ahead with the other bindings: it hides in expressions).
        if isinstance(original_node.target, cst.Name):
            scope = next(s for s in reversed(self.scopes) if s.kind is not ScopeKind.COMPREHENSION)
            name = original_node.target.value
            binding = Binding(name, BindingKind.ASSIGNMENT, scope, original_node, original_node.value)
            scope.add(binding)
            scope.reached[name] = binding

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        if original_node.asname is not None:
            self._reach(list(bound_names(original_node.asname.name)), original_node)

    def visit_For(self, node: cst.For) -> None:
        self._reach(list(bound_names(node.target)), node)
        self._loops.append((len(self._functions), node))

    def leave_For(self, original_node: cst.For) -> None:
        self._loops.pop()

    def visit_While(self, node: cst.While) -> None:
        self._loops.append((len(self._functions), node))

    def leave_While(self, original_node: cst.While) -> None:
        self._loops.pop()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._loops.append((len(self._functions), node))

    def leave_CompFor(self, original_node: cst.CompFor) -> None:
        self._loops.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._reach([node.name.name.value], node)
        self._handlers.append((len(self._functions), node))

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._handlers.pop()


#: The model's `visit_*` and `leave_*` methods, by prefix.
_METHODS = {prefix: tuple(n for n in vars(SemanticModel) if n.startswith(prefix)) for prefix in ("visit_", "leave_")}


def returned_values(function: cst.FunctionDef) -> Iterator[cst.BaseExpression]:
    """The values of a function's `return` statements, not those of functions nested in it."""
    for small in _small_statements(function.body):
        if isinstance(small, cst.Return) and small.value is not None:
            yield small.value


def _instance_parameter(method: cst.FunctionDef) -> tuple[str, ...]:
    """The name a method calls its instance (or class) by: its first parameter, unless it is static."""
    static = any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in method.decorators)
    first = [*method.params.posonly_params, *method.params.params][:1]
    return () if static or not first else (first[0].name.value,)


def _small_statements(suite: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """The small statements of a function body, entering blocks but not nested functions or classes."""
    if isinstance(suite, cst.SimpleStatementSuite):
        yield from suite.body
        return
    for stmt in suite.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                yield from _small_statements(case.body)
        elif isinstance(stmt, cst.BaseCompoundStatement):
            yield from _small_statements(stmt.body)
            if isinstance(stmt, cst.If):
                orelse: cst.If | cst.Else | None = stmt.orelse
                while orelse is not None:
                    yield from _small_statements(orelse.body)
                    orelse = orelse.orelse if isinstance(orelse, cst.If) else None
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                for handler in stmt.handlers:
                    yield from _small_statements(handler.body)
                for extra in (stmt.orelse, stmt.finalbody):
                    if extra is not None:
                        yield from _small_statements(extra.body)
