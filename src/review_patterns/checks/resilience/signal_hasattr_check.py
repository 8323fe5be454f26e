"""RP506 signal-hasattr-check: a signal receiver that tells models apart with `hasattr`."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import code, keyword
from review_patterns.syntax.semantic import Binding, BindingKind

_RECEIVER = frozenset({"django.dispatch.receiver", "django.dispatch.dispatcher.receiver"})
_SIGNAL_CLASSES = frozenset({"django.dispatch.Signal", "django.dispatch.dispatcher.Signal"})


@dataclass
class _Function:
    node: cst.FunctionDef
    receiver: bool  #: decorated with `@receiver(...)` without `sender=`
    checks: list[cst.Call] = field(default_factory=list)  #: `hasattr(instance, ...)` calls


class SignalHasattrCheck(Rule):
    """## What it does
    Flags `hasattr(instance, ...)` in a signal receiver (a function decorated with
    `@receiver(...)` or passed to `signal.connect(...)`) that listens to every sender.

    ## Why is this bad?
    A receiver without `sender=` runs for every model, and `hasattr` is a poor type test:
    with multi-table inheritance (Wagtail pages, `Restaurant(Place)`) every subclass has the
    parent's fields, and a child's instance reaches the parent's attributes, so the check
    passes for the wrong models. Use `isinstance(instance, BlogPage)` or connect the receiver
    with `sender=BlogPage`.

    ## Known problems
    Receivers with `sender=` (the instance's class is then known) and private flag checks
    (`hasattr(instance, "_skip_indexing")`) are not flagged, nor a check for an attribute that
    the project's own abstract model or model mixin defines: that is an interface check, meant
    to match every subclass. Receivers connected from another module are not seen.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    reads = ("models",)

    code = "RP506"
    name = "signal-hasattr-check"
    message = "`hasattr(instance, {attr})` in a signal receiver: use `isinstance`"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("hasattr",)
    examples = (
        Bad(
            """
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            @receiver(post_save)
            def reindex_page(sender, instance, **kwargs):
                if hasattr(instance, "search_fields"):  # RP506
                    search_index.update(instance)
            """,
            path="pages/signals.py",
        ),
        Good(
            """
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import BlogPage

            @receiver(post_save)
            def reindex_page(sender, instance, **kwargs):
                if isinstance(instance, BlogPage):
                    search_index.update(instance)
            """,
            path="pages/signals.py",
        ),
        Bad(
            """
            from django.db.models import signals

            def notify_subscribers(sender, instance, created, **kwargs):
                if created and hasattr(instance, "newsletter"):  # RP506
                    send_newsletter(instance)

            def audit(sender, **kwargs):
                if hasattr(kwargs["instance"], "owner"):  # RP506
                    log_change(kwargs["instance"])

            signals.post_save.connect(notify_subscribers)
            signals.pre_delete.connect(audit, dispatch_uid="audit")
            """,
            path="pages/handlers.py",
        ),
        Good(
            """
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Order

            @receiver(post_save, sender=Order)
            def order_saved(sender, instance, **kwargs):
                if hasattr(instance, "invoice"):  # the sender is known: a relation check
                    instance.invoice.refresh()

            @receiver(post_save)
            def skip_flagged(sender, instance, **kwargs):
                if hasattr(instance, "_skip_signals"):
                    return

            def not_a_receiver(instance):
                return hasattr(instance, "search_fields")

            def render(sender, instance, **kwargs):
                return hasattr(instance, "body")

            template_engine.connect(render)  # not a signal
            """,
            path="pages/signals.py",
        ),
        Good(
            """
            from django.db.models.signals import post_save, pre_delete
            from django.dispatch import receiver

            @receiver(post_save)
            def touch_audited(sender, instance, **kwargs):
                if hasattr(instance, "audit_log"):  # every model deriving from AuditedModel
                    instance.audit_log("saved")

            @receiver(pre_delete)
            def release_slug(sender, instance, **kwargs):
                if hasattr(instance, "slug_source"):  # every model using SlugMixin
                    free_slug(instance.slug_source)
            """,
            path="core/signals.py",
            files={
                "core/models.py": """
                from django.db import models

                class SlugMixin:
                    slug_source = "title"

                class AuditedModel(models.Model):
                    changed_at = models.DateTimeField(auto_now=True)

                    class Meta:
                        abstract = True

                    def audit_log(self, action):
                        AuditEntry.objects.create(target=str(self.pk), action=action)

                class Article(SlugMixin, AuditedModel):
                    title = models.CharField(max_length=200)
                """
            },
        ),
        Bad(
            """
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            @receiver(post_save)
            def touch_articles(sender, instance, **kwargs):
                if hasattr(instance, "title"):  # RP506
                    reindex(instance)
            """,
            path="core/signals.py",
            files={
                "core/models.py": """
                from django.db import models

                class Article(models.Model):  # a concrete model's field: every child has it too
                    title = models.CharField(max_length=200)
                """
            },
        ),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        """Also a receiver: `receiver` (the decorator's name, in its import) or a `connect` call."""
        return super().applies_to(file) and ("receiver" in file.source or "connect" in file.source)

    def setup(self) -> None:
        self.stack: list[_Function] = []
        self.functions: list[_Function] = []
        self.connected: set[cst.CSTNode] = set()  #: the `def`s passed to `signal.connect(...)`

    def _is_signal(self, node: cst.BaseExpression) -> bool:
        """A signal: imported from a `signals` module, or a name or `self.x` bound to `Signal()`."""
        qualified = self.semantic.imported(node)
        if qualified is not None:
            return ".signals." in f".{qualified}"
        binding = self._binding(node)
        if binding is None or not isinstance(binding.value, cst.Call):
            return False
        return self.semantic.imported(binding.value.func, binding.scope) in _SIGNAL_CLASSES

    def _binding(self, node: cst.BaseExpression) -> Binding | None:
        """The binding of a name or of `self.x`; for `Model.method`, the method's in the class body."""
        if isinstance(node, cst.Name):
            return self.semantic.lookup(node.value)
        attribute = self.semantic.self_attribute(node)
        if attribute is not None or not isinstance(node, cst.Attribute) or not isinstance(node.value, cst.Name):
            return attribute
        owner = self.semantic.lookup(node.value.value)
        body = (
            self.semantic.scope_of(owner.node) if owner is not None and isinstance(owner.node, cst.ClassDef) else None
        )
        return body.latest(node.attr.value) if body is not None else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        receiver = False
        for decorator in node.decorators:
            call = decorator.decorator
            if isinstance(call, cst.Call) and self.semantic.imported(call.func) in _RECEIVER:
                if keyword(call, "sender") is None:
                    receiver = True
        function = _Function(node, receiver)
        self.stack.append(function)
        self.functions.append(function)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "connect"
            and node.args
            and node.args[0].keyword is None
            and keyword(node, "sender") is None
            and self._is_signal(func.value)
        ):
            binding = self._binding(node.args[0].value)
            if binding is not None and binding.kind is BindingKind.FUNCTION:
                self.connected.add(binding.node)
            return
        if (
            self.stack
            and isinstance(func, cst.Name)
            and func.value == "hasattr"
            and len(node.args) == 2
            and _is_instance(node.args[0].value)
        ):
            attr = node.args[1].value
            value = attr.evaluated_value if isinstance(attr, cst.SimpleString) else None
            if isinstance(value, str) and (
                value.startswith("_") or value in self.context.models.interface_attributes()
            ):
                return  # a private flag, or the interface of the project's abstract model or mixin
            self.stack[-1].checks.append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        for function in self.functions:
            if function.receiver or function.node in self.connected:
                for call in function.checks:
                    self.report(call, attr=code(call.args[1].value))


def _is_instance(node: cst.BaseExpression) -> bool:
    """`instance`, or `kwargs["instance"]`."""
    if isinstance(node, cst.Name):
        return node.value == "instance"
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        return (
            isinstance(index, cst.Index)
            and isinstance(index.value, cst.SimpleString)
            and (index.value.evaluated_value == "instance")
        )
    return False
