import Foundation

/// Splits text into words before BPE, the way each model family's Hugging Face pre-tokenizer regexes do.
///
/// A pre-tokenizer is a list of stages; each stage cuts every piece the previous stage produced, keeping both the
/// matches and the text between them as pieces ("Isolated" splitting, as in llama.cpp's `unicode_regex_split`). The
/// patterns that nearly every model uses (GPT-2's and LLaMA-3's) are hand-written scanners, ported from llama.cpp's
/// `unicode_regex_split_custom_*`: they are several times faster than a regex engine. Other patterns run on ICU
/// (`NSRegularExpression`), with `\s` widened to Unicode White_Space as in the Rust and Python regex engines.
struct PreTokenizer: @unchecked Sendable {
    /// One splitting stage.
    enum Stage {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2).
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|
        /// \s*[\r\n]+|\s+(?!\S)|\s+` (LLaMA-3 with 3 digits; Qwen2 with 1; Qwen3.5 also counts marks as letters).
        case llama3(maxDigits: Int, marksAreLetters: Bool)
        /// `\p{N}`: every number character alone (StarCoder, SmolLM, Command-R, ...).
        case eachNumber
        /// `[^\n]+|[\n]+`: runs of newlines apart from everything else (Gemma 4).
        case newlines
        /// Any other pattern.
        case regex(NSRegularExpression, source: String)
    }

    let stages: [Stage]

    /// Pre-tokenizer stages for llama.cpp's `tokenizer.ggml.pre` names. Throws for a name it does not know.
    static func forGGUF(pre: String) throws -> PreTokenizer? {
        func rx(_ patterns: String...) throws -> [Stage] { try patterns.map { try makeStage($0) } }
        switch pre {
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling":
            return PreTokenizer(stages: [.gpt2])
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva", "mellum2":
            return PreTokenizer(stages: [.eachNumber, .gpt2])
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "dbrx",
             "smaug-bpe", "chatglm-bpe", "jina-v5-nano":
            return PreTokenizer(stages: [.llama3(maxDigits: 3, marksAreLetters: false)])
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "kormo", "f2llmv2", "solar-open":
            return PreTokenizer(stages: [.llama3(maxDigits: 1, marksAreLetters: false)])
        case "qwen35":
            return PreTokenizer(stages: [.llama3(maxDigits: 1, marksAreLetters: true)])
        case "falcon":
            return PreTokenizer(stages: try rx("[\\p{P}\\$\\+<=>\\^~\\|`]+") + [.gpt2] + (try rx("[0-9][0-9][0-9]")))
        case "deepseek-llm":
            // Written with \u{...} escapes: the ranges include canonical singletons (U+1FD3, U+212A, ...) that an
            // editor normalizing to NFC would silently turn into reversed ranges.
            return PreTokenizer(stages: try rx(
                "[\r\n]",
                "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+",
                "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
                "\\s+$",
                "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+",
                "\\p{N}+"))
        case "deepseek-coder":
            return PreTokenizer(stages: try rx(
                "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", "\\p{N}"))
        case "deepseek-v3", "hunyuan-dense":
            return PreTokenizer(stages: try rx(
                "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"))
        case "tekken":
            return PreTokenizer(stages: try rx(
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"))
        case "gpt-4o", "minimax-m2":
            return PreTokenizer(stages: try rx(
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"))
        case "poro-chat", "bloom", "gpt3-finnish":
            return PreTokenizer(stages: try rx(" ?[^(\\s|.,!?…。，、।۔،)]+"))
        case "viking":
            return PreTokenizer(stages: try rx(" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}"))
        case "gemma4":
            return PreTokenizer(stages: [.newlines])
        case "default", "":
            // llama.cpp's fallback for BPE files without a (known) pre-tokenizer name.
            return PreTokenizer(stages: try rx("[\\p{P}\\$\\+<=>\\^~\\|]+") + [.gpt2] + (try rx("\\p{N}+", "[0-9][0-9][0-9]")))
        default:
            return nil
        }
    }

    /// A stage for a regex from a tokenizer file, using a hand-written scanner when the pattern is a known one.
    static func makeStage(_ pattern: String) throws -> Stage {
        switch pattern {
        case "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
             "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)":
            return .gpt2
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            return .llama3(maxDigits: 3, marksAreLetters: false)
        case "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
             "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
            return .llama3(maxDigits: 1, marksAreLetters: false)
        case "\\p{N}":
            return .eachNumber
        case "[^\\n]+|[\\n]+":
            return .newlines
        default:
            do {
                return .regex(try NSRegularExpression(pattern: widenWhitespace(pattern), options: []), source: pattern)
            } catch {
                throw TokenizerError.badPattern(pattern: pattern, message: "\(error)")
            }
        }
    }

    /// Rewrites `\s` / `\S` as the Unicode White_Space property (ICU's `\s` lacks U+000B and U+0085, which the Rust
    /// and Python engines that define these tokenizers count as white space).
    static func widenWhitespace(_ p: String) -> String {
        var out = ""
        var escaped = false
        for ch in p {
            if escaped {
                if ch == "s" { out += "\\p{White_Space}" } else if ch == "S" { out += "\\P{White_Space}" } else {
                    out += "\\" + String(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        if escaped { out += "\\" }
        return out
    }

    /// Splits code points `cps` into words; returns the end offset of each word (the first starts at 0).
    func split(_ cps: [UInt32]) -> [Int] {
        var ends = cps.isEmpty ? [] : [cps.count]
        for stage in stages {
            var next: [Int] = []
            next.reserveCapacity(ends.count * 2 + cps.count / 4)
            var start = 0
            cps.withUnsafeBufferPointer { p in
                for end in ends {
                    switch stage {
                    case .gpt2: PreTokenizer.splitGPT2(p, start, end, &next)
                    case let .llama3(d, m): PreTokenizer.splitLlama3(p, start, end, maxDigits: d, marks: m, &next)
                    case .eachNumber: PreTokenizer.splitEachNumber(p, start, end, &next)
                    case .newlines: PreTokenizer.splitNewlines(p, start, end, &next)
                    case let .regex(re, _): PreTokenizer.splitRegex(re, p, start, end, &next)
                    }
                    start = end
                }
            }
            ends = next
        }
        return ends
    }

    // MARK: - Scanners (ports of llama.cpp's unicode.cpp, same control flow, so the same words)

    private static let outOfRange: UInt32 = 0xFFFF_FFFF

    static func splitGPT2(_ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Int]) {
        @inline(__always) func cp(_ i: Int) -> UInt32 { i >= lo && i < hi ? cps[i] : outOfRange }
        @inline(__always) func fl(_ i: Int) -> CodepointFlags {
            i >= lo && i < hi ? UnicodeTables.flags(cps[i]) : CodepointFlags(rawValue: 0)
        }
        var pos = lo
        var prevEnd = lo
        @inline(__always) func add(_ end: Int) -> Int {
            let n = end - prevEnd
            if n > 0 { out.append(end) }
            prevEnd = end
            return n
        }
        let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20
        while pos < hi {
            let c = cps[pos]
            let flags = fl(pos)
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == apostrophe && pos + 1 < hi {
                let n1 = cp(pos + 1)
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += add(pos + 2); continue }
                if pos + 2 < hi {
                    let n2 = cp(pos + 2)
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += add(pos + 3); continue
                    }
                }
            }
            var f2 = c == space ? fl(pos + 1) : flags
            // ' ?\p{L}+'
            if f2.isLetter {
                if c == space { pos += 1 }
                while f2.isLetter { pos += 1; f2 = fl(pos) }
                _ = add(pos); continue
            }
            // ' ?\p{N}+'
            if f2.isNumber {
                if c == space { pos += 1 }
                while f2.isNumber { pos += 1; f2 = fl(pos) }
                _ = add(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+'
            if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined {
                if c == space { pos += 1 }
                while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined { pos += 1; f2 = fl(pos) }
                _ = add(pos); continue
            }
            var nws = 0
            while fl(pos + nws).isWhitespace { nws += 1 }
            // '\s+(?!\S)': leave the last space to prefix the next word
            if nws > 1 && cp(pos + nws) != outOfRange { pos += nws - 1; _ = add(pos); continue }
            if nws > 0 { pos += nws; _ = add(pos); continue }
            pos += 1
            _ = add(pos)
        }
    }

    static func splitLlama3(_ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, maxDigits: Int, marks: Bool,
                            _ out: inout [Int]) {
        @inline(__always) func cp(_ i: Int) -> UInt32 { i >= lo && i < hi ? cps[i] : outOfRange }
        @inline(__always) func fl(_ i: Int) -> CodepointFlags {
            i >= lo && i < hi ? UnicodeTables.flags(cps[i]) : CodepointFlags(rawValue: 0)
        }
        @inline(__always) func letterish(_ f: CodepointFlags) -> Bool { f.isLetter || (marks && f.isMark) }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { c >= 0x41 && c <= 0x5A ? c + 32 : c }
        var pos = lo
        var prevEnd = lo
        @inline(__always) func add(_ end: Int) -> Int {
            let n = end - prevEnd
            if n > 0 { out.append(end) }
            prevEnd = end
            return n
        }
        let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20, cr: UInt32 = 0x0D, lf: UInt32 = 0x0A
        while pos < hi {
            let c = cps[pos]
            let flags = fl(pos)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == apostrophe && pos + 1 < hi {
                let n1 = lower(cp(pos + 1))
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += add(pos + 2); continue }
                if pos + 2 < hi {
                    let n2 = lower(cp(pos + 2))
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += add(pos + 3); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == cr || c == lf || flags.isNumber) {
                if letterish(flags) || letterish(fl(pos + 1)) {
                    pos += 1
                    while letterish(fl(pos)) { pos += 1 }
                    _ = add(pos); continue
                }
            }
            // \p{N}{1,maxDigits}
            if flags.isNumber {
                if maxDigits == 1 {
                    pos += 1
                } else {
                    var ini = pos
                    while fl(pos).isNumber {
                        pos += 1
                        if pos - ini >= maxDigits { _ = add(pos); ini = pos }
                    }
                }
                _ = add(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var f2 = c == space ? fl(pos + 1) : flags
            if !(f2.isWhitespace || letterish(f2) || f2.isNumber) && flags.isDefined {
                if c == space { pos += 1 }
                while !(f2.isWhitespace || letterish(f2) || f2.isNumber) && f2.isDefined { pos += 1; f2 = fl(pos) }
                var c2 = cp(pos)
                while c2 == cr || c2 == lf { pos += 1; c2 = cp(pos) }
                _ = add(pos); continue
            }
            var nws = 0
            var lastLineEnd = 0
            while fl(pos + nws).isWhitespace {
                let c2 = cp(pos + nws)
                if c2 == cr || c2 == lf { lastLineEnd = pos + nws + 1 }
                nws += 1
            }
            // \s*[\r\n]+
            if lastLineEnd > 0 { pos = lastLineEnd; _ = add(pos); continue }
            // \s+(?!\S)
            if nws > 1 && cp(pos + nws) != outOfRange { pos += nws - 1; _ = add(pos); continue }
            // \s+
            if nws > 0 { pos += nws; _ = add(pos); continue }
            pos += 1
            _ = add(pos)
        }
    }

    static func splitEachNumber(_ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Int]) {
        var pos = lo
        while pos < hi {
            if UnicodeTables.flags(cps[pos]).isNumber {
                pos += 1
            } else {
                while pos < hi && !UnicodeTables.flags(cps[pos]).isNumber { pos += 1 }
            }
            out.append(pos)
        }
    }

    static func splitNewlines(_ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Int]) {
        var pos = lo
        while pos < hi {
            let isNewline = cps[pos] == 0x0A
            while pos < hi && (cps[pos] == 0x0A) == isNewline { pos += 1 }
            out.append(pos)
        }
    }

    /// Regex stage: matches and the gaps between them become pieces. The search is bounded to the piece (anchors
    /// and lookaheads see the piece's ends as the text's ends, as `std::regex_iterator` over a sub-range does).
    static func splitRegex(_ re: NSRegularExpression, _ cps: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int,
                           _ out: inout [Int]) {
        guard hi > lo else { return }
        var scalars = String.UnicodeScalarView()
        var utf16ToCp: [Int] = []   // utf16 offset -> code point offset (relative to lo)
        utf16ToCp.reserveCapacity(hi - lo + 1)
        for i in lo ..< hi {
            let u = Unicode.Scalar(cps[i]) ?? "\u{FFFD}"
            scalars.append(u)
            utf16ToCp.append(i - lo)
            if u.value > 0xFFFF { utf16ToCp.append(i - lo) }
        }
        utf16ToCp.append(hi - lo)
        let s = String(scalars)
        let ns = s as NSString
        var last = 0
        for m in re.matches(in: s, options: [], range: NSRange(location: 0, length: ns.length)) {
            let a = utf16ToCp[m.range.location], b = utf16ToCp[m.range.location + m.range.length]
            if b == a { continue }   // empty matches cut nothing
            if a > last { out.append(lo + a) }
            out.append(lo + b)
            last = b
        }
        if last < hi - lo { out.append(hi) }
    }
}
