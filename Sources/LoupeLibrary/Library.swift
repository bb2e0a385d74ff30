import LoupeLang
import LoupeTensor

/// Builds the registry of every built-in the language sees: one file per namespace registers its functions.
public enum LoupeLibrary {
    public static func makeRegistry() -> BuiltinRegistry {
        let registry = BuiltinRegistry()
        return registry
    }
}
