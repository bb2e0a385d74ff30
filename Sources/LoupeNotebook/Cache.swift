import Foundation
import LoupeLang

/// A cell's stored result: what it printed, its value and the values it bound, all in `ValueCodec`'s exact form.
public struct CacheEntry {
    public static let format = 1
    public var key: String
    /// The cell's stable id (its name or a hash of its code), for `loupe cache ls`.
    public var cell: String
    public var output: String
    /// The encoded value of the cell's last expression (nil when it ended with a declaration or gave nil).
    public var value: Data?
    /// Bound names with their encoded values and content hashes, in binding order.
    public var bindings: [(name: String, value: Data, hash: String)]
    /// Model files the cell loaded: path -> sha256.
    public var modelFiles: [String: String]
    /// Seconds the cell took when it was computed.
    public var seconds: Double
    public var created: Date
    /// A display-only entry, for a cell that binds values with no serial form (a model, a function, a figure):
    /// its output, value text and figures, and the names it binds with their hashes (`bindings` with empty
    /// values), so the cell need not run again unless a later cell that is not cached needs those names.
    public var stub = false
    public var valueText: String?
    public var figures: [RenderedFigure] = []
}

/// The cell cache of one notebook: a git-ignored folder beside it, `.NAME.nb.cache/`, one file per entry named by
/// its key. Each file is `sha256-of-the-rest\n` + JSON, written atomically; an entry whose checksum does not match
/// (a damaged or truncated file) is reported as corrupt and recomputed.
public final class CellCache {
    public let directory: String

    /// The cache folder for a notebook at `path`: `.NAME.nb.cache` in the same folder.
    public static func directory(for path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let file = (path as NSString).lastPathComponent
        return (dir.isEmpty ? "" : dir + "/") + "." + file + ".cache"
    }

    public init(directory: String) { self.directory = directory }

    /// What a lookup found.
    public enum Lookup {
        case hit(CacheEntry)
        case miss
        /// The entry existed but was damaged (removed; the cell is recomputed).
        case corrupt(String)
    }

    func path(_ key: String) -> String { directory + "/" + key + ".json" }

    public func lookup(_ key: String) -> Lookup {
        let p = path(key)
        guard let data = FileManager.default.contents(atPath: p) else { return .miss }
        do {
            return .hit(try CellCache.decode(data, key: key))
        } catch {
            try? FileManager.default.removeItem(atPath: p)
            return .corrupt("\(error)")
        }
    }

    public func store(_ entry: CacheEntry) throws {
        try writeAtomically(CellCache.encode(entry), to: path(entry.key))
    }

