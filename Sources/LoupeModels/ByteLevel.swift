/// GPT-2's byte-level alphabet: every byte 0...255 stands for one printable Unicode character, so that BPE over
/// text never sees a control character, a space or a broken UTF-8 sequence.
///
/// Printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for themselves; the other 68 bytes take the code
/// points U+0100, U+0101, ... in byte order (so a space, 0x20, is `Ġ` U+0120 and a newline, 0x0A, is `Ċ` U+010A).
/// This is `bytes_to_unicode()` from OpenAI's `encoder.py`.
enum ByteLevel {
    /// `byteToCodepoint[b]` is the character that byte `b` is written as in a byte-level vocabulary.
    static let byteToCodepoint: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            let printable = (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The inverse map: code point -> byte, for the 256 code points in use (all below U+0144).
    static let codepointToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, cp) in byteToCodepoint.enumerated() { table[Int(cp)] = Int16(b) }
        return table
    }()

    /// Walks `t` character by character, calling `byte` with the raw byte each alphabet character stands for;
    /// false at the first character outside the alphabet. Every alphabet character is U+0021...U+0143: one or two
    /// UTF-8 bytes. A direct loop, because vocabulary loading decodes every token and must stay fast in debug
    /// builds too.
    @inline(__always)
    static func walk(_ t: UnsafeBufferPointer<UInt8>, _ byte: (UInt8) -> Void) -> Bool {
        var i = 0
        let table = codepointToByte
        while i < t.count {
            let b0 = t[i]
            let cp: Int
            if b0 < 0x80 {
                cp = Int(b0)
                i += 1
            } else if b0 & 0xE0 == 0xC0 && i + 1 < t.count {
                cp = Int(b0 & 0x1F) << 6 | Int(t[i + 1] & 0x3F)
                i += 2
            } else {
                return false
            }
            guard cp < 0x144, case let b = table[cp], b >= 0 else { return false }
            byte(UInt8(b))
        }
        return true
    }

    /// The raw bytes a byte-level token string stands for, or nil when it holds a character outside the alphabet
    /// (added tokens such as `<|im_start|>` are written as themselves and never need this).
    static func decode(_ token: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        let ok = token.withUnsafeBufferPointer { t in walk(t) { out.append($0) } }
        return ok ? out : nil
    }

    /// Appends the raw bytes `token` stands for to `out` and returns true, or returns false (and appends nothing)
    /// when it holds a character outside the alphabet.
    static func decode(_ t: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) -> Bool {
        let start = out.count
        if walk(t, { out.append($0) }) { return true }
        out.removeSubrange(start...)
        return false
    }

    /// Whether `token` is spelled in the alphabet (`decode` would succeed), without decoding it.
    static func decodes(_ t: UnsafeBufferPointer<UInt8>) -> Bool { walk(t) { _ in } }

    /// Whether `token` is well-formed UTF-8 in its two-byte sequences (lead C2...DF, then a continuation byte): then
    /// it is exactly `encode(decode(token))`. `decode` also accepts malformed pairs (an overlong `C0 A1` reads as
    /// `!`), which the bijection between raw bytes and spellings does not cover.
    static func isCanonical(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < t.count {
            let b = t[i]
            if b < 0x80 { i += 1; continue }
            guard b >= 0xC2 && b <= 0xDF, i + 1 < t.count, t[i + 1] & 0xC0 == 0x80 else { return false }
            i += 2
        }
        return true
    }

    /// Writes raw bytes in the byte-level alphabet.
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { UnicodeTables.appendUTF8(byteToCodepoint[Int(b)], to: &out) }
        return out
    }
}
