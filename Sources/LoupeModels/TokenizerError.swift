/// Why a tokenizer could not be built from a model file or a `tokenizer.json`.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A required key is absent (`path`: the file; `key`: the metadata key or JSON path).
    case missing(path: String, key: String)
    /// A key holds a value of the wrong kind or an impossible value.
    case invalid(path: String, key: String, message: String)
    /// `tokenizer.ggml.model` (or the JSON `model.type`) names an algorithm this library does not implement.
    case unsupportedModel(path: String, model: String)
    /// `tokenizer.ggml.pre` (or a JSON pre-tokenizer / normalizer / post-processor) is not one this library knows.
    case unsupportedComponent(path: String, kind: String, name: String)
    /// A split pattern that ICU's regex engine rejects.
    case badPattern(pattern: String, message: String)

    public var description: String {
        switch self {
        case let .missing(path, key):
            return "\(path): tokenizer: missing '\(key)'"
        case let .invalid(path, key, message):
            return "\(path): tokenizer: '\(key)': \(message)"
        case let .unsupportedModel(path, model):
            return "\(path): tokenizer: unsupported tokenizer model '\(model)' (supported: gpt2, llama, bert, gemma4; "
                + "tokenizer.json: BPE, WordPiece)"
        case let .unsupportedComponent(path, kind, name):
            return "\(path): tokenizer: unsupported \(kind) '\(name)'"
        case let .badPattern(pattern, message):
            return "tokenizer: split pattern '\(pattern)' does not compile: \(message)"
        }
    }
}
