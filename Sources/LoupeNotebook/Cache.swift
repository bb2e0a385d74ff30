import Foundation
import LoupeLang

/// Where a cache entry keeps one encoded value (`ValueCodec` bytes).
public enum StoredValue {
    /// The bytes themselves: a small value kept inside the entry's JSON (base64), or a value about to be stored.
    case bytes(Data)
    /// A side file in the cache folder (`KEY.N.bin`, `KEY.value.bin`) holding the bytes after a header; `size` is
    /// the whole file's length, checked when the entry is looked up.
    case sideFile(name: String, size: Int)
}

/// A cell's stored result: what it printed, its value and the values it bound, in `ValueCodec`'s exact form.
public struct CacheEntry {
    public static let format = 2
    public var key: String
    /// The cell's stable id (its name or a hash of its code), for `loupe cache ls`.
    public var cell: String
    public var output: String
    /// The encoded value of the cell's last expression (nil when it ended with a declaration or gave nil).
    public var value: StoredValue?
    /// Bound names with their encoded values and content hashes (sha256 of the encoded bytes), in binding order.
    /// A display entry has no values (nil), only the hashes.
    public var bindings: [(name: String, value: StoredValue?, hash: String)]
    /// Model files the cell loaded: path -> sha256.
    public var modelFiles: [String: String]
    /// Seconds the cell took when it was computed.
    public var seconds: Double
    public var created: Date
    /// A display-only entry, for a cell that binds values with no serial form (a model, a function, a figure):
    /// its output, value text and figures, and the names it binds with their hashes (`bindings` with nil
    /// values), so the cell need not run again unless a later cell that is not cached needs those names.
    public var stub = false
    public var valueText: String?
    public var figures: [RenderedFigure] = []

    public init(key: String, cell: String, output: String, value: StoredValue?,
                bindings: [(name: String, value: StoredValue?, hash: String)], modelFiles: [String: String],
                seconds: Double, created: Date) {
        self.key = key; self.cell = cell; self.output = output; self.value = value; self.bindings = bindings
        self.modelFiles = modelFiles; self.seconds = seconds; self.created = created
    }

    /// The side files the entry refers to.
    var sideFiles: [(name: String, size: Int)] {
        ([value] + bindings.map(\.value)).compactMap {
            if case let .sideFile(name, size)? = $0 { return (name, size) }
            return nil
        }
    }
}

