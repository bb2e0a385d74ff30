import Foundation
import LoupeLang
import LoupeTensor

/// Builds the registry of every built-in the language sees: one file per namespace registers its functions.
///
/// - `Core.swift`: conversions, numbers, lists, strings, records, `assert`, `clock` (top level).
/// - `Functional.swift`: `map`, `filter`, `reduce`, `zip`, ... calling back into Loupe (top level).
/// - `JSON.swift`: the `json` namespace.
/// - `TensorBuiltins.swift`: tensors (top level, numpy-like names), `linalg` and `nn` namespaces.
///
/// Library code written in Loupe itself lives in `stdlib/*.loupe` (a resource of LoupeLang).
public enum LoupeLibrary {
    /// A fresh registry with every built-in.
    public static func makeRegistry() -> BuiltinRegistry {
        let registry = BuiltinRegistry()
        install(into: registry)
        return registry
    }

    /// Registers the library's built-ins into `registry`, skipping any name already registered there (so the
    /// language core or another module may register a name first without a clash).
    public static func install(into registry: BuiltinRegistry) {
        let r = LibRegistrar(registry: registry, skip: Set(registry.names))
        CoreBuiltins.register(r)
        FunctionalBuiltins.register(r)
        JSONBuiltins.register(r)
        TensorBuiltins.register(r)
    }
}
