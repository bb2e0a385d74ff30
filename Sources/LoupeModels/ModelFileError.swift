import Foundation

/// Everything that can go wrong reading, writing or fetching a model file.
///
/// Every case names the file (as the caller spelled its path) and the field, tensor or key at fault, so one line of
/// `description` tells a user what is broken and where, e.g.
/// `gemma.gguf: tensor 'blk.3.attn_q.weight': data [736, 1024) lies outside the file (size 1000)`.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, mapped, read or written (`message` is the operating system's reason).
    case io(path: String, message: String)
    /// The file ended while reading `field`, which starts at byte `offset` and needed `needed` bytes.
    case truncated(path: String, field: String, offset: Int, needed: Int, size: Int)
    /// The first bytes are not the format's magic.
    case badMagic(path: String, expected: String, found: String)
    /// The format version is one this reader does not understand.
    case unsupportedVersion(path: String, version: Int, supported: String)
    /// A field holds a value the format forbids (a length larger than the file, an unknown value type, ...).
    case invalidField(path: String, field: String, message: String)
    /// A tensor's element type is not one this reader knows (or, for dequantization, not one it converts).
    case unknownTensorType(path: String, tensor: String, type: String)
    /// A tensor's data range does not fit inside the file.
    case tensorOutOfBounds(path: String, tensor: String, start: Int, end: Int, size: Int)
    /// A tensor's shape, element count or byte count is inconsistent with its type or with what the caller needs.
    case badTensorShape(path: String, tensor: String, message: String)
    /// The same metadata key or tensor name appears twice.
    case duplicate(path: String, what: String, name: String)
    /// A metadata key or tensor the caller requires is absent.
    case missing(path: String, what: String, name: String)
    /// A metadata key exists but holds another value type than the caller requires.
    case wrongType(path: String, key: String, expected: String, found: String)
    /// A fetched file's sha256 differs from the pinned value.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A model name that the store does not know and that is not an existing file or folder.
    case unknownModel(name: String, known: [String])
    /// A known model is not present in the store (or not complete).
    case modelNotFetched(name: String, path: String)
    /// Fetching a model from its registry package failed.
    case fetchFailed(name: String, message: String)

    public var description: String {
        switch self {
        case let .io(path, message):
            return "\(path): \(message)"
        case let .truncated(path, field, offset, needed, size):
            return "\(path): \(field): file is truncated (needs \(needed) bytes at offset \(offset), file size \(size))"
        case let .badMagic(path, expected, found):
            return "\(path): not a \(expected) file (first bytes \(found))"
        case let .unsupportedVersion(path, version, supported):
            return "\(path): unsupported version \(version) (supported: \(supported))"
        case let .invalidField(path, field, message):
            return "\(path): \(field): \(message)"
        case let .unknownTensorType(path, tensor, type):
            return "\(path): tensor '\(tensor)': unsupported type \(type)"
        case let .tensorOutOfBounds(path, tensor, start, end, size):
            return "\(path): tensor '\(tensor)': data [\(start), \(end)) lies outside the file (size \(size))"
        case let .badTensorShape(path, tensor, message):
            return "\(path): tensor '\(tensor)': \(message)"
        case let .duplicate(path, what, name):
            return "\(path): duplicate \(what) '\(name)'"
        case let .missing(path, what, name):
            return "\(path): no \(what) '\(name)'"
        case let .wrongType(path, key, expected, found):
            return "\(path): metadata '\(key)' is \(found), expected \(expected)"
        case let .checksumMismatch(path, expected, actual):
            return "\(path): sha256 \(actual) does not match the pinned \(expected)"
        case let .unknownModel(name, known):
            return "unknown model '\(name)' (known models: " + known.joined(separator: ", ")
                + "; or give the path of a .gguf file or a safetensors folder)"
        case let .modelNotFetched(name, path):
            return "model '\(name)' is not in the store (\(path)); run ./loupe models fetch \(name)"
        case let .fetchFailed(name, message):
            return "fetching '\(name)' failed: \(message)"
        }
    }
}

extension ModelFileError: LocalizedError {
    public var errorDescription: String? { description }
}
