import Foundation

/// Errors of building, training and saving a `TrainableModel`.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An argument that does not fit (token ids, a mask, a learning rate, a LoRA setting), naming the function.
    case invalidArgument(function: String, message: String)
    /// A LoRA target that is not one of the model's projections.
    case unknownTarget(name: String, valid: [String])
    /// A training step with no trainable parameter (for example after `merge()` folded the adapters away).
    case nothingToTrain(String)
    /// Writing the trained model failed; `path` is the file or folder.
    case save(path: String, message: String)

    public var description: String {
        switch self {
        case let .invalidArgument(function, message): return "\(function): \(message)"
        case let .unknownTarget(name, valid):
            return "unknown LoRA target '\(name)'; valid targets: \(valid.joined(separator: ", "))"
        case let .nothingToTrain(why): return "nothing to train: \(why)"
        case let .save(path, message): return "saving \(path): \(message)"
        }
    }
}

extension TrainingError: LocalizedError {
    public var errorDescription: String? { description }
}