    /// The entries on disk (damaged ones included, marked), newest first.
    public func list() -> [(file: String, entry: CacheEntry?, bytes: Int)] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(String, CacheEntry?, Int)] = []
        for f in files where f.hasSuffix(".json") && !f.hasPrefix(".") && f != "files.json" {
            let data = FileManager.default.contents(atPath: directory + "/" + f) ?? Data()
            out.append((f, try? CellCache.decode(data, key: String(f.dropLast(5))), data.count))
        }
        return out.sorted { ($0.1?.created ?? .distantPast) > ($1.1?.created ?? .distantPast) }
    }

    /// Removes the whole cache folder; returns how many entries it held.
    @discardableResult
    public func clear() throws -> Int {
        let n = list().count
        if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
        return n
    }

    // MARK: Encoding

    static func encode(_ e: CacheEntry) throws -> Data {
        var obj: [String: Any] = [
            "format": CacheEntry.format, "key": e.key, "cell": e.cell, "output": e.output,
            "bindings": e.bindings.map { [$0.name, String(decoding: $0.value, as: UTF8.self), $0.hash] },
            "model_files": e.modelFiles, "seconds": e.seconds, "created": e.created.timeIntervalSince1970,
        ]
        if let v = e.value { obj["value"] = String(decoding: v, as: UTF8.self) }
        if e.stub {
            obj["stub"] = true
            obj["figures"] = e.figures.map { [$0.svg, $0.title ?? NSNull(), $0.caption ?? NSNull()] as [Any] }
            if let t = e.valueText { obj["value_text"] = t }
        }
        let body = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        return Data((SHA256.hex(body) + "\n").utf8) + body
    }

    static func decode(_ data: Data, key: String) throws -> CacheEntry {
        guard let nl = data.firstIndex(of: 0x0A), nl - data.startIndex == 64 else {
            throw ValueCodec.Corrupt(reason: "no checksum line")
        }
        let sum = String(decoding: data[data.startIndex..<nl], as: UTF8.self)
        let body = data[(nl + 1)...]
        guard SHA256.hex(Data(body)) == sum else { throw ValueCodec.Corrupt(reason: "checksum mismatch") }
        guard let o = try JSONSerialization.jsonObject(with: body) as? [String: Any],
              o["format"] as? Int == CacheEntry.format, o["key"] as? String == key,
              let cell = o["cell"] as? String, let output = o["output"] as? String,
              let bindings = o["bindings"] as? [[String]], let files = o["model_files"] as? [String: String],
              let secs = o["seconds"] as? Double, let created = o["created"] as? Double else {
            throw ValueCodec.Corrupt(reason: "missing fields")
        }
        let bs: [(name: String, value: Data, hash: String)] = try bindings.map {
            guard $0.count == 3 else { throw ValueCodec.Corrupt(reason: "binding") }
            return ($0[0], Data($0[1].utf8), $0[2])
        }
        var e = CacheEntry(key: key, cell: cell, output: output, value: (o["value"] as? String).map { Data($0.utf8) },
                           bindings: bs, modelFiles: files, seconds: secs, created: Date(timeIntervalSince1970: created))
        if o["stub"] as? Bool == true {
            guard let figs = o["figures"] as? [[Any]] else {
                throw ValueCodec.Corrupt(reason: "display entry")
            }
            e.stub = true
            e.valueText = o["value_text"] as? String
            e.figures = try figs.map {
                guard $0.count == 3, let svg = $0[0] as? String else { throw ValueCodec.Corrupt(reason: "figure") }
                return RenderedFigure(svg: svg, title: $0[1] as? String, caption: $0[2] as? String)
            }
        }
        return e
    }
}

/// sha256 of files, remembered by (path, size, modification time) in `files.json` of a cache folder, so a model
/// file of hundreds of MB is hashed once, not on every run.
public final class FileHasher {
    private let indexPath: String?
    private var index: [String: [String: Any]] = [:]
    private var dirty = false

    public init(cacheDirectory: String?) {
        indexPath = cacheDirectory.map { $0 + "/files.json" }
        if let p = indexPath, let data = FileManager.default.contents(atPath: p),
           let o = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] {
            index = o
        }
    }

    /// The file's sha256 (hex).
    public func sha256(_ path: String) throws -> String {
        let full = (path as NSString).standardizingPath
        let attrs = try FileManager.default.attributesOfItem(atPath: full)
        let size = (attrs[.size] as? NSNumber)?.intValue ?? -1
        // Microseconds as an integer: a Double of seconds since 1970 does not survive the JSON round trip exactly,
        // and a key that never matches would re-hash the model file on every run.
        let seconds = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let mtime = Int((seconds * 1_000_000).rounded())
        if let e = index[full], e["size"] as? Int == size, e["mtime_us"] as? Int == mtime, let h = e["sha256"] as? String {
            return h
        }
        let h = try SHA256.hex(file: full)
        index[full] = ["size": size, "mtime_us": mtime, "sha256": h]
        dirty = true
        return h
    }

    /// Writes the index if it changed.
    public func save() {
        guard dirty, let p = indexPath,
              let data = try? JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]) else { return }
        try? writeAtomically(data, to: p)
        dirty = false
    }
}
