import Foundation
import LoupeLang
import LoupeTensor

/// Builds the registry of every built-in the language sees: one file per namespace registers its functions.
///
/// - `Core.swift`: conversions, numbers, lists, strings, records, `assert`, `clock` (top level).
/// - `Functional.swift`: `map`, `filter`, `reduce`, `zip`, ... calling back into Loupe (top level).
/// - `JSON.swift`: the `json` namespace.
/// - `TensorBuiltins.swift`: tensors (top level, numpy-like names), `linalg` and `nn` namespaces.
/// - `ModelBuiltins.swift`: the `model` namespace and the model object (encode, logits, forward with hooks, generate, chat).
/// - `PlotBuiltins.swift`: the `plot` namespace (figures from LoupePlot).
/// - `MetricsBuiltins.swift`, `MLBuiltins.swift`: the `metrics` and `ml` namespaces (LoupeMethods).
/// - `TrainingBuiltins.swift`: the `train` namespace (fine-tuning decoders, LoRA, saving).
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
        ModelBuiltins.register(r)
        PlotBuiltins.register(r)
        MetricsBuiltins.register(r)
        MLBuiltins.register(r)
        AvailabilityBuiltins.register(r)
        TrainingBuiltins.register(r)
    }

    /// The `# doc:` comments of library code written in Loupe (`stdlib/*.loupe`), by the name of the `fn` or `let`
    /// that follows each: a `# doc: SUMMARY` line, then any further `# ` lines up to the declaration. For `:doc`
    /// on stdlib functions, whose closures carry no documentation of their own.
    public static func docComments(in source: String) -> [String: String] {
        var docs: [String: String] = [:]
        var pending: [String]? = nil
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# doc:") {
                pending = [line.dropFirst("# doc:".count).trimmingCharacters(in: .whitespaces)]
            } else if line.hasPrefix("#"), pending != nil {
                pending!.append(line.dropFirst().trimmingCharacters(in: .whitespaces))
            } else if let doc = pending {
                pending = nil
                for keyword in ["fn ", "let "] where line.hasPrefix(keyword) {
                    let name = line.dropFirst(keyword.count).prefix { $0 == "_" || $0.isLetter || $0.isNumber }
                    if !name.isEmpty { docs[String(name)] = doc.joined(separator: "\n") }
                }
            }
        }
        return docs
    }
}
