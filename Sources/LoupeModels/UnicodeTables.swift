import Foundation

/// The Unicode facts tokenizers ask about one code point: its general category group (the regex classes `\p{L}`,
/// `\p{N}`, `\p{P}`, `\p{S}`, `\p{M}`, `\p{Z}`, `\p{C}`) and whether it is white space (`\s`, the White_Space
/// property).
///
/// The data comes from the Swift standard library's Unicode tables; the Basic Multilingual Plane is flattened into
/// one table on first use so that the pre-tokenizers' inner loops cost one array read per code point.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    /// Set for every real code point, so that "no flags" can stand for "outside the text" in the splitters.
    static let defined = CodepointFlags(rawValue: 1 << 0)
    static let number = CodepointFlags(rawValue: 1 << 1)
    static let letter = CodepointFlags(rawValue: 1 << 2)
    static let separator = CodepointFlags(rawValue: 1 << 3)
    static let mark = CodepointFlags(rawValue: 1 << 4)
    static let punctuation = CodepointFlags(rawValue: 1 << 5)
    static let symbol = CodepointFlags(rawValue: 1 << 6)
    static let control = CodepointFlags(rawValue: 1 << 7)
    static let whitespace = CodepointFlags(rawValue: 1 << 8)

    @inline(__always) var isNumber: Bool { rawValue & CodepointFlags.number.rawValue != 0 }
    @inline(__always) var isLetter: Bool { rawValue & CodepointFlags.letter.rawValue != 0 }
    @inline(__always) var isMark: Bool { rawValue & CodepointFlags.mark.rawValue != 0 }
    @inline(__always) var isPunctuation: Bool { rawValue & CodepointFlags.punctuation.rawValue != 0 }
    @inline(__always) var isSymbol: Bool { rawValue & CodepointFlags.symbol.rawValue != 0 }
    @inline(__always) var isControl: Bool { rawValue & CodepointFlags.control.rawValue != 0 }
    @inline(__always) var isWhitespace: Bool { rawValue & CodepointFlags.whitespace.rawValue != 0 }
    @inline(__always) var isDefined: Bool { rawValue != 0 }

    /// Computes the flags of one code point from the standard library (slow path; `UnicodeTables.flags` caches).
    static func compute(_ cp: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(cp) else {
            // Surrogate halves never reach here from valid UTF-8; treat them as "other".
            return [.defined, .control]
        }
        var f: CodepointFlags = .defined
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            f.insert(.number)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            f.insert(.mark)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            f.insert(.punctuation)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            f.insert(.symbol)
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            f.insert(.separator)
        case .control, .format, .surrogate, .privateUse, .unassigned:
            f.insert(.control)
        @unknown default:
            f.insert(.control)
        }
        if scalar.properties.isWhitespace { f.insert(.whitespace) }
        return f
    }
}

/// Cached Unicode lookups used by the tokenizers.
enum UnicodeTables {
    /// Flags of U+0000 ... U+FFFF, built once.
    static let bmpFlags: [UInt16] = (0 ..< 0x10000).map { CodepointFlags.compute(UInt32($0)).rawValue }

    /// The flags of code point `cp`.
    @inline(__always) static func flags(_ cp: UInt32) -> CodepointFlags {
        if cp < 0x10000 { return CodepointFlags(rawValue: bmpFlags.withUnsafeBufferPointer { $0[Int(cp)] }) }
        return CodepointFlags.compute(cp)
    }

    /// Decodes UTF-8 into code points; invalid bytes decode as U+FFFD (as Swift's `String(decoding:)` does).
    static func codepoints<S: Sequence>(_ utf8: S) -> [UInt32] where S.Element == UInt8 {
        var out: [UInt32] = []
        var it = utf8.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&it) {
            case let .scalarValue(s): out.append(s.value)
            case .emptyInput: break loop
            case .error: out.append(0xFFFD)
            }
        }
        return out
    }

    /// Appends the UTF-8 encoding of `cp` to `out`.
    @inline(__always) static func appendUTF8(_ cp: UInt32, to out: inout [UInt8]) {
        if cp < 0x80 {
            out.append(UInt8(cp))
        } else if cp < 0x800 {
            out.append(UInt8(0xC0 | (cp >> 6)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp < 0x10000 {
            out.append(UInt8(0xE0 | (cp >> 12)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (cp >> 18)))
            out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        }
    }

    /// The length of the UTF-8 sequence that starts with byte `b` (1 for a stray continuation byte, as llama.cpp's
    /// `unicode_len_utf8` does, so that malformed input still advances).
    @inline(__always) static func utf8Length(_ b: UInt8) -> Int {
        if b < 0x80 { return 1 }
        if b & 0xE0 == 0xC0 { return 2 }
        if b & 0xF0 == 0xE0 { return 3 }
        if b & 0xF8 == 0xF0 { return 4 }
        return 1
    }

    /// Full lowercase mapping of `cp` (one code point may lower to several, e.g. U+0130 -> "i̇").
    static func lowercased(_ cp: UInt32, into out: inout [UInt32]) {
        if cp < 0x80 {
            out.append(cp >= 0x41 && cp <= 0x5A ? cp + 32 : cp)
            return
        }
        guard let s = Unicode.Scalar(cp) else { out.append(cp); return }
        for u in s.properties.lowercaseMapping.unicodeScalars { out.append(u.value) }
    }

    /// Canonical decomposition (NFD) of a code point sequence.
    static func nfd(_ cps: [UInt32]) -> [UInt32] {
        // ASCII is its own NFD; skip Foundation for the common case.
        if cps.allSatisfy({ $0 < 0xC0 }) { return cps }
        var s = String.UnicodeScalarView()
        for cp in cps { if let u = Unicode.Scalar(cp) { s.append(u) } }
        let d = String(s).decomposedStringWithCanonicalMapping
        return d.unicodeScalars.map { $0.value }
    }
}