/// The cell cache of one notebook: a git-ignored folder beside it, `.NAME.nb.cache/`.
///
/// Each entry is `KEY.json`: `sha256-of-the-rest\n` + JSON. Small values sit inside it (base64 of their
/// `ValueCodec` bytes); tensors and any value over `inlineLimit` bytes go to binary side files beside it,
/// `KEY.N.bin` for binding N and `KEY.value.bin` for the cell's value: a 56-byte header (magic `LOUPEVAL`, format,
/// payload length, the payload's sha256) and then the payload, the raw `ValueCodec` bytes (a tensor's shape and
/// its little-endian float32 elements). All files are written atomically, side files first, so an entry never
/// refers to a half-written file.
///
/// A lookup reads only the JSON: it checks its checksum and that every side file exists with the recorded size
/// (a missing or truncated side file makes the entry corrupt: removed, and the cell recomputed). Side files are
/// read by `load`, when a value is actually needed, and their payload is checked against its sha256 (which is also
/// the binding's content hash) before it is decoded.
public final class CellCache {
    public let directory: String
    /// Encoded values up to this many bytes (other than tensors) stay inside the entry's JSON; larger ones go to
    /// side files, so that looking an entry up never parses a large value it may not need.
    public var inlineLimit = 256

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
            let entry = try CellCache.decode(data, key: key)
            for (name, size) in entry.sideFiles {
                var st = stat()
                guard stat(directory + "/" + name, &st) == 0 else { throw ValueCodec.Corrupt(reason: "side file \(name) is missing") }
                guard Int(st.st_size) == size else {
                    throw ValueCodec.Corrupt(reason: "side file \(name) has \(st.st_size) bytes, not \(size)")
                }
            }
            return .hit(entry)
        } catch {
            remove(key)
            return .corrupt("\(error)")
        }
    }

    /// Deletes an entry and its side files (a damaged entry, so that it is computed and stored afresh).
    public func remove(_ key: String) {
        try? FileManager.default.removeItem(atPath: path(key))
        for f in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where f.hasPrefix(key + ".") && f.hasSuffix(".bin") {
            try? FileManager.default.removeItem(atPath: directory + "/" + f)
        }
    }

    /// Stores an entry whose values are `.bytes`: large ones (and tensors) are written to side files first, then
    /// the JSON.
    public func store(_ entry: CacheEntry) throws {
        var e = entry
        func place(_ v: StoredValue?, _ name: String) throws -> StoredValue? {
            guard case let .bytes(payload)? = v, payload.count > inlineLimit || ValueCodec.isTensor(payload) else { return v }
            let file = CellCache.sideFile(payload)
            try writeAtomically(file, to: directory + "/" + name)
            return .sideFile(name: name, size: file.count)
        }
        e.value = try place(e.value, e.key + ".value.bin")
        for i in e.bindings.indices { e.bindings[i].value = try place(e.bindings[i].value, "\(e.key).\(i).bin") }
        try writeAtomically(CellCache.encode(e), to: path(e.key))
    }

    /// The value a stored value holds: decoded from the entry, or read from its side file and checked. `hash`, when
    /// given, is the content hash the payload must have (a binding's). Throws `ValueCodec.Corrupt` for a damaged,
    /// missing or mismatched file.
    public func load(_ stored: StoredValue, hash: String? = nil) throws -> Value {
        switch stored {
        case let .bytes(payload):
            return try ValueCodec.decode(payload)
        case let .sideFile(name, size):
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw ValueCodec.Corrupt(reason: "side file \(name) is missing")
            }
            guard data.count == size else { throw ValueCodec.Corrupt(reason: "side file \(name) has \(data.count) bytes, not \(size)") }
            let (payload, sum) = try CellCache.readSideFile(data, name: name)
            if let hash, hash != sum { throw ValueCodec.Corrupt(reason: "side file \(name) holds another value than its entry names") }
            return try ValueCodec.decode(payload)
        }
    }

    /// The entries on disk (damaged ones included, marked), newest first; `bytes` counts the entry's side files.
    public func list() -> [(file: String, entry: CacheEntry?, bytes: Int)] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(String, CacheEntry?, Int)] = []
        for f in files where f.hasSuffix(".json") && !f.hasPrefix(".") && f != "files.json" {
            let data = FileManager.default.contents(atPath: directory + "/" + f) ?? Data()
            let entry = try? CellCache.decode(data, key: String(f.dropLast(5)))
            out.append((f, entry, data.count + (entry?.sideFiles.reduce(0) { $0 + $1.size } ?? 0)))
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

    // MARK: Side files

    static let sideMagic = Data("LOUPEVAL".utf8)
    static let sideFormat: UInt32 = 1
    static let sideHeader = 56

    /// Header (magic, format, reserved, payload length, sha256 of the payload) + payload.
    static func sideFile(_ payload: Data) -> Data {
        var d = sideMagic
        d.reserveCapacity(sideHeader + payload.count)
        withUnsafeBytes(of: sideFormat.littleEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(0)) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { d.append(contentsOf: $0) }
        var s = SHA256()
        s.update(payload)
        d.append(contentsOf: s.finalize())
        d.append(payload)
        return d
    }

    /// The payload of a side file and its sha256 (hex), after checking the header and the checksum.
    static func readSideFile(_ data: Data, name: String) throws -> (payload: Data, sha256: String) {
        guard data.count >= sideHeader, data.prefix(8) == sideMagic else {
            throw ValueCodec.Corrupt(reason: "side file \(name) has no LOUPEVAL header")
        }
        let b = data.startIndex
        func u64(_ at: Int) -> UInt64 { data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
        let format = UInt32(truncatingIfNeeded: u64(8))
        guard format == sideFormat else { throw ValueCodec.Corrupt(reason: "side file \(name) has format \(format), not \(sideFormat)") }
        let length = u64(16)
        guard length == UInt64(data.count - sideHeader) else {
            throw ValueCodec.Corrupt(reason: "side file \(name) holds \(data.count - sideHeader) payload bytes, its header says \(length)")
        }
        let stored = SHA256.hex(digest: Array(data[(b + 24)..<(b + sideHeader)]))
        let payload = data[(b + sideHeader)...]
        let sum = SHA256.hex(payload)
        guard sum == stored else { throw ValueCodec.Corrupt(reason: "side file \(name): checksum mismatch") }
        return (payload, sum)
    }

    // MARK: Encoding

    static func storedJSON(_ v: StoredValue) -> Any {
        switch v {
        case let .bytes(d): return ["b64": d.base64EncodedString()]
        case let .sideFile(name, size): return ["file": name, "size": size]
        }
    }

    static func stored(_ o: Any?, _ what: String) throws -> StoredValue? {
        guard let o, !(o is NSNull) else { return nil }
        if let d = o as? [String: Any] {
            if let b = d["b64"] as? String, let data = Data(base64Encoded: b) { return .bytes(data) }
            if let f = d["file"] as? String, let size = (d["size"] as? NSNumber)?.intValue,
               !f.contains("/"), f.hasSuffix(".bin") { return .sideFile(name: f, size: size) }
        }
        throw ValueCodec.Corrupt(reason: "\(what) is neither inline bytes nor a side file")
    }

    static func encode(_ e: CacheEntry) throws -> Data {
        var obj: [String: Any] = [
            "format": CacheEntry.format, "key": e.key, "cell": e.cell, "output": e.output,
            "bindings": e.bindings.map { b -> [String: Any] in
                var o: [String: Any] = ["name": b.name, "hash": b.hash]
                if let v = b.value { o["value"] = storedJSON(v) }
                return o
            },
            "model_files": e.modelFiles, "seconds": e.seconds, "created": e.created.timeIntervalSince1970,
        ]
        if let v = e.value { obj["value"] = storedJSON(v) }
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
        guard let o = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw ValueCodec.Corrupt(reason: "not a JSON object")
        }
        guard o["format"] as? Int == CacheEntry.format else { throw ValueCodec.Corrupt(reason: "entry format is not \(CacheEntry.format)") }
        guard o["key"] as? String == key,
              let cell = o["cell"] as? String, let output = o["output"] as? String,
              let bindings = o["bindings"] as? [[String: Any]], let files = o["model_files"] as? [String: String],
              let secs = o["seconds"] as? Double, let created = o["created"] as? Double else {
            throw ValueCodec.Corrupt(reason: "missing fields")
        }
        let bs: [(name: String, value: StoredValue?, hash: String)] = try bindings.map {
            guard let name = $0["name"] as? String, let hash = $0["hash"] as? String else { throw ValueCodec.Corrupt(reason: "binding") }
            return (name, try stored($0["value"], "binding '\(name)'"), hash)
        }
        var e = CacheEntry(key: key, cell: cell, output: output, value: try stored(o["value"], "value"),
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
        } else if e.bindings.contains(where: { $0.value == nil }) {
            throw ValueCodec.Corrupt(reason: "a binding has no value")
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
