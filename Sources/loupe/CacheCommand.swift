import ArgumentParser
import Foundation
import LoupeNotebook

/// `loupe cache ls|clear [FILE.nb...]`: the cell caches of notebooks (`.NAME.nb.cache/` beside each); without
/// files, every notebook cache under the current folder.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "List or clear notebooks' cell caches.",
        subcommands: [List.self, Clear.self])

    /// The cache folders of `files`, or all under the current folder.
    static func caches(_ files: [String]) throws -> [(notebook: String, cache: CellCache)] {
        if !files.isEmpty {
            return try files.map {
                guard $0.hasSuffix(".nb") else { throw ValidationError("expected notebooks (FILE.nb), got '\($0)'") }
                guard FileManager.default.fileExists(atPath: $0) else { throw UserError("\($0): no such notebook") }
                return ($0, CellCache(directory: CellCache.directory(for: $0)))
            }
        }
        var out: [(String, CellCache)] = []
        let e = FileManager.default.enumerator(atPath: ".")
        while let f = e?.nextObject() as? String {
            let last = (f as NSString).lastPathComponent
            if last.hasPrefix("."), last.hasSuffix(".nb.cache") {
                let dir = (f as NSString).deletingLastPathComponent
                let nb = (dir.isEmpty ? "" : dir + "/") + String(last.dropFirst().dropLast(6))
                out.append((nb, CellCache(directory: f)))
                e?.skipDescendants()
            } else if last.hasPrefix(".") || last == "node_modules" {
                e?.skipDescendants()
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List cache entries.")
        @Argument(help: "Notebooks (default: every cache under the current folder).") var files: [String] = []

        func run() throws {
            let caches = try CacheCommand.caches(files)
            if caches.isEmpty { print("no notebook caches"); return }
            let f = ISO8601DateFormatter()
            for (nb, cache) in caches {
                let entries = cache.list()
                let bytes = entries.reduce(0) { $0 + $1.bytes }
                print("\(nb): \(entries.count) entries, \(bytes) bytes in \(cache.directory)")
                for e in entries {
                    if let entry = e.entry {
                        print("  \(entry.key.prefix(12))  \(entry.cell.padding(toLength: 24, withPad: " ", startingAt: 0))  \(String(format: "%8.3f s", entry.seconds))  \(e.bytes) bytes  \(f.string(from: entry.created))")
                    } else {
                        print("  \(e.file.prefix(12))  damaged (recomputed on the next run)")
                    }
                }
            }
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Delete cache entries.")
        @Argument(help: "Notebooks (default: every cache under the current folder).") var files: [String] = []

        func run() throws {
            for (nb, cache) in try CacheCommand.caches(files) {
                let n = try cache.clear()
                print("\(nb): removed \(n) entries")
            }
        }
    }
}
