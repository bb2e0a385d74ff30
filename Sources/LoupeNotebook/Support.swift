import Foundation

/// Every problem with a notebook that is not an error inside a cell: bad format, bad params, a dependency cycle, a
/// duplicate definition, unreadable files. The description names `file:line[:col]`.
public struct NotebookError: Error, CustomStringConvertible {
    public enum Kind: String {
        /// Malformed front matter, fences or cell options.
        case format
        /// A param override that does not fit, or an unknown param.
        case param
        /// Definitions and uses across cells: a duplicate definition, a cycle, a cell assigning another's name.
        case dependency
        case io
        /// A snapshot that does not match.
        case snapshot
    }

    public let kind: Kind
    public let message: String
    public let file: String
    public let line: Int?
    public let column: Int?

    public init(_ kind: Kind, _ message: String, file: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind; self.message = message; self.file = file; self.line = line; self.column = column
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return (place.isEmpty ? "" : place + ": ") + "error: " + message
    }
}

/// SHA-256 (FIPS 180-4), for cache keys, provenance and model file hashes; Foundation on Linux has none.
public struct SHA256 {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public init() {}

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        if !buffer.isEmpty {
            while buffer.count < 64, i < bytes.count { buffer.append(bytes[i]); i += 1 }
            if buffer.count == 64 {
                buffer.withUnsafeBytes { compress(UnsafeRawBufferPointer(rebasing: $0[0..<64])) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        while i + 64 <= bytes.count {
            compress(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 64)]))
            i += 64
        }
        while i < bytes.count { buffer.append(bytes[i]); i += 1 }
    }

    public mutating func update(_ string: String) { update(Data(string.utf8)) }

    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var pad: [UInt8] = [0x80]
        while (Int(length % 64) + pad.count) % 64 != 56 { pad.append(0) }
        for s in stride(from: 56, through: 0, by: -8) { pad.append(UInt8(truncatingIfNeeded: bits >> UInt64(s))) }
        pad.withUnsafeBytes { update($0) }
        var out: [UInt8] = []
        for w in h { out += [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8), UInt8(truncatingIfNeeded: w)] }
        return out
    }

    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        // The message schedule lives on the stack: no allocation per 64-byte block (this hashes cached tensors).
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 { w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self)) }
            for t in 16..<64 {
                let x = w[t - 15], y = w[t - 2]
                let s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)
                let s1 = (y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
            SHA256.k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
                    let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ s0 &+ maj
                }
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
    }

    /// Lowercase hex digest of `data`.
    public static func hex(_ data: Data) -> String {
        var s = SHA256()
        s.update(data)
        return hex(digest: s.finalize())
    }

    /// Bytes as lowercase hex. (Not `String(format:)`, which goes through NSString: a cached rerun makes
    /// hundreds of these.)
    static func hex(digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hex(_ string: String) -> String { hex(Data(string.utf8)) }

    /// Hex digest of a file, read in 4 MiB pieces.
    public static func hex(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw NotebookError(.io, "cannot read file to hash it", file: path)
        }
        defer { try? handle.close() }
        var s = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            s.update(chunk)
        }
        return hex(digest: s.finalize())
    }
}

/// Writes `data` to `path` atomically: a temporary file in the same folder, then a rename, so a reader never sees
/// half a file and a crash leaves the old one. Plain POSIX calls: FileManager's `createFile` costs far more, and a
/// run writes a file per figure and per cache entry.
func writeAtomically(_ data: Data, to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let tmp = (dir.isEmpty ? "." : dir) + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    func failure(_ what: String) -> NotebookError {
        NotebookError(.io, "cannot write file (\(what): \(String(cString: strerror(errno))))", file: path)
    }
    var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd < 0, errno == ENOENT, !dir.isEmpty {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    }
    guard fd >= 0 else { throw failure("open") }
    let written = data.withUnsafeBytes { raw -> Bool in
        var at = 0
        while at < raw.count {
            let n = write(fd, raw.baseAddress! + at, raw.count - at)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            at += n
        }
        return true
    }
    let error = written ? nil : failure("write")
    close(fd)
    if let error {
        unlink(tmp)
        throw error
    }
    guard rename(tmp, path) == 0 else {
        let e = failure("rename")
        unlink(tmp)
        throw e
    }
}

/// Milliseconds since `start` (a DispatchTime uptime).
func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// HTML text escaping.
func escapeHTML(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

/// UTC time stamps without Foundation's date formatters, which load ICU (tens of milliseconds at start-up).
enum UTCStamp {
    private static func parts(_ date: Date) -> tm {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var out = tm()
        gmtime_r(&t, &out)
        return out
    }

    /// `2026-11-29T08:20:36Z`
    static func iso8601(_ date: Date) -> String {
        let t = parts(date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday),
                      Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
    }

    /// `08:20:36`
    static func clock(_ date: Date) -> String {
        let t = parts(date)
        return String(format: "%02d:%02d:%02d", Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
    }
}
