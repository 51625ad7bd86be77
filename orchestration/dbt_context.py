"""dbt's macro namespace, built with fewer Python calls in a forked dbt command (DECISIONLOG 170).

dbt builds a Jinja context for every node it compiles and for every macro the adapter runs (a
model's column list, its comments, each commit): each holds a ``MacroGenerator`` for every
macro of the project and its adapters (681 here), bound to that context. Building the namespace
and copying it into the context's dictionary took about 15% of the dbt commands' Python in a
demo run, most of it in calls per macro: three nested constructors per generator, three method
calls to file it, and, to copy it, one ``__getitem__`` per name that searches five namespaces
in turn.

The two functions below give the same namespace and the same context, object for object:

- :func:`build_namespace` files each package's generators in one dictionary comprehension, and
  makes each generator with the attributes its constructors set, in the same order;
- :func:`flat_namespace` is the mapping ``MacroNamespace`` resolves, made by updating one
  dictionary with the five namespaces from the last searched to the first, so that the first
  one searched wins, as in ``MacroNamespace.__getitem__``.

Anything else (a builder that already holds macros, a subclass of the namespace, a generator
class whose constructor was changed) goes through dbt's own code."""

from __future__ import annotations

from typing import Any


def flat_namespace(namespace: Any) -> dict[str, Any]:
    """Every name of a ``MacroNamespace`` with what ``namespace[name]`` returns."""
    from dbt.include.global_project import PROJECT_NAME

    flat = dict(namespace.global_project_namespace)  # searched last
    flat[PROJECT_NAME] = namespace.global_project_namespace
    flat.update(namespace.packages)
    flat.update(namespace.global_namespace)
    flat.update(namespace.local_namespace)  # searched first
    return flat


def build_macro_namespaces_with_fewer_calls() -> None:
    """Apply :func:`build_namespace` and :func:`flat_namespace` to dbt's classes (a forked
    command, ``orchestration.dbt_server``)."""
    from dbt.clients.jinja import MacroGenerator
    from dbt.context.macros import MacroNamespace, MacroNamespaceBuilder
    from dbt.context.manifest import ManifestContext

    build = MacroNamespaceBuilder.build_namespace
    to_dict = ManifestContext.to_dict
    new = object.__new__
    # dbt's own constructors: the attributes below are what they set
    plain_generator = all(
        cls.__init__.__qualname__ == f"{cls.__name__}.__init__"
        for cls in MacroGenerator.__mro__[:3]
    )
    checked: list[dict[str, dict[str, Any]]] = []  # the manifest's, kept: checked once

    def make(macro: Any, ctx: Any, node: Any, stack: Any) -> Any:
        # what MacroGenerator(macro, ctx, node, stack) sets, through its three constructors
        generator = new(MacroGenerator)
        generator.context = ctx
        generator.macro = macro
        generator.node = node
        generator.stack = stack
        return generator

    def build_namespace(self: Any, macros_by_package: dict[str, dict[str, Any]], ctx: Any) -> Any:
        filed = self.globals or self.locals or self.packages or self.internal_packages
        if filed or not plain_generator:
            return build(self, macros_by_package, ctx)
        if not any(seen is macros_by_package for seen in checked):
            if not _by_package(macros_by_package):
                return build(self, macros_by_package, ctx)
            checked.append(macros_by_package)
        node, stack = self.node, self.thread_ctx
        for package, macros in macros_by_package.items():
            generators = {macro.name: make(macro, ctx, node, stack) for macro in macros.values()}
            if package in self.internal_package_names:
                self.internal_packages[package] = generators
                continue
            self.packages[package] = generators
            if package == self.search_package:
                self.locals.update(generators)
            elif package == self.root_package:
                self.globals.update(generators)
        global_project_namespace: dict[str, Any] = {}
        for package in reversed(self.internal_package_names_order):
            if package in self.internal_packages:
                global_project_namespace.update(self.internal_packages[package])
        return MacroNamespace(
            global_namespace=self.globals,
            local_namespace=self.locals,
            global_project_namespace=global_project_namespace,
            packages=self.packages,
        )

    def context_dict(self: Any) -> dict[str, Any]:
        if type(self.namespace) is not MacroNamespace:
            return to_dict(self)
        dct = super(ManifestContext, self).to_dict()
        dct.update(flat_namespace(self.namespace))
        return dct

    MacroNamespaceBuilder.build_namespace = build_namespace
    ManifestContext.to_dict = context_dict


def _by_package(macros_by_package: dict[str, dict[str, Any]]) -> bool:
    """Whether each macro is filed under its package and its name, as dbt's manifest files them
    (``Manifest.get_macros_by_package``): dbt's builder files by the macro's own fields."""
    return all(
        macro.package_name == package and macro.name == name
        for package, macros in macros_by_package.items()
        for name, macro in macros.items()
    )
